#!/bin/sh
# The crash loop, Kafka path: nothing accepted from Kafka is lost however
# often tower is killed.
#
#   Kafka (tests/kafka/mock_kafka: N sequence-numbered line protocol
#   messages, one metric each) -> tower: inputs.kafka_consumer ->
#   outputs.influxdb -> a real influxd (Debian's), and the record fixture,
#   which appends every metric it writes to a file.
#
# The loop kill -9s tower at random moments (at least KILLS times) and
# starts it again, while influxd is stopped and started at random too (a
# dead output stalls consumption at max_undelivered_messages: what tower
# read but had not written must not be committed). Then a last run with
# influxd up drains the rest. At the end InfluxDB must hold every one of the
# N points. Duplicates are allowed: InfluxDB overwrites a point with itself,
# so they are counted in the record output's file instead, and reported.
#
# BUFFER=memory (the default) runs with in-memory output buffers: offsets
# wait for the writes, so a crash re-consumes what the buffers lost.
# BUFFER=disk runs with buffer_strategy = "disk", buffer_fsync = "commit":
# what is on disk counts as delivered, and survives the kill. The disk
# variant needs the disk buffer (another change), so it runs only when
# `tower sample-config outputs.influxdb` lists buffer_strategy; before that
# it says it is skipped, so this script works before and after it lands.
# SEED=... repeats a run's random choices (the seed is printed).
#
# Nothing else is skipped: a missing influxd, curl, kcat or mock cluster is a
# failure.
. "$top_srcdir/tests/integration/lib.sh"

. "$top_srcdir/tests/kafka/lib.sh"
. "$top_srcdir/tests/influxdb/lib.sh"
N=${N:-20000}
KILLS=${KILLS:-20}
BUFFER=${BUFFER:-memory}
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
for p in "input  *kafka_consumer" "output  *influxdb" "output  *record"; do
  "$TOWER" plugins 2>/dev/null | grep -q "^$p " \
    || { echo "FAIL: plugin '$p' is not built (tower plugins does not list it)"; exit 1; }
done

# ---- the buffer strategy -------------------------------------------------
# where_option NAME: "agent" or "output", the block where sample-config
# lists the option (as a setting, or an output's common options list);
# empty when it does not exist.
where_option() {
  "$TOWER" sample-config outputs.influxdb 2>/dev/null | awk -v name="$1" '
    /^agent = \{/ { block = "agent" }
    /^outputs = \(/ { block = "output" }
    $0 ~ "^ *#? *" name " = " { print block; exit }
    /^ *# / && block == "output" && (" " $0 " ") ~ "[ ,]" name "[ ,]" { print block; exit }'
}
agent_buf=""; output_buf=""
case "$BUFFER" in
  memory) ;;
  disk)
    if [ -z "$(where_option buffer_strategy)" ]; then
      echo "ok: BUFFER=disk skipped: this tower has no disk buffer (sample-config lists no buffer_strategy)"
      exit 0
    fi
    mkdir -p "$work/buffers"
    for kv in 'buffer_strategy = "disk";' 'buffer_fsync = "commit";' \
              "buffer_directory = \"$work/buffers\";" "buffer_dir = \"$work/buffers\";" \
              "buffer_path = \"$work/buffers\";"; do
      case "$(where_option "${kv%% =*}")" in
        agent) agent_buf="$agent_buf $kv" ;;
        output) output_buf="$output_buf $kv" ;;
      esac
    done
    ;;
  *) echo "FAIL: BUFFER must be memory or disk, not '$BUFFER'"; exit 1 ;;
esac
echo "crash loop: BUFFER=$BUFFER N=$N KILLS=$KILLS SEED=$SEED"

# rnd LO HI: sets $r to a random integer in [LO, HI], the next of a
# sequence awk draws from SEED (the same SEED gives the same run). Not in a
# $(...) subshell, which would not advance the sequence.
awk -v s="$SEED" 'BEGIN { srand(s); for (i = 0; i < 1000; i++) printf "%d\n", rand() * 1000000 }' \
  > "$work/random.txt"
rnd_i=0
rnd() {
  rnd_i=$((rnd_i + 1))
  r=$(($1 + $(sed -n "${rnd_i}p" "$work/random.txt") % ($2 - $1 + 1)))
}

# ---- Kafka: N messages over 4 partitions ---------------------------------
start_mock -b 3 -t crash:4
# One point a second: InfluxDB keeps every one (points of one series with
# one timestamp would overwrite each other).
seq 1 "$N" | awk '{ printf "crash,src=kafka seq=%di %d000000000\n", $1, 1700000000 + $1 }' > "$work/msgs.txt"
# Record batches of 20 messages: a fetch brings one batch per partition.
kcat -P -b "$B" -t crash -X batch.num.messages=20 -l "$work/msgs.txt" 2> "$work/kcat.err" \
  || { fail "kcat could not produce: $(cat "$work/kcat.err")"; finish; }
ok "$N messages produced"
# Every fetch round trip takes 50 ms and brings a batch per partition
# (fetch_message_max_bytes below): about 800 messages a second, so the
# stream lasts long enough for the kills to land in its middle.
for b in 1 2 3; do mock_command "rtt $b 50"; done

# ---- InfluxDB, on its own ports and directories --------------------------
# influx_up / influx_down: the server and whether it runs ($ipid)
ipid=""
influx_up() { start_influxd influx; eval "ipid=\$ipid_influx"; }
influx_down() { stop_influxd influx; ipid=""; }
# iq QUERY: InfluxDB's JSON answer
iq() { curl -s -G "$api/query" --data-urlencode "db=crash" --data-urlencode "epoch=ns" --data-urlencode "q=$1"; }
influx_up
curl -s -XPOST "$api/query" --data-urlencode 'q=CREATE DATABASE "crash"' -o /dev/null
ok "influxd ready at $api"

# ---- tower ---------------------------------------------------------------
# A short session timeout lets the group drop a killed member quickly (the
# mock cluster's first join takes 3 s: a shorter session never joins).
cat > "$work/tower.conf" <<CONF
agent = { interval = "1s"; flush_interval = "200ms"; omit_hostname = true; shutdown_timeout = "5s";
  retry_backoff_min = "100ms"; retry_backoff_max = "500ms"; $agent_buf };
inputs = (
  { plugin = "kafka_consumer"; brokers = ["$B"]; topics = ["crash"]; consumer_group = "crash";
    librdkafka = { session_timeout_ms = "4000"; heartbeat_interval_ms = "500";
                   fetch_message_max_bytes = "500";
                   auto_commit_interval_ms = "300"; }; }
);
outputs = (
  { plugin = "influxdb"; urls = ["$api"]; database = "crash"; timeout = "2s"; $output_buf },
  { plugin = "record"; path = "$work/deliveries.lp"; $output_buf }
);
CONF
# delivered: the metrics the record output wrote so far (0 before its file)
delivered() { cat "$work/deliveries.lp" 2>/dev/null | grep -c '^crash,src=kafka seq=[0-9]*i [0-9]*$'; }
# distinct_delivered: how many of the N the record output wrote at least once
distinct_delivered() { sort -u "$work/deliveries.lp" 2>/dev/null | grep -c '^crash,src=kafka seq=[0-9]*i [0-9]*$'; }
in_influx() { iq 'SELECT count(seq) FROM crash' | sed -n 's/.*"values":\[\[[^,]*,\([0-9]*\)\]\].*/\1/p'; }

# ---- the loop ------------------------------------------------------------
t0=$(date +%s)
kills=0; restarts=0; run=0; mid=0
while [ "$kills" -lt "$KILLS" ]; do
  run=$((run + 1))
  # influxd goes down or comes back now and then (down at the latest at a
  # quarter of the kills); it is up for the last few kills so that the
  # stream keeps moving.
  rnd 1 4
  [ "$kills" = $((KILLS / 4)) ] && [ "$restarts" = 0 ] && [ -n "$ipid" ] && r=1
  if [ "$r" = 1 ] && [ "$kills" -lt $((KILLS - 4)) ]; then
    if [ -n "$ipid" ]; then influx_down; else influx_up; restarts=$((restarts + 1)); fi
  elif [ -z "$ipid" ] && [ "$kills" -ge $((KILLS - 4)) ]; then
    influx_up; restarts=$((restarts + 1))
  fi
  before=$(delivered)
  start_tower "$work/tower.conf" "$work/run$run.log"
  # The group drops the killed member after its session timeout; the kill
  # comes at a random moment once this one has its partitions.
  wait_for 30 grep -q 'assigned [0-9]* partition' "$work/run$run.log" \
    || fail "run $run: no partition assignment after 30 s: $(grep -E 'E!|W!' "$work/run$run.log" | tail -3)"
  rnd 300 2000; ms=$r
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kill -KILL "$tpid"
  wait "$tpid" 2>/dev/null
  kills=$((kills + 1))
  after=$(delivered); seen=$(distinct_delivered)
  # mid-stream: this run wrote metrics, and some of the N were never written
  [ "$after" -gt "$before" ] && [ "$seen" -lt "$N" ] && mid=$((mid + 1))
  echo "kill $kills after $ms ms: +$((after - before)) written in this run, $seen of $N so far, influxd $([ -n "$ipid" ] && echo up || echo down)"
done
loop_secs=$(($(date +%s) - t0))
ok "$kills kill -9 survived in ${loop_secs} s ($mid of them mid-stream, influxd restarted $restarts times)"
[ "$mid" -ge $((KILLS / 2)) ] && ok "at least half of the kills landed while metrics were being written" \
  || fail "only $mid of $kills kills landed mid-stream: the stream was too fast or too slow"

# ---- the last run drains the rest --------------------------------------
[ -n "$ipid" ] || { influx_up; restarts=$((restarts + 1)); }
for b in 1 2 3; do mock_command "rtt $b 0"; done
start_tower "$work/tower.conf" "$work/final.log"
all_in() { [ "$(in_influx)" = "$N" ]; }
wait_for 60 all_in
stop_tower TERM
[ "$trc" = 0 ] && ok "the last run stopped cleanly" || fail "the last run exited $trc: $(tail -5 "$work/final.log")"

got=$(in_influx)
if [ "$got" = "$N" ]; then
  ok "InfluxDB holds all $N points after $kills kills"
else
  iq 'SELECT seq FROM crash' | tr '[' '\n' | sed -n 's/^[0-9]*,\([0-9]*\)\].*/\1/p' | sort > "$work/have.txt"
  lost=$(seq 1 "$N" | sort | comm -23 - "$work/have.txt" | sort -n | head -10 | tr '\n' ' ')
  fail "InfluxDB holds ${got:-0} of $N points; first missing seq: $lost"
fi
total=$(delivered)
distinct=$(grep '^crash,src=kafka seq=[0-9]*i [0-9]*$' "$work/deliveries.lp" | sort -u | wc -l | tr -d ' ')
dups=$((total - distinct))
[ "$distinct" = "$N" ] && ok "the record output wrote all $N too: $total deliveries, $dups duplicates ($(awk -v d="$dups" -v n="$N" 'BEGIN { printf "%.1f", 100 * d / n }')%)" \
  || fail "the record output wrote $distinct of $N distinct metrics ($total deliveries)"
grep -h 'E!' "$work"/run*.log "$work/final.log" | grep -v 'outputs.influxdb\|failing\|write failed' | sort | uniq -c | sort -rn | head -5 \
  | sed 's/^/  errors seen: /'
[ -n "${CRASH_KEEP:-}" ] && cp -r "$work" "$CRASH_KEEP"
echo "crash loop figures: BUFFER=$BUFFER kills=$kills mid_stream=$mid influxd_restarts=$restarts metrics=$N in_influxdb=${got:-0} deliveries=$total duplicates=$dups loop_seconds=$loop_secs seed=$SEED"
finish
