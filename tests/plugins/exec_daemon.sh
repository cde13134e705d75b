#!/bin/sh
# inputs.exec in the running daemon: commands run every interval and their
# metrics reach the output; a SIGTERM while a command hangs (with a
# background child, both ignoring SIGTERM) stops tower within
# kill_grace + the final flush, and leaves no process behind.
. "$top_srcdir/tests/integration/lib.sh"
scripts="$top_srcdir/tests/plugins/exec"

# alive PID: the process exists and is not a zombie (an orphan's zombie
# waits for init, which some containers never run).
alive() { [ -r "/proc/$1/stat" ] && ! sed 's/^.*) //' "/proc/$1/stat" | grep -q '^[ZX]'; }
gone_within() { # SECONDS PID...
  t=$1; shift
  for p in "$@"; do wait_for "$t" sh -c "! { [ -r /proc/$p/stat ] && ! sed 's/^.*) //' /proc/$p/stat | grep -q '^[ZX]'; }" || return 1; done
}

cat > "$work/exec.conf" <<CONF
agent = { interval = "200ms"; flush_interval = "200ms"; omit_hostname = true; shutdown_timeout = "5s"; };
inputs = (
  { plugin = "exec"; commands = (["$scripts/influx.sh"]); alias = "fast"; },
  { plugin = "exec"; commands = (["$scripts/tree.sh", "$work/pids", "ignore"]); timeout = "1h";
    kill_grace = "1s"; alias = "hung"; }
);
outputs = ( { plugin = "record"; path = "$work/out.lp"; } );
CONF

start_tower "$work/exec.conf" "$work/exec.log"
wait_for 5 grep -qs "disk,path=/data" "$work/out.lp" && ok "exec metrics reach the output" \
  || fail "no exec metrics: $(cat "$work/exec.log")"
wait_for 5 test -s "$work/pids" || fail "the hanging command did not start"
read child shell < "$work/pids"
alive "$child" && alive "$shell" && ok "hanging command $shell and its child $child run" \
  || fail "hanging command not running"

stop_tower TERM
[ "$trc" = 0 ] && ok "SIGTERM during a hung command: exit 0 after ${tsecs}ms" \
  || fail "exit status $trc: $(cat "$work/exec.log")"
[ "$tsecs" -lt 4000 ] && ok "shutdown bounded by kill_grace (${tsecs}ms)" \
  || fail "shutdown took ${tsecs}ms"
gone_within 2 "$child" "$shell" && ok "no process of the command remains" \
  || fail "left behind: $(ps -o pid,stat,cmd -p "$child,$shell" 2>&1)"
grep -q "inputs.exec:hung.*stopped: the input is shutting down" "$work/exec.log" \
  && ok "the stop is logged" || fail "no stop message: $(cat "$work/exec.log")"
if grep -q " E! " "$work/exec.log"; then fail "errors logged: $(grep ' E! ' "$work/exec.log")"; else ok "no error logged"; fi

finish
