#!/bin/sh
# Scrape latency of outputs.prometheus under slow-client attacks: prints
# p50/p99/max of curl scrapes (from 127.0.0.1) with no attack, then while
# tests/hostile/slow_client holds 64 idle, 1000 header-trickling (one source
# address, 127.0.0.2) and 1000 idle connections from 100 source addresses
# (127.0.0.2-127.0.0.101). Figures only, no verdict: it runs against any
# tower build, so the numbers before and after a change compare.
#
#   top_srcdir=. TOWER=build/tower TOWER_PLUGIN_DIR=build/plugin-dir \
#   SLOW_CLIENT=build/tests/hostile/slow_client sh tests/hostile/slow_measure.sh
#
# SECONDS_PER_PHASE (default 20) sets how long each phase scrapes;
# PROM_OPTS adds options to the prometheus output block.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/hostile/slow_lib.sh"

secs=${SECONDS_PER_PHASE:-20}
ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null

slow_start_tower "{ plugin = \"prometheus\"; alias = \"measure\"; listen = \"127.0.0.1:0\"; ${PROM_OPTS:-} }"
port=$(slow_port measure)
[ -n "$port" ] || { fail "tower did not serve: $(cat "$work/tower.log")"; finish; }
url="http://127.0.0.1:$port/metrics"

phase() {
  name=$1; shift
  if [ $# -gt 0 ]; then
    slow_attack "$port" "$@"
    wait_for 15 slow_attack_held_at_least 1 || true
  fi
  slow_scrape_for "$secs" "$url"
  printf '%-34s %s\n' "$name" "$(slow_scrape_summary)"
  if [ $# -gt 0 ]; then
    slow_attack_stop
    echo "  attacker: $(cat "$work/attack.out")"
  fi
}

echo "scrape latency, $secs s per phase, tower: $TOWER"
phase "no attack"
phase "64 idle (127.0.0.2)" -m idle -n 64 -r
phase "1000 trickling (127.0.0.2)" -m trickle -n 1000 -r -R 500
phase "1000 idle (100 addresses)" -m idle -n 1000 -s 127.0.0.2+100 -r -R 500
stop_tower TERM
finish
