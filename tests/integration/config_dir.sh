#!/bin/sh
# Drop-in configuration with the real tower: a main file that @includes
# "conf.d/*.conf" (and --config-directory when this tower has the flag).
# --config-check counts every file's plugins and refuses a drop-in that
# sets agent, naming it; a real run writes the metrics of every file
# through the record fixture; a SIGHUP after a new drop-in was added
# picks it up.
. "$top_srcdir/tests/integration/lib.sh"

mkdir "$work/conf.d"
# drop IN: an input of the lines fixture whose metric is named IN
drop() {
  cat > "$work/conf.d/$1.conf" <<CONF
# drop-in $1
inputs = ( { plugin = "lines"; alias = "$2"; lines = ["$2 v=1i"]; } );
CONF
}
main() { # FILE INCLUDE-LINE
  cat > "$1" <<CONF
agent = { interval = "100ms"; flush_interval = "100ms"; omit_hostname = true; };
inputs = ( { plugin = "lines"; alias = "main"; lines = ["main v=1i"]; } );
$2
outputs = ( { plugin = "record"; path = "$work/out.lp"; } );
CONF
}
main "$work/main.conf" '@include "conf.d/*.conf"'
drop 10-a a
drop 20-b b
echo 'processors = ( { plugin = "mark"; } );' > "$work/conf.d/15-p.conf"

# --config-check: valid, with the plugins of every file
out=$("$TOWER" --config "$work/main.conf" --config-check 2>&1)
echo "$out" | grep -q "configuration is valid (3 inputs, 1 processor, 1 output)" \
  && ok "--config-check counts the plugins of the drop-ins" || fail "--config-check: $out"

# a drop-in that sets agent is refused with its file and line
printf '\nagent = { interval = "1s"; };\n' > "$work/conf.d/30-bad.conf"
out=$("$TOWER" --config "$work/main.conf" --config-check 2>&1) && fail "bad drop-in accepted"
echo "$out" | grep -q "conf.d/30-bad.conf:2: agent cannot be set in a drop-in file" \
  && ok "a drop-in setting agent is refused with file:line" || fail "bad drop-in: $out"
rm "$work/conf.d/30-bad.conf"

# --once: the metrics of the main file and of every drop-in reach the output
"$TOWER" --config "$work/main.conf" --once > "$work/once.log" 2>&1
for m in main a b; do
  grep -q "^$m,.*v=1i" "$work/out.lp" && ok "--once wrote $m" || fail "--once: no $m in $(cat "$work/out.lp") $(cat "$work/once.log")"
done
rm -f "$work/out.lp"

# SIGHUP re-reads the pattern: a drop-in added while running is picked up
start_tower "$work/main.conf" "$work/d.log"
wait_for 5 grep -qs "^b," "$work/out.lp" && ok "the daemon writes the drop-ins' metrics" \
  || fail "daemon: $(cat "$work/d.log")"
grep -q "configuration: $work/main.conf, .*a.conf, .*b.conf" "$work/d.log" \
  && ok "startup names every file read" || fail "files: $(grep 'configuration:' "$work/d.log")"
drop 30-c c
kill -HUP "$tpid"
wait_for 5 grep -qs "^c," "$work/out.lp" && ok "SIGHUP picked up the new drop-in" \
  || fail "reload: $(cat "$work/d.log")"
grep -q "4 inputs: lines:main, lines:a, lines:b, lines:c" "$work/d.log" \
  && ok "the reload lists the inputs in file order" || fail "order: $(grep " inputs: " "$work/d.log")"
stop_tower TERM
[ "$trc" = 0 ] && ok "stopped" || fail "exit status $trc"

# --config-directory, Telegraf's flag: the same files without the @include
if "$TOWER" --help 2>&1 | grep -q -- "--config-directory"; then
  main "$work/plain.conf" ""
  rm -f "$work/out.lp"
  "$TOWER" --config "$work/plain.conf" --config-directory "$work/conf.d" --once > "$work/dir.log" 2>&1
  for m in main a b c; do
    grep -q "^$m," "$work/out.lp" && ok "--config-directory: $m written" || fail "--config-directory: no $m $(cat "$work/dir.log")"
  done
else
  echo "skip: this tower has no --config-directory flag yet (core/main.c)"
fi
finish
