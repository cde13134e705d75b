#!/bin/sh
# Aggregators in the running agent: the summaries of a window reach the
# outputs at its end, SIGHUP pushes what the old aggregator held before the
# new one takes over, SIGTERM pushes what was aggregated before the final
# flush, and --test prints the summaries at the end of the run.
. "$top_srcdir/tests/integration/lib.sh"

conf() { # file, aggregator extras
  cat > "$1" <<CONF
agent = { interval = "100ms"; flush_interval = "100ms"; omit_hostname = true; shutdown_timeout = "2s"; };
inputs = ( { plugin = "lines"; lines = ["m v=1i", "m v=3i"]; } );
aggregators = ( { plugin = "minmax"; drop_original = true; $2 } );
outputs = ( { plugin = "record"; path = "$work/a.lp"; } );
CONF
}
summaries() { cat "$work/a.lp" 2>/dev/null | grep -c "^m$1 v_max=3,v_min=1 "; }

# A 1s period: summaries arrive while the agent runs, never an original.
conf "$work/a.conf" 'period = "1s"; delay = "50ms"; name_suffix = "_1s";'
start_tower "$work/a.conf" "$work/a.log"
grep -q "1 aggregator: minmax (period 1s)$" "$work/a.log" && ok "startup names the aggregator" \
  || fail "startup lines: $(cat "$work/a.log")"
wait_for 5 sh -c "grep -q '^m_1s v_max=3,v_min=1 ' '$work/a.lp' 2>/dev/null" \
  && ok "a window's summary reached the output at its end" || fail "no summary: $(cat "$work/a.log")"
# Windows end on whole seconds (agent.round_interval): the time says so.
t=$(grep '^m_1s ' "$work/a.lp" | head -1 | awk '{print $3}')
[ $((t % 1000000000)) = 0 ] && ok "summary stamped with the window's end ($t)" || fail "time $t"

# SIGHUP to a 1h period: nothing is pushed while it runs...
conf "$work/a.conf" 'period = "1h"; name_suffix = "_old";'
kill -HUP "$tpid"
wait_for 5 grep -q "reloading" "$work/a.log" || fail "no reload"
sleep 0.5
[ "$(summaries _old)" = 0 ] && ok "a 1h window pushes nothing early" || fail "early push: $(cat "$work/a.lp" "$work/a.log")"
# ...until the next reload replaces it: it pushes what it holds then.
conf "$work/a.conf" 'period = "1h"; name_suffix = "_new";'
kill -HUP "$tpid"
wait_for 5 sh -c "grep -q '^m_old v_max=3,v_min=1 ' '$work/a.lp' 2>/dev/null" \
  && ok "SIGHUP pushed the replaced aggregator's window" || fail "reload lost the window: $(cat "$work/a.log")"
sleep 0.5
# SIGTERM: the new one pushes what it aggregated, then the final flush.
stop_tower TERM
[ "$trc" = 0 ] && [ "$(summaries _new)" = 1 ] && [ "$(summaries _old)" = 1 ] \
  && ok "SIGTERM pushed the aggregated window" || fail "SIGTERM: rc=$trc $(cat "$work/a.lp")"
grep -q '^m v=' "$work/a.lp" && fail "an original reached the output" || ok "drop_original kept the originals out"

# --test: the summaries come at the end of the run, on stdout.
conf "$work/t.conf" 'period = "1h"; name_suffix = "_t";'
"$TOWER" --test --config "$work/t.conf" > "$work/t.out" 2> "$work/t.err"
[ "$(cat "$work/t.out" | sed 's/ [0-9]*$//')" = "m_t v_max=3,v_min=1" ] && ok "--test prints the summary" \
  || fail "--test: $(cat "$work/t.out" "$work/t.err")"

# A bad aggregator option is a configuration error with file:line.
conf "$work/bad.conf" 'period = "soon";'
"$TOWER" --config-check --config "$work/bad.conf" > "$work/bad.out" 2>&1 && fail "bad period accepted" \
  || { grep -q "bad.conf:3" "$work/bad.out" && ok "a bad period names file:line" || fail "$(cat "$work/bad.out")"; }
finish
