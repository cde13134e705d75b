#!/bin/sh
# The disk buffer against kill -9: a Kafka -> InfluxDB tower must lose
# nothing it accepted when it is killed while InfluxDB is down.
#
# The `ticker` fixture commits one metric every 2ms and appends each seq
# whose commit returned to a ledger it syncs (seq_ledger), so the ledger
# holds what tower accepted. The output is outputs.influxdb with
# buffer_strategy = "disk" and buffer_fsync = "commit", against a real
# InfluxDB 1.x (Debian influxd) that is down:
#  1. CRASHES runs (20 by default), each killed with SIGKILL at a random
#     moment, starting up and replaying included; then one run whose
#     SIGHUPs switch the output memory -> disk -> memory -> disk, killed
#     once on disk;
#  2. InfluxDB comes back, and 5 more runs are killed while tower writes
#     the backlog (a write may land and its acknowledgement not: those
#     metrics come again, counted as duplicates);
#  3. a last run stops with SIGTERM.
# Every (label, seq) of the ledger must be stored in InfluxDB. Duplicates
# are what InfluxDB received (its httpd pointsWrittenOK) beyond the points
# it stores (a point written twice is stored once). Nothing is skipped: a
# missing influxd or curl is a failure.
. "$top_srcdir/tests/integration/lib.sh"

CRASHES=${CRASHES:-20}
. "$top_srcdir/tests/influxdb/lib.sh"
"$TOWER" plugins 2>/dev/null | grep -q '^output  *influxdb ' \
  || { echo "FAIL: outputs.influxdb is not built (tower plugins does not list it)"; exit 1; }

# query Q: CSV rows of the answer (name,tags,time,columns...)
query() {
  curl -s -G "$api/query" -H 'Accept: application/csv' --data-urlencode "db=crash" \
    --data-urlencode "q=$1"
}

# ---- tower ------------------------------------------------------------------
start_influxd influx
stop_influxd influx # down: the address refuses connections from now on

buf="$work/buffer"
ledger="$work/ledger"
conf() { # conf LABEL [STRATEGY]
  cat > "$work/tower.conf" <<CONF
agent = { omit_hostname = true; buffer_directory = "$buf"; flush_interval = "100ms";
          metric_batch_size = 500; metric_buffer_limit = 10000000;
          retry_backoff_min = "50ms"; retry_backoff_max = "200ms"; };
inputs = ( { plugin = "ticker"; period = "2ms"; label = "$1"; seq_ledger = "$ledger"; } );
outputs = ( { plugin = "influxdb"; urls = ["$api"]; database = "crash";
              buffer_strategy = "${2:-disk}"; buffer_fsync = "commit"; timeout = "2s"; } );
CONF
}

# run_and_kill LABEL: tower runs for a random 0-700ms (often still
# replaying or starting), then kill -9.
run_and_kill() {
  conf "$1"
  "$TOWER" --config "$work/tower.conf" >> "$work/tower.log" 2>&1 &
  tpid=$!
  sleep "0.$(shuf -i 0-700 -n 1 | xargs printf '%03d')"
  kill -9 "$tpid" 2>/dev/null
  wait "$tpid" 2>/dev/null
  if grep -q 'AddressSanitizer\|runtime error' "$work/tower.log"; then
    fail "sanitizer report in run $1:
$(grep -A20 'AddressSanitizer\|runtime error' "$work/tower.log" | head -40)"
    finish
  fi
}

began=$(date +%s)
i=0
while [ "$i" -lt "$CRASHES" ]; do
  run_and_kill "down$i"
  i=$((i + 1))
done
accepted=$(lines "$ledger")
[ "$accepted" -gt 0 ] && ok "$CRASHES runs killed with InfluxDB down; $accepted commits accepted" \
  || fail "no commit returned in $CRASHES runs: $(tail -20 "$work/tower.log")"
grep -q 'to write from the last run' "$work/tower.log" \
  && ok "runs after a kill replay the disk buffer" \
  || fail "no run said it replayed the buffer: $(tail -20 "$work/tower.log")"

# SIGHUP switching the running output between memory and disk: the
# metrics buffered at that moment move along (the ticker, unchanged, keeps
# running); a kill -9 once on disk loses none of them, whether they were
# accepted in memory or on disk.
hups() { grep -c "$1" "$work/reload.log"; }
conf reload memory
start_tower "$work/tower.conf" "$work/reload.log"
sleep 0.3
conf reload disk
kill -HUP "$tpid"
wait_for 10 sh -c "[ \$(grep -c 'buffer on disk in' '$work/reload.log') -ge 1 ]" \
  || fail "no switch to disk after SIGHUP: $(tail -5 "$work/reload.log")"
sleep 0.3
conf reload memory
kill -HUP "$tpid"
wait_for 10 grep -q 'buffer in memory now' "$work/reload.log" \
  || fail "no switch to memory after SIGHUP: $(tail -5 "$work/reload.log")"
[ -z "$(ls "$buf" 2>/dev/null)" ] && ok "SIGHUP to memory read the disk buffer and removed it" \
  || fail "the disk buffer is still there after the switch to memory: $(ls -R "$buf")"
sleep 0.2
conf reload disk
kill -HUP "$tpid"
wait_for 10 sh -c "[ \$(grep -c 'buffer on disk in' '$work/reload.log') -ge 2 ]" \
  || fail "no second switch to disk after SIGHUP: $(tail -5 "$work/reload.log")"
[ "$(hups 'kept (only its buffer settings changed) by the reload')" -ge 3 ] \
  && ok "three SIGHUPs kept the running output and converted its buffer" \
  || fail "the output was not kept by the reloads: $(grep reload "$work/reload.log")"
sleep 0.2
kill -9 "$tpid"
wait "$tpid" 2>/dev/null
cat "$work/reload.log" >> "$work/tower.log"

start_influxd influx
i=0
while [ "$i" -lt 5 ]; do
  run_and_kill "up$i"
  i=$((i + 1))
done

# the last run: the backlog arrives while it runs, then a stop writes the
# rest (what it accepted itself included)
sort -u "$ledger" > "$work/before"
conf final
start_tower "$work/tower.conf" "$work/final.log"
want() { sort -u "$ledger"; }
stored() {
  query 'SELECT seq, label FROM tick' | awk -F, 'NR > 1 { print $5, $4 }' | sort -u
}
backlog_stored() { stored > "$work/stored"; [ -z "$(comm -23 "$work/before" "$work/stored")" ]; }
wait_for 60 backlog_stored || fail "the backlog did not arrive within 60s of the last start"
stop_tower TERM
[ "$trc" = 0 ] || fail "the last run exited $trc: $(tail -20 "$work/final.log")"
stored > "$work/stored"
accepted=$(want | wc -l | tr -d ' ')
missing=$(want | comm -23 - "$work/stored" | wc -l | tr -d ' ')
if [ "$missing" = 0 ]; then
  ok "all $accepted accepted metrics are in InfluxDB after $((CRASHES + 5)) kill -9"
else
  fail "$missing of $accepted accepted metrics never arrived, e.g.:
$(want | comm -23 - "$work/stored" | head -5)"
fi
points=$(wc -l < "$work/stored" | tr -d ' ')
received=$(curl -s -G "$api/query" -H 'Accept: application/csv' --data-urlencode "q=SHOW STATS" \
  | awk -F, '$1 == "httpd" { for (i = 1; i <= NF; i++) if (h[i] == "pointsWrittenOK") print $i }
             $1 == "name" { for (i = 1; i <= NF; i++) h[i] = $i }' | head -1)
echo "figures: $accepted accepted, $points stored, ${received:-?} points received by InfluxDB" \
  "($((${received:-$points} - points)) duplicates), $(( $(date +%s) - began ))s"
[ -n "$received" ] && [ "$received" -ge "$points" ] \
  && ok "InfluxDB received $received points for $points stored: $((received - points)) duplicates" \
  || fail "cannot read InfluxDB's httpd statistics (SHOW STATS): '$received'"
grep -q 'damaged record' "$work/tower.log" \
  && echo "note: runs reported damaged records (a kill mid-write leaves a torn tail): $(grep -c 'damaged record' "$work/tower.log")"
stop_influxd influx
finish
