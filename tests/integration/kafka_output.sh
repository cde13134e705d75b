#!/bin/sh
# outputs.kafka end to end: the real tower binary produces to a real Kafka
# protocol peer (tests/kafka/mock_kafka, librdkafka's mock cluster, on
# 127.0.0.1) and kcat reads back what the brokers stored.
#  1. --once with several outputs: keys (routing_tag, routing_key fixed and
#     random), topics (topic_tag with and without exclude_topic_tag), influx
#     and json, batch_format on (each message <= max_message_bytes) and off,
#     every compression codec.
#  2. The daemon through broker outages (SIGUSR1 to the mock: every broker
#     down; SIGUSR2: up again), one shorter and one longer than
#     write_timeout, while metrics keep coming: every metric a `record`
#     output saw reaches Kafka; duplicates are counted and must not exceed
#     what the plugin reported as possibly written (see README.md,
#     "Delivery guarantee").
# Nothing is skipped: a missing kcat or mock_kafka is a failure.
. "$top_srcdir/tests/integration/lib.sh"

. "$top_srcdir/tests/kafka/lib.sh"
"$TOWER" plugins 2>/dev/null | grep -q '^output  *kafka ' \
  || { echo "FAIL: outputs.kafka is not built (tower plugins does not list it)"; exit 1; }

start_mock -t outage:3
boot=$B

# consume TOPIC: every message as "@@ topic partition key size" and the
# payload on the following line(s)
consume() {
  kcat -C -b "$boot" -X fetch.wait.max.ms=10 -t "$1" -e -q -f '@@ %t %p %k %S\n%s' 2>"$work/kcat.err"
}
# payload_lines TOPIC: the payload lines only, sorted
payload_lines() { consume "$1" | grep -v '^@@ ' | grep -v '^$' | sort; }
# headers TOPIC: the "@@" lines
headers() { consume "$1" | grep '^@@ '; }

# ---- 1. --once: keys, topics, formats, batches, codecs --------------------------
i=0
while [ $i -lt 30 ]; do
  echo "cpu,cpu=cpu$((i % 4)),dest=alpha,dest2=beta,host=h$((i % 3)) n=${i}i,usage=$i.5 $((1700000000000000000 + i))"
  i=$((i + 1))
done > "$work/all.lp"
echo "mem,host=h0 used=1i 1700000000000000000" >> "$work/all.lp"
sort "$work/all.lp" > "$work/all.txt"
lines=$(sed 's/.*/"&"/' "$work/all.lp" | paste -sd, -)
cat > "$work/once.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "lines"; precision = "1ns"; lines = [ $lines ]; } );
outputs = (
  { plugin = "kafka"; alias = "plain"; brokers = ["$boot"]; topic = "plain"; routing_tag = "host"; },
  { plugin = "kafka"; alias = "excl"; brokers = ["$boot"]; topic = "fallback"; topic_tag = "dest";
    exclude_topic_tag = true; routing_key = "fixed"; compression_codec = "snappy"; },
  { plugin = "kafka"; alias = "keep"; brokers = ["$boot"]; topic = "fallback"; topic_tag = "dest2";
    compression_codec = 3; },
  { plugin = "kafka"; alias = "batch"; brokers = ["$boot"]; topic = "batched"; batch_format = true;
    max_message_bytes = 300; routing_tag = "host"; compression_codec = "zstd"; },
  { plugin = "kafka"; alias = "json"; brokers = ["$boot"]; topic = "json"; data_format = "json";
    batch_format = true; max_message_bytes = 400; routing_key = "random"; compression_codec = "gzip"; }
);
CONF
"$TOWER" --config "$work/once.conf" --once >"$work/once.log" 2>&1 \
  && ok "tower --once" || fail "tower --once: $(cat "$work/once.log")"

# plain: one metric per message, key = host tag, influx
payload_lines plain > "$work/plain.txt"
cmp -s "$work/plain.txt" "$work/all.txt" && ok "plain: every metric, one per message" \
  || fail "plain: $(diff "$work/all.txt" "$work/plain.txt" | head -5)"
[ "$(headers plain | wc -l)" -eq 31 ] && ok "plain: 31 messages" || fail "plain: $(headers plain | wc -l) messages"
consume plain | awk '/^@@ /{ key = $4; next } { match($0, /host=h[0-9]/); if (substr($0, RSTART + 5, 2) != key) bad++ }
  END { exit bad > 0 }' && ok "plain: key = routing_tag value" || fail "plain: keys: $(consume plain | head -4)"

# topic_tag: dest=alpha without the tag, dest2=beta with it; mem has neither
payload_lines alpha > "$work/alpha.txt"
sed 's/,dest=alpha//' "$work/all.txt" | grep '^cpu' | sort > "$work/alpha.want"
cmp -s "$work/alpha.txt" "$work/alpha.want" && ok "topic_tag + exclude_topic_tag: tag removed, topic alpha" \
  || fail "alpha: $(diff "$work/alpha.want" "$work/alpha.txt" | head -5)"
headers alpha | awk '$4 != "fixed" { bad++ } END { exit bad > 0 }' \
  && ok "routing_key fixed" || fail "alpha keys: $(headers alpha | head -3)"
grep '^cpu' "$work/all.txt" > "$work/beta.want"
payload_lines beta | cmp -s - "$work/beta.want" && ok "topic_tag without exclude: tag kept, topic beta" \
  || fail "beta: $(payload_lines beta | head -3)"
[ "$(payload_lines fallback | uniq)" = "$(grep '^mem' "$work/all.txt")" ] \
  && [ "$(headers fallback | wc -l)" -eq 2 ] && ok "metrics without topic_tag go to topic (from both outputs)" \
  || fail "fallback: $(consume fallback)"

# batch_format: several metrics per message, each <= 300 bytes with its key
payload_lines batched | cmp -s - "$work/all.txt" && ok "batch_format: every metric once" \
  || fail "batched: $(payload_lines batched | diff "$work/all.txt" - | head -5)"
n=$(headers batched | wc -l)
[ "$n" -ge 4 ] && [ "$n" -lt 31 ] && ok "batch_format: $n messages for 31 metrics" || fail "batched: $n messages"
headers batched | awk '{ if ($5 + length($4) > 300) bad++ } END { exit bad > 0 }' \
  && ok "batch_format: every message <= max_message_bytes" || fail "batched sizes: $(headers batched)"
consume batched | awk '/^@@ /{ key = $4; next } /^$/ { next } { match($0, /host=h[0-9]/); if (substr($0, RSTART + 5, 2) != key) bad++ }
  END { exit bad > 0 }' && ok "batch_format: a message holds one key's metrics" || fail "batched keys"

# json batches: {"metrics":[...]}, random keys, each <= 400 bytes
consume json | grep -v '^@@ ' | grep -v '^$' > "$work/json.txt"
if grep -qv '^{"metrics":\[' "$work/json.txt"; then fail "json: $(head -2 "$work/json.txt")"
else ok "json batch_format: {\"metrics\":[...]}"; fi
[ "$(grep -o '"name":' "$work/json.txt" | wc -l)" -eq 31 ] && ok "json: 31 metrics" \
  || fail "json: $(grep -o '"name":' "$work/json.txt" | wc -l) metrics"
headers json | awk '{ if (length($4) != 36 || $5 + 36 > 400) bad++; if (seen[$4]++) dup++ } END { exit bad + dup > 0 }' \
  && ok "json: random UUID keys, messages <= max_message_bytes" || fail "json headers: $(headers json | head -3)"

# ---- 2. the daemon through broker outages ------------------------------------------
cat > "$work/daemon.conf" <<CONF
agent = { interval = "100ms"; flush_interval = "200ms"; metric_batch_size = 50; omit_hostname = true;
          metric_buffer_limit = 100000; retry_backoff_min = "200ms"; retry_backoff_max = "1s"; };
inputs = ( { plugin = "lines"; precision = "1ns"; lines = ["tick,src=a v=1i", "tick,src=b v=2i", "tick,src=c v=3i"]; } );
outputs = (
  { plugin = "kafka"; brokers = ["$boot"]; topic = "outage"; routing_tag = "src"; write_timeout = "3s"; },
  { plugin = "record"; path = "$work/recorded.txt"; }
);
CONF
start_tower "$work/daemon.conf" "$work/daemon.log"
# unique_in_kafka: metrics in topic outage, without duplicates
unique_in_kafka() { payload_lines outage | uniq | wc -l; }
sleep 1
kill -USR1 "$mpid"; sleep 1; kill -USR2 "$mpid"   # shorter than write_timeout
sleep 2
kill -USR1 "$mpid"; sleep 6; kill -USR2 "$mpid"   # longer than write_timeout
grep -q "were not acknowledged" "$work/daemon.log" && ok "the long outage made writes fail (retried)" \
  || fail "no failed write during the long outage: $(tail -5 "$work/daemon.log")"
# the backlog drains once the brokers are back (metrics keep coming)
backlog=$(lines "$work/recorded.txt")
wait_for 30 sh -c "[ \$(kcat -C -b '$boot' -X fetch.wait.max.ms=10 -t outage -e -q -f '%s' | sort -u | wc -l) -ge $backlog ]" \
  && ok "the backlog of $backlog metrics reached Kafka after the outage" \
  || fail "backlog not delivered: $(unique_in_kafka) of $backlog"
stop_tower TERM
[ "$trc" -eq 0 ] && ok "tower stopped cleanly with everything written" || fail "tower exit $trc: $(tail -5 "$work/daemon.log")"

sort "$work/recorded.txt" > "$work/recorded.sorted"
payload_lines outage > "$work/outage.txt"
gathered=$(lines "$work/recorded.sorted")
got=$(lines "$work/outage.txt")
sort -u "$work/outage.txt" > "$work/outage.unique"
missing=$(comm -23 "$work/recorded.sorted" "$work/outage.unique" | wc -l)
extra=$(comm -13 "$work/recorded.sorted" "$work/outage.unique" | wc -l)
dups=$((got - $(lines "$work/outage.unique")))
[ "$gathered" -gt 100 ] && ok "$gathered metrics gathered during the run" || fail "only $gathered metrics gathered"
[ "$missing" -eq 0 ] && ok "every gathered metric reached Kafka" \
  || fail "$missing metrics missing: $(comm -23 "$work/recorded.sorted" "$work/outage.unique" | head -3)"
[ "$extra" -eq 0 ] && ok "nothing in Kafka that was not gathered" || fail "$extra unknown metrics in Kafka"
# duplicates only where the plugin said an acknowledgement was lost
maybe=$(sed -n 's/.* \([0-9]*\) of the unacknowledged messages may have been written.*/\1/p' "$work/daemon.log" | awk '{ s += $1 } END { print s + 0 }')
late=$(sed -n 's/.* \([0-9]*\) messages\{0,1\} given up on by an earlier write w[a-z]* delivered after all.*/\1/p' "$work/daemon.log" | awk '{ s += $1 } END { print s + 0 }')
[ "$dups" -le $((maybe + late)) ] \
  && ok "$dups duplicates (at-least-once; $maybe reported as possibly written, $late delivered late)" \
  || fail "$dups duplicates, but only $maybe + $late reported: $(grep -E 'duplicate|possibly' "$work/daemon.log" | head -5)"
finish
