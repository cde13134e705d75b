#!/bin/sh
# The running agent: final flush on SIGTERM, SIGUSR1 flush, SIGHUP reload
# (unchanged outputs keep their buffer; an invalid file keeps the old
# pipeline), slow outputs and hung inputs isolated, bounded shutdown.
. "$top_srcdir/tests/integration/lib.sh"

conf() { # file, input block extras, outputs
  cat > "$1" <<CONF
agent = { interval = "100ms"; flush_interval = "1h"; omit_hostname = true; shutdown_timeout = "2s"; };
inputs = ( { plugin = "lines"; lines = ["m v=1i"]; $2 } );
outputs = ( $3 );
CONF
}

# SIGTERM: nothing flushed before (1h flush interval), everything after.
conf "$work/a.conf" "" "{ plugin = \"record\"; path = \"$work/a.lp\"; }"
start_tower "$work/a.conf" "$work/a.log"
sleep 0.5
[ "$(lines "$work/a.lp")" = 0 ] && ok "nothing written before the flush interval" || fail "early write"
stop_tower TERM
n=$(lines "$work/a.lp")
[ "$trc" = 0 ] && [ "$n" -ge 3 ] && ok "SIGTERM: final flush wrote $n metrics, exit 0" || fail "SIGTERM: rc=$trc lines=$n $(cat "$work/a.log")"
# The startup lines say what runs.
grep -q "configuration: $work/a.conf" "$work/a.log" && grep -q "agent: interval 100ms, flush_interval 1h, no host tag" "$work/a.log" \
  && grep -q "1 input: lines$" "$work/a.log" && grep -q "1 output: record$" "$work/a.log" \
  && ok "startup logs the file, the agent settings and the instances" || fail "startup lines: $(head -8 "$work/a.log")"
# At debug, each write says how many metrics and how long.
"$TOWER" --config "$work/a.conf" --once --log-level debug > "$work/dbg.log" 2>&1
grep -q "\[outputs.record\] wrote batch of 1 metric in [0-9.]* ms; buffer 0 of 10000" "$work/dbg.log" \
  && ok "debug: each write is logged" || fail "no write line at debug: $(cat "$work/dbg.log")"
grep -q "\[inputs.lines\] gathered 1 metric in [0-9.]* ms" "$work/dbg.log" \
  && ok "debug: each gather is logged" || fail "no gather line at debug: $(cat "$work/dbg.log")"

# SIGUSR1 flushes while running.
conf "$work/b.conf" "" "{ plugin = \"record\"; path = \"$work/b.lp\"; }"
start_tower "$work/b.conf" "$work/b.log"
sleep 0.5
kill -USR1 "$tpid"
wait_for 3 has_lines "$work/b.lp" 2 && ok "SIGUSR1 flushed $(lines "$work/b.lp") metrics" || fail "SIGUSR1 did not flush"
stop_tower TERM

# SIGHUP: the unchanged output keeps its buffered metrics across the reload;
# the changed one writes its buffer before it goes.
keep="{ plugin = \"record\"; path = \"$work/keep.lp\"; }"
conf "$work/c.conf" "tags = { gen = \"1\"; };" "$keep, { plugin = \"record\"; path = \"$work/gone.lp\"; alias = \"old\"; }"
start_tower "$work/c.conf" "$work/c.log"
sleep 0.5
conf "$work/c.conf" "tags = { gen = \"2\"; };" "$keep, { plugin = \"record\"; path = \"$work/gone.lp\"; alias = \"new\"; }"
kill -HUP "$tpid"
wait_for 5 grep -q "keeping its" "$work/c.log" && ok "reload keeps the unchanged output" || fail "reload: $(cat "$work/c.log")"
[ "$(lines "$work/keep.lp")" = 0 ] && ok "kept output was not flushed by the reload" || fail "kept output flushed"
# (The kept output is logged before the old pipeline stops: wait for the
# changed one's final flush.)
gen1() { grep -c 'gen=1' "$work/gone.lp" 2>/dev/null || echo 0; }
wait_for 5 sh -c "[ \$(grep -c 'gen=1' '$work/gone.lp' 2>/dev/null || echo 0) -ge 2 ]"
g1=$(gen1)
[ "$g1" -ge 2 ] && ok "changed output wrote its $g1 buffered metrics at reload" || fail "changed output lost its buffer"
sleep 0.4
# An invalid file: reported, the old pipeline keeps running.
echo 'inputs = ( { plugin = "lines"; ' > "$work/c.conf"
kill -HUP "$tpid"
wait_for 5 grep -q "reload aborted" "$work/c.log" && ok "invalid reload aborted" || fail "invalid reload not reported"
grep -q "c.conf:2: syntax error" "$work/c.log" && ok "invalid reload names file:line" || fail "no file:line: $(grep E! "$work/c.log")"
before=$(lines "$work/keep.lp")
stop_tower TERM
k1=$(grep -c 'gen=1' "$work/keep.lp"); k2=$(grep -c 'gen=2' "$work/keep.lp")
[ "$k1" -ge 2 ] && [ "$k2" -ge 2 ] && ok "kept output wrote $k1 pre-reload and $k2 post-reload metrics" \
  || fail "kept output: gen1=$k1 gen2=$k2"
kill -0 "$tpid" 2>/dev/null && fail "still running" || ok "stopped after SIGTERM"

# A changed output that needs what its predecessor holds (a port, here a
# lock) starts once the old pipeline stopped; a reload whose new plugins
# cannot start at all brings the previous configuration back.
lockconf() { # file, alias, input extras
  cat > "$1" <<CONF
agent = { interval = "100ms"; flush_interval = "100ms"; omit_hostname = true; };
inputs = ( { plugin = "lines"; lines = ["m v=1i"]; $3 } );
outputs = ( { plugin = "record"; path = "$work/l.lp"; lock = "$work/port.lock"; alias = "$2"; } );
CONF
}
lockconf "$work/l.conf" "one" ""
start_tower "$work/l.conf" "$work/l.log"
lockconf "$work/l.conf" "two" ""
kill -HUP "$tpid"
wait_for 5 grep -q "stopping the running pipeline and trying again" "$work/l.log" \
  && ok "reload retries after stopping the old pipeline" || fail "no retry: $(cat "$work/l.log")"
wait_for 5 grep -q "1 output: record:two" "$work/l.log" \
  && ok "changed output holding the same lock started" || fail "new output not started: $(cat "$work/l.log")"
lockconf "$work/l.conf" "three" "init_fail = true;"
kill -HUP "$tpid"
wait_for 5 grep -q "restoring the previous configuration" "$work/l.log" \
  && ok "failed reload restores the previous configuration" || fail "no restore: $(cat "$work/l.log")"
n=$(lines "$work/l.lp")
wait_for 5 has_lines "$work/l.lp" $((n + 3)) && ok "restored pipeline keeps gathering and writing" \
  || fail "nothing written after the restore"
stop_tower TERM
[ "$trc" = 0 ] && ok "stopped cleanly after a restore" || fail "exit $trc after a restore"

# Service inputs stamp what they add with the time they add it, and slow
# stops overlap: three inputs that each take 1 s to stop cost about 1 s of a
# 2 s shutdown, and the outputs still get their final flush.
cat > "$work/s.conf" <<CONF
agent = { flush_interval = "1h"; omit_hostname = true; shutdown_timeout = "2s"; };
inputs = ( { plugin = "ticker"; period = "100ms"; stop_delay = "1s"; alias = "a"; },
           { plugin = "ticker"; period = "100ms"; stop_delay = "1s"; alias = "b"; },
           { plugin = "ticker"; period = "100ms"; stop_delay = "1s"; alias = "c"; } );
outputs = ( { plugin = "record"; path = "$work/s.lp"; } );
CONF
start_tower "$work/s.conf" "$work/s.log"
sleep 1
stop_tower TERM
n=$(lines "$work/s.lp")
[ "$trc" = 0 ] && [ "$n" -ge 15 ] && ok "slow service stops overlap: ${tsecs}ms, final flush wrote $n metrics" \
  || fail "service shutdown: rc=$trc ${tsecs}ms lines=$n $(cat "$work/s.log")"
[ "$tsecs" -lt 1800 ] && ok "three 1 s stops took ${tsecs}ms together" || fail "stops added up: ${tsecs}ms"
stamps=$(awk '{print $NF}' "$work/s.lp" | sort -u | wc -l)
[ "$stamps" -ge $((n * 9 / 10)) ] && ok "service metrics carry their own add times ($stamps distinct of $n)" \
  || fail "service metrics share timestamps: $stamps distinct of $n"

# A failing output backs off and then writes every metric exactly once.
cat > "$work/r.conf" <<CONF
agent = { interval = "100ms"; flush_interval = "100ms"; omit_hostname = true;
          retry_backoff_min = "200ms"; retry_backoff_max = "400ms"; };
inputs = ( { plugin = "lines"; lines = ["m v=1i"]; precision = "1ns"; } );
outputs = ( { plugin = "record"; path = "$work/r.lp"; fail_writes = 3; } );
CONF
start_tower "$work/r.conf" "$work/r.log"
sleep 2
stop_tower TERM
grep -q "write failed; .* retrying in" "$work/r.log" && ok "failed writes back off: $(grep -c 'retrying in' "$work/r.log") retries" \
  || fail "no backoff in the log: $(cat "$work/r.log")"
n=$(lines "$work/r.lp"); dups=$(sort "$work/r.lp" | uniq -d | wc -l)
[ "$n" -ge 12 ] && [ "$dups" -eq 0 ] && ok "all $n metrics written once after the retries" \
  || fail "after retries: $n lines, $dups duplicated"

# A slow output delays neither the inputs nor the other output; shutdown is
# bounded by shutdown_timeout even while it is stuck in a write.
cat > "$work/d.conf" <<CONF
agent = { interval = "100ms"; flush_interval = "100ms"; omit_hostname = true; shutdown_timeout = "1s"; };
inputs = ( { plugin = "lines"; lines = ["m v=1i"]; } );
outputs = ( { plugin = "record"; path = "$work/slow.lp"; delay = "10s"; alias = "slow"; },
            { plugin = "record"; path = "$work/fast.lp"; alias = "fast"; } );
CONF
start_tower "$work/d.conf" "$work/d.log"
sleep 1.5
n=$(lines "$work/fast.lp")
[ "$n" -ge 8 ] && ok "fast output wrote $n metrics while the slow one hangs" || fail "fast output starved: $n"
stop_tower TERM
[ "$tsecs" -lt 2500 ] && ok "shutdown took ${tsecs}ms with a hung output (timeout 1s)" || fail "shutdown took ${tsecs}ms"
grep -q "outputs.record:slow.*abandoning it" "$work/d.log" && ok "hung output reported at shutdown" || fail "no abandon message"

# A hung input delays no other input.
cat > "$work/e.conf" <<CONF
agent = { interval = "100ms"; flush_interval = "100ms"; omit_hostname = true; shutdown_timeout = "500ms"; };
inputs = ( { plugin = "lines"; lines = ["hung v=1i"]; sleep = "30s"; },
           { plugin = "lines"; lines = ["live v=1i"]; } );
outputs = ( { plugin = "record"; path = "$work/e.lp"; } );
CONF
start_tower "$work/e.conf" "$work/e.log"
sleep 1.5
n=$(grep -c '^live' "$work/e.lp" 2>/dev/null || echo 0)
[ "$n" -ge 8 ] && ok "live input gathered $n times beside a hung one" || fail "live input delayed: $n"
stop_tower TERM
[ "$tsecs" -lt 2000 ] && ok "shutdown with a hung input took ${tsecs}ms" || fail "shutdown took ${tsecs}ms"

# Service-manager behaviour. The pidfile is locked: a second tower with the
# same pidfile refuses to start and leaves the file alone.
cat > "$work/p.conf" <<CONF
agent = { interval = "100ms"; flush_interval = "100ms"; omit_hostname = true; shutdown_timeout = "1s";
          logfile = "$work/p.log"; };
inputs = ( { plugin = "lines"; lines = ["m v=1i"]; } );
outputs = ( { plugin = "record"; path = "$work/p.lp"; fail_writes = -1; } );
CONF
"$TOWER" --config "$work/p.conf" --pidfile "$work/tower.pid" > "$work/p.out" 2>&1 &
tpid=$!; pids="$pids $tpid"
wait_for 5 grep -q started "$work/p.log" || fail "pidfile tower did not start: $(cat "$work/p.out")"
# (metrics buffered that the output refused: the SIGTERM below must lose some)
wait_for 5 grep -q "failing as configured" "$work/p.log" || fail "the output never tried to write"
[ "$(cat "$work/tower.pid")" = "$tpid" ] && ok "pidfile holds the pid" || fail "pidfile: $(cat "$work/tower.pid")"
"$TOWER" --config "$work/p.conf" --pidfile "$work/tower.pid" > "$work/p2.out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "pidfile $work/tower.pid is held by another tower (pid $tpid)" "$work/p.log" \
  && ok "a second tower with the same pidfile refuses to start" || fail "second tower: rc=$rc $(cat "$work/p2.out")"
[ "$(cat "$work/tower.pid" 2>/dev/null)" = "$tpid" ] && ok "the refused tower left the pidfile alone" \
  || fail "pidfile now: $(cat "$work/tower.pid" 2>/dev/null)"
# logrotate: the log is moved away, then SIGHUP; the log is reopened even
# though the new configuration is invalid.
mv "$work/p.log" "$work/p.log.1"
cp "$work/p.conf" "$work/p.conf.good"
echo 'inputs = ( ' >> "$work/p.conf"
kill -HUP "$tpid"
wait_for 5 grep -q "reload aborted" "$work/p.log" && ok "SIGHUP reopened the logfile despite an invalid configuration" \
  || fail "no new log after SIGHUP: $(ls "$work")"
cp "$work/p.conf.good" "$work/p.conf"
# SIGTERM with an output that never wrote: exit 0, the loss logged.
stop_tower TERM
[ "$trc" = 0 ] && grep -q "metrics\{0,1\} could not be written before exiting" "$work/p.log" \
  && ok "SIGTERM exits 0 with unwritten metrics (logged)" || fail "SIGTERM with a failing output: rc=$trc: $(tail -5 "$work/p.log")"
[ ! -e "$work/tower.pid" ] && ok "pidfile removed at exit" || fail "pidfile left behind"
# A stale pidfile (no lock) is taken over.
echo 99999 > "$work/tower.pid"
"$TOWER" --config "$work/p.conf" --pidfile "$work/tower.pid" --once > /dev/null 2>&1
[ ! -e "$work/tower.pid" ] && ok "a stale pidfile is taken over" || fail "stale pidfile: $(cat "$work/tower.pid")"

# No configuration file: the error names the path and how to get one.
"$TOWER" --config "$work/none.conf" > "$work/none.out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "no configuration file at $work/none.conf: write one with .tower sample-config" "$work/none.out" \
  && ok "a missing configuration says how to get one" || fail "missing config: rc=$rc $(cat "$work/none.out")"

finish
