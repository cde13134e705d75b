# Helpers of the slow-client scripts (sourced after
# tests/integration/lib.sh): a tower with prometheus outputs, the
# attacker (tests/hostile/slow_client) in the background, and curl scrapes
# timed from another source address (127.0.0.1).

SLOW_CLIENT=${SLOW_CLIENT:-$top_builddir/tests/hostile/slow_client}
apid=""

# slow_start_tower OUTPUTS: tower with the cpu input and the prometheus
# outputs OUTPUTS (the entries of the outputs list; give each an alias and
# listen = "127.0.0.1:0"); slow_port ALIAS then tells the port it got.
slow_start_tower() {
  cat > "$work/tower.conf" <<CONF
agent = { interval = "1s"; flush_interval = "200ms"; omit_hostname = true; };
inputs = ( { plugin = "cpu"; percpu = true; } );
outputs = ( $1 );
CONF
  start_tower "$work/tower.conf" "$work/tower.log"
  wait_for 5 grep -q "serving metrics on" "$work/tower.log" 2>/dev/null
}

slow_port() {
  sed -n "s/.*\[outputs.prometheus:$1\] serving metrics on .* (port \([0-9]*\)).*/\1/p" \
    "$work/tower.log" | head -1
}

# slow_attack PORT ARGS...: runs slow_client ARGS against 127.0.0.1:PORT
# until slow_attack_stop; sets $apid.
slow_attack() {
  aport=$1; shift
  rm -f "$work/attack.status"
  "$SLOW_CLIENT" -d 3600 -o "$work/attack.status" "$@" "127.0.0.1:$aport" \
    > "$work/attack.out" 2>&1 &
  apid=$!
  pids="$pids $apid"
}

# slow_attack_status KEY: the attacker's current count (open, held,
# established, refused, cut).
slow_attack_status() {
  [ -f "$work/attack.status" ] || { echo 0; return; }
  tr ' ' '\n' < "$work/attack.status" | sed -n "/^$1\$/{n;p;}"
}

slow_attack_held_at_least() { [ "$(slow_attack_status held)" -ge "$1" ]; }

# slow_attack_stop: stops the attacker; its summary line is then in
# $work/attack.out.
slow_attack_stop() {
  [ -n "$apid" ] || return 0
  kill -TERM "$apid" 2>/dev/null
  wait "$apid" 2>/dev/null
  apid=""
}

# slow_attack_field NAME: a field of the stopped attacker's summary.
slow_attack_field() {
  tr ' ' '\n' < "$work/attack.out" | sed -n "s/^$1=//p"
}

# slow_scrape_for SECONDS URL [CURL-ARGS...]: scrapes with curl (a new
# connection each time, 100 ms apart) for SECONDS; each line of
# $work/scrapes is "HTTP-CODE MILLISECONDS". A scrape that got no answer
# within 10 s counts as code 000.
slow_scrape_for() {
  secs=$1 url=$2; shift 2
  : > "$work/scrapes"
  end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$end" ]; do
    curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total}\n' "$@" "$url" \
      | awk '{ printf "%s %.1f\n", $1, $2 * 1000 }' >> "$work/scrapes"
    sleep 0.1
  done
}

# slow_scrape_pct P: the P-th percentile (ms) of all scrapes, failed ones
# included (at the time they gave up).
slow_scrape_pct() {
  awk '{ print $2 }' "$work/scrapes" | sort -n | awk -v p="$1" '
    { v[NR] = $1 } END { if (!NR) { print 0; exit } i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i] }'
}

slow_scrape_count() { wc -l < "$work/scrapes" | tr -d ' '; }
slow_scrape_failed() { awk '$1 != "200"' "$work/scrapes" | wc -l | tr -d ' '; }

slow_scrape_summary() {
  echo "n=$(slow_scrape_count) failed=$(slow_scrape_failed) p50=$(slow_scrape_pct 50)ms" \
    "p99=$(slow_scrape_pct 99)ms max=$(slow_scrape_pct 100)ms"
}
