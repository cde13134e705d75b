#!/bin/sh
# A reload (SIGHUP) in the middle of an exec gather keeps what was already
# complete: the gather runs `/bin/echo "fast x=1i"` and `/bin/sleep 3`; one
# second in, the file is changed (the echo now prints x=2i, so that x=1i can
# only come from the interrupted gather) and tower gets SIGHUP. The sleep is
# killed and its (empty) partial output dropped; `fast x=1i`, whose command
# had finished, must reach the output, and tower must keep running.
. "$top_srcdir/tests/integration/lib.sh"

conf() { # VALUE: the config, with the echo printing fast x=VALUE
  cat > "$work/exec.conf.tmp" <<CONF
agent = { interval = "5s"; round_interval = false; flush_interval = "200ms";
          omit_hostname = true; };
inputs = ( { plugin = "exec"; commands = (["/bin/echo", "fast x=$1"], ["/bin/sleep", "3"]); } );
outputs = ( { plugin = "record"; path = "$work/out.lp"; } );
CONF
  mv "$work/exec.conf.tmp" "$work/exec.conf"
}

# sleep_child: prints the pid of tower's child `sleep` (the gather runs).
sleep_child() {
  for st in /proc/[0-9]*/stat; do
    set -- $(sed 's/^.*) //' "$st" 2>/dev/null)
    [ "${2:-}" = "$tpid" ] && [ "$(cat "${st%stat}comm" 2>/dev/null)" = sleep ] || continue
    st=${st#/proc/}; echo "${st%/stat}"; return 0
  done
  return 1
}

conf 1i
start_tower "$work/exec.conf" "$work/exec.log"
wait_for 5 sleep_child >/dev/null || fail "the gather did not start: $(cat "$work/exec.log")"
sleep_pid=$(sleep_child)
sleep 1
conf 2i
kill -HUP "$tpid"

wait_for 5 grep -qs "^fast x=1i " "$work/out.lp" \
  && ok "the finished command's metric of the interrupted gather reached the output" \
  || fail "fast x=1i lost: output: $(cat "$work/out.lp" 2>/dev/null); log: $(cat "$work/exec.log")"
wait_for 5 grep -qs "^fast x=2i " "$work/out.lp" && ok "the reloaded input gathers" \
  || fail "no metric from the reloaded input: $(cat "$work/exec.log")"
grep -q "\[inputs.exec\] command '/bin/sleep 3' stopped: the input is shutting down; it was killed and its partial output discarded" "$work/exec.log" \
  && ok "the stopped command is logged" || fail "no stop message: $(cat "$work/exec.log")"
if grep -q "command '/bin/echo 'fast x=1i'' stopped" "$work/exec.log"; then
  fail "the finished command was reported stopped"
else
  ok "the finished command was not reported stopped"
fi
wait_for 2 sh -c "! kill -0 $sleep_pid 2>/dev/null || grep -q '^Z' /proc/$sleep_pid/stat 2>/dev/null" \
  && ok "the interrupted command is gone" || fail "/bin/sleep $sleep_pid survived the reload"

if kill -0 "$tpid" 2>/dev/null; then
  ok "tower survived the reload"
  stop_tower TERM
  [ "$trc" = 0 ] && ok "SIGTERM: exit 0" || fail "exit status $trc: $(cat "$work/exec.log")"
else
  wait "$tpid"
  fail "tower died during the reload (exit status $?): $(tail -5 "$work/exec.log")"
fi
n=$(grep -s -c "^fast x=1i " "$work/out.lp")
[ "${n:-0}" = 1 ] && ok "x=1i written once" || fail "x=1i written ${n:-0} times"

finish
