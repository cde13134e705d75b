#!/bin/sh
# Hostile: someone who can write an outputs.csv directory plants symbolic
# links, hard links and FIFOs where the output creates or writes files, each
# pointing at a victim file outside the directory. The real tower binary
# runs against them; the victim must come through byte for byte with its
# mode, and tower must say what is wrong and either keep the metrics for a
# retry or refuse to start. Also: one output per directory, in one
# configuration and across two agents, and a reload on the same directory.
. "$top_srcdir/tests/integration/lib.sh"

# Each case starts from a fresh victim, so that one case's damage cannot
# hide or fake another's.
victim="$work/victim"
printf 'precious: not a CSV file\n' > "$work/victim.orig"
fresh_victim() {
  rm -f "$victim" && cp "$work/victim.orig" "$victim" && chmod 0600 "$victim"
}
victim_intact() {
  cmp -s "$victim" "$work/victim.orig" && [ "$(stat -c %a "$victim")" = 600 ]
}
check_victim() { # what was tried
  if victim_intact; then ok "$1: victim unchanged"; else fail "$1: victim changed: $(ls -l "$victim"; cat "$victim")"; fi
}
# check_no_leak WHAT FILE...: the victim was not read into our files either
# (adopting its first line as a header would copy it out).
check_no_leak() {
  w=$1; shift
  if cat "$@" 2>/dev/null | grep -q precious; then fail "$w: the victim's text leaked into $*"; else ok "$w: nothing of the victim read"; fi
}

# conf FILE DIR CSV-OPTIONS [LINE] [MORE-OUTPUTS]
conf() {
  cat > "$1" <<CONF
agent = { interval = "100ms"; flush_interval = "100ms"; omit_hostname = true; };
inputs = ( { plugin = "lines"; lines = ["${4:-m v=1i}"]; } );
outputs = ( { plugin = "csv"; directory = "$2"; $3 }${5:-} );
CONF
}

# once CONF LOG: tower --once, bounded (a hang is a failure); sets $rc
once() { timeout -k 5 20 "$TOWER" --config "$1" --once >"$2" 2>&1; rc=$?; }

is_link() { [ -L "$1" ]; }

# 1. The reported attack: a link at the snapshot's temporary file name.
fresh_victim
d="$work/snap"; mkdir "$d"; ln -s "$victim" "$d/m.csv.tmp"
conf "$work/snap.conf" "$d" 'mode = "snapshot"; file_mode = "0666";'
once "$work/snap.conf" "$work/snap.log"
[ "$rc" = 0 ] && [ "$(lines "$d/m.csv")" = 2 ] && ok "snapshot written beside a planted m.csv.tmp" \
  || fail "snapshot: rc=$rc $(cat "$work/snap.log")"
check_victim "planted snapshot temp"
is_link "$d/m.csv.tmp" && ok "the planted link is left alone" || fail "planted link touched"

# 2. The same name during an append-mode rewrite that adds a column.
fresh_victim
d="$work/widen"; mkdir "$d"
conf "$work/widen.conf" "$d" ""
once "$work/widen.conf" "$work/widen.log"
ln -s "$victim" "$d/m.csv.tmp"
conf "$work/widen.conf" "$d" "" "m v=2i,w=3i"
once "$work/widen.conf" "$work/widen.log"
[ "$rc" = 0 ] && [ "$(head -1 "$d/m.csv")" = "timestamp,v,w" ] && ok "file widened beside a planted m.csv.tmp" \
  || fail "widen: rc=$rc $(cat "$work/widen.log")"
check_victim "planted rewrite temp"

# 3. The reported attack: a link at the start-up probe's name, which was
# .tower-csv-probe.<pid>. exec keeps the shell's pid (and so does the
# libtool wrapper that $TOWER may be), so the name is right.
fresh_victim
d="$work/probe"; mkdir "$d"
conf "$work/probe.conf" "$d" ""
timeout -k 5 20 sh -c 'ln -s "$1" "$2/.tower-csv-probe.$$" && exec "$3" --config "$4" --once' \
  sh "$victim" "$d" "$TOWER" "$work/probe.conf" >"$work/probe.log" 2>&1
rc=$?
[ "$rc" = 0 ] && ok "started beside a planted probe link" || fail "probe: rc=$rc $(cat "$work/probe.log")"
check_victim "planted probe"

# 4. A link as the data file, in the daemon: refused and retried, nothing
# lost. The record output is the witness of every metric gathered.
fresh_victim
d="$work/data"; mkdir "$d"; ln -s "$victim" "$d/m.csv"
conf "$work/data.conf" "$d" "" "" ", { plugin = \"record\"; path = \"$work/data.lp\"; }"
start_tower "$work/data.conf" "$work/data.log"
wait_for 5 grep -q "$d/m.csv is a symbolic link.*remove it.*kept for a retry" "$work/data.log" \
  && ok "data-file link refused with a clear error" || fail "no refusal: $(cat "$work/data.log")"
wait_for 5 has_lines "$work/data.lp" 5
check_victim "data-file link, running"
rm "$d/m.csv"
wait_for 5 has_lines "$d/m.csv" 6 || fail "nothing written once the link was gone: $(tail -5 "$work/data.log")"
stop_tower TERM
check_victim "data-file link"
check_no_leak "data-file link" "$d"/*
rows=$(($(lines "$d/m.csv") - 1)); sent=$(lines "$work/data.lp")
[ "$trc" = 0 ] && [ "$rows" = "$sent" ] && ok "every metric reached m.csv after the retries ($rows of $sent)" \
  || fail "rc=$trc: $rows rows in m.csv, $sent metrics gathered"

# 5. A link swapped in for the open data file while tower runs.
fresh_victim
d="$work/swap"; mkdir "$d"
conf "$work/swap.conf" "$d" ""
start_tower "$work/swap.conf" "$work/swap.log"
wait_for 5 has_lines "$d/m.csv" 3
ln -s "$victim" "$d/link" && mv -T "$d/link" "$d/m.csv"
wait_for 5 grep -q "$d/m.csv is a symbolic link" "$work/swap.log" \
  && ok "link swapped in under a running tower refused" || fail "swap not refused: $(cat "$work/swap.log")"
check_victim "link swapped in"
rm "$d/m.csv"
wait_for 5 has_lines "$d/m.csv" 2 && ok "a new m.csv after the link is gone" || fail "no new m.csv"
stop_tower TERM
check_victim "link swapped in, after"
check_no_leak "link swapped in" "$d"/*

# 6. A FIFO as the data file must not hang a flush, in either mode.
for mode in append snapshot; do
  fresh_victim
  d="$work/fifo-$mode"; mkdir "$d"; mkfifo "$d/m.csv"
  conf "$work/fifo.conf" "$d" "mode = \"$mode\";"
  once "$work/fifo.conf" "$work/fifo-$mode.log"
  [ "$rc" = 1 ] && grep -q "$d/m.csv is a FIFO" "$work/fifo-$mode.log" \
    && ok "$mode: FIFO refused without hanging" || fail "$mode FIFO: rc=$rc (124: hung) $(cat "$work/fifo-$mode.log")"
done

# 7. A hard link to the victim as the data file.
for mode in append snapshot; do
  fresh_victim
  d="$work/hard-$mode"; mkdir "$d"; ln "$victim" "$d/m.csv"
  conf "$work/hard.conf" "$d" "mode = \"$mode\";"
  once "$work/hard.conf" "$work/hard-$mode.log"
  [ "$rc" = 1 ] && grep -q "$d/m.csv is a file with other hard links" "$work/hard-$mode.log" \
    && ok "$mode: hard link refused" || fail "$mode hard link: rc=$rc $(cat "$work/hard-$mode.log")"
  check_victim "$mode hard link"
  [ "$d/m.csv" -ef "$victim" ] && rm "$d/m.csv" # still the planted link: not ours
  check_no_leak "$mode hard link" "$d"/*
done

# 8. Links at the rotation targets: rename replaces the link, not its target.
fresh_victim
d="$work/rot"; mkdir "$d"
conf "$work/rot.conf" "$d" 'rotate_max_size = "40"; rotate_max_files = 2;'
once "$work/rot.conf" "$work/rot.log"
first=$(cat "$d/m.csv")
ln -s "$victim" "$d/m.csv.1"; ln -s "$victim" "$d/m.csv.2"
once "$work/rot.conf" "$work/rot.log"
[ "$rc" = 0 ] && [ ! -L "$d/m.csv.1" ] && [ "$(cat "$d/m.csv.1")" = "$first" ] \
  && ok "rotated over a planted m.csv.1" || fail "rotation: rc=$rc $(ls -l "$d") $(cat "$work/rot.log")"
check_victim "planted rotation targets"

# 9. A link as the lock file: refused at start.
fresh_victim
d="$work/lock"; mkdir "$d"; ln -s "$victim" "$d/.tower-csv.lock"
conf "$work/lock.conf" "$d" ""
once "$work/lock.conf" "$work/lock.log"
[ "$rc" != 0 ] && grep -q "$d/.tower-csv.lock is a symbolic link.*remove it" "$work/lock.log" \
  && ok "lock-file link refused at start" || fail "lock link: rc=$rc $(cat "$work/lock.log")"
check_victim "planted lock file"

# 10. One output per directory: two in one configuration...
fresh_victim
d="$work/two"; mkdir "$d"
conf "$work/two.conf" "$d" 'alias = "a";' "" ", { plugin = \"csv\"; directory = \"$d\"; alias = \"b\"; }"
once "$work/two.conf" "$work/two.log"
[ "$rc" != 0 ] && grep "csv:b" "$work/two.log" | grep -q "already used by outputs.csv:a (.*two.conf:3) (pid [0-9]*) in this agent.*its own directory" \
  && ok "two outputs on one directory refused, both named" || fail "two outputs: rc=$rc $(cat "$work/two.log")"
# ... and a second tower on a directory a running one uses.
conf "$work/a.conf" "$d" 'alias = "a";'
conf "$work/b.conf" "$d" 'alias = "b";'
start_tower "$work/a.conf" "$work/a.log"
once "$work/b.conf" "$work/b.log"
[ "$rc" != 0 ] && grep -q "already used by outputs.csv:a (.*a.conf:3) (pid $tpid) in another tower process" "$work/b.log" \
  && ok "second tower on the same directory refused, naming the first" || fail "second tower: rc=$rc $(cat "$work/b.log")"
timeout -k 5 20 "$TOWER" --config "$work/b.conf" --config-check >"$work/bc.log" 2>&1 \
  && ok "--config-check passes beside the running tower (takes no lock)" || fail "config check: $(cat "$work/bc.log")"
n=$(lines "$d/m.csv")
wait_for 5 has_lines "$d/m.csv" $((n + 2)) && ok "the first tower keeps writing" || fail "first tower stopped writing"
stop_tower TERM
once "$work/b.conf" "$work/b.log"
[ "$rc" = 0 ] && ok "the directory is free once the first tower stopped" || fail "after stop: rc=$rc $(cat "$work/b.log")"

# 11. A reload that changes the csv output on the same directory: the new
# instance cannot lock beside the old one, so the core retries after
# stopping it.
fresh_victim
d="$work/reload"; mkdir "$d"
conf "$work/r.conf" "$d" 'alias = "one";'
start_tower "$work/r.conf" "$work/r.log"
wait_for 5 has_lines "$d/m.csv" 2
conf "$work/r.conf" "$d" 'alias = "two";'
kill -HUP "$tpid"
wait_for 5 grep -q "1 output: csv:two" "$work/r.log" \
  && ok "changed csv output started on the same directory after a reload" || fail "reload: $(cat "$work/r.log")"
grep -q "csv:two.*already used by outputs.csv:one.*in this agent" "$work/r.log" \
  && grep -q "stopping the running pipeline and trying again" "$work/r.log" \
  && ok "the lock conflict at reload failed cleanly and was retried" || fail "no retry: $(cat "$work/r.log")"
n=$(lines "$d/m.csv")
wait_for 5 has_lines "$d/m.csv" $((n + 2)) && ok "writing goes on after the reload" || fail "no rows after reload"
stop_tower TERM
[ "$trc" = 0 ] && ok "stopped cleanly after the reload" || fail "rc=$trc after reload"

finish
