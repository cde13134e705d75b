#!/bin/sh
# inputs.kafka_consumer end to end: a Kafka cluster (tests/kafka/mock_kafka,
# librdkafka's mock cluster: a real protocol peer with consumer groups and
# committed offsets), messages produced with kcat, the real tower daemon
# consuming them into the `record` fixture output (line protocol files).
#
#   1. influx data, topic_tag, a malformed message and a partly malformed
#      one (logged with topic, partition, offset, line and column), an
#      oversized one (max_message_len): the good metrics all arrive, once;
#   2. SIGTERM and restart with the same group: nothing consumed twice, the
#      messages produced meanwhile arrive;
#   3. json data, offset newest vs oldest, three instances with their own
#      groups in one agent;
#   4. a dead output stalls consumption at max_undelivered_messages with
#      nothing committed, and stop says so; an output that fails its first
#      writes gets everything, then it is committed (a restart reads only
#      new messages); SIGKILL while a slow output writes: the restart reads
#      again what it had not written;
#   5. brokers down and up again: nothing lost, stop stays bounded;
#   6. SIGKILL mid-stream and restart: every message arrives, duplicates
#      are counted and reported;
#   7. tower --test and --once acknowledge nothing: run twice, they see the
#      same messages, and the real agent afterwards gets them all.
# Nothing is skipped: a missing kcat or mock cluster is a failure.
. "$top_srcdir/tests/integration/lib.sh"

. "$top_srcdir/tests/kafka/lib.sh"
"$TOWER" plugins 2>/dev/null | grep -q '^input  *kafka_consumer ' \
  || { echo "FAIL: inputs.kafka_consumer is not built (tower plugins does not list it)"; exit 1; }

# ---- the cluster: three brokers; commands (rtt) through a fifo on stdin.
start_mock -b 3 -t metrics:4 -t json:2 -t json2:1 -t newest:2 -t slow:4 -t slowk:2 -t down:2 -t kill:4 \
  -t trial:2


# produce TOPIC KCAT-ARGS...: -l FILE (a message per line) or FILE... (one each)
produce() {
  t=$1; shift
  kcat -P -b "$B" -t "$t" "$@" 2> "$work/kcat.err" || fail "kcat -P -t $t $*: $(cat "$work/kcat.err")"
}
# lp FROM TO PREFIX: line protocol messages m,k=<PREFIX><i> v=<i>i <ts>
lp() { seq "$1" "$2" | awk -v p="$3" '{ printf "m,k=%s%d v=%di 1700000000%09d\n", p, $1, $1, $1 }'; }

# kin GROUP TOPICS EXTRA [LIBRDKAFKA]: one kafka_consumer block. The short
# session timeout lets the mock cluster rebalance quickly after a SIGKILL.
kin() {
  echo "{ plugin = \"kafka_consumer\"; brokers = [\"$B\"]; consumer_group = \"$1\"; topics = [$2];
      librdkafka = { session_timeout_ms = \"6000\"; ${4:-} }; $3 }"
}
# kconf FILE INPUTS OUTPUTS [AGENT-EXTRA]
kconf() {
  cat > "$1" <<CONF
agent = { interval = "1s"; flush_interval = "100ms"; omit_hostname = true; shutdown_timeout = "5s"; ${4:-} };
inputs = ( $2 );
outputs = ( $3 );
CONF
}
# wait_assigned LOG N: N partition assignments logged
wait_assigned() {
  wait_for 30 sh -c "[ \$(grep -c 'assigned [0-9]* partition' '$1') -ge $2 ]" \
    || fail "no partition assignment after 30 s: $(grep -E 'E!|W!' "$1" | tail -5)"
}
# distinct FILE: distinct lines
distinct() { if [ -f "$1" ]; then sort -u "$1" | wc -l | tr -d ' '; else echo 0; fi; }
has_distinct() { [ "$(distinct "$1")" -ge "$2" ]; }

# ---- 1. influx, topic_tag, bad and oversized messages --------------------
lp 1 200 k > "$work/m1.txt"
produce metrics -l "$work/m1.txt"
printf 'this is not line protocol\n' > "$work/bad.msg"
printf 'm,k=p1 v=1i 1700000000000000999\nm,k=p2 v= 1700000000000000999\n' > "$work/partial.msg"
awk 'BEGIN { s = ""; for (i = 0; i < 3000; i++) s = s "x"; printf "m,k=big s=\"%s\"\n", s }' > "$work/big.msg"
produce metrics "$work/bad.msg" "$work/partial.msg" "$work/big.msg"
kconf "$work/a.conf" "$(kin ga '"metrics"' 'topic_tag = "topic"; max_message_len = "2kB";')" \
  "{ plugin = \"record\"; path = \"$work/a.lp\"; }"
start_tower "$work/a.conf" "$work/a1.log"
wait_assigned "$work/a1.log" 1
wait_for 20 has_lines "$work/a.lp" 201 || fail "only $(lines "$work/a.lp") of 201 metrics arrived"
sleep 0.5
stop_tower TERM
[ "$trc" = 0 ] && ok "stopped cleanly (SIGTERM)" || fail "exit $trc: $(cat "$work/a1.log")"
n=$(lines "$work/a.lp"); d=$(distinct "$work/a.lp")
[ "$n" = 201 ] && [ "$d" = 201 ] && ok "201 metrics from 203 messages, each once" || fail "$n lines, $d distinct"
missing=$(lp 1 200 k | awk '{ print $1 }' | sed 's/$/,topic=metrics/' | while read -r k; do
  grep -q "^$k v=" "$work/a.lp" || echo "$k"; done | wc -l)
[ "$missing" = 0 ] && ok "every produced metric arrived with topic=metrics" || fail "$missing metrics missing"
grep -q '^m,k=k7,topic=metrics v=7i 1700000000000000007$' "$work/a.lp" \
  && ok "content and timestamp kept: $(grep '^m,k=k7,' "$work/a.lp")" || fail "k7: $(grep 'k=k7,' "$work/a.lp")"
grep -q '^m,k=p1,topic=metrics v=1i 1700000000000000999$' "$work/a.lp" \
  && ok "good line of a partly malformed message kept" || fail "p1 missing"
grep -q 'k=p2\|k=big' "$work/a.lp" && fail "a bad or oversized metric arrived" || ok "bad and oversized metrics skipped"
re='influx parse error in topic metrics partition [0-3] offset [0-9]* at line 1, column [0-9]*: '
grep -q "$re" "$work/a1.log" && ok "bad message logged: $(grep -o "$re.*" "$work/a1.log" | head -1)" \
  || fail "no parse error with topic/partition/offset/line/column: $(grep E! "$work/a1.log")"
re='influx parse error in topic metrics partition [0-3] offset [0-9]* at line 2, column [0-9]*'
grep -q "$re" "$work/a1.log" && ok "partly bad message logged at line 2" || fail "no line 2 error"
grep -q 'offset [0-9]*: 1 influx parse error, the bad part skipped (1 metric kept)' "$work/a1.log" \
  && ok "partial message summarized" || fail "no summary: $(grep E! "$work/a1.log")"
grep -q 'offset [0-9]*: message of 30[0-9][0-9] bytes is longer than max_message_len (2000); skipped' "$work/a1.log" \
  && ok "oversized message logged and skipped" || fail "oversize not logged: $(grep E! "$work/a1.log")"
grep -q 'stopped after 203 messages, 201 metrics, 2 messages skipped' "$work/a1.log" \
  && ok "stop reports 203 messages, 201 metrics, 2 skipped" || fail "stop line: $(grep stopped "$work/a1.log")"

# ---- 2. restart with the same group: nothing twice, new messages arrive --
lp 201 250 k > "$work/m2.txt"
produce metrics -l "$work/m2.txt"
start_tower "$work/a.conf" "$work/a2.log"
wait_assigned "$work/a2.log" 1
wait_for 20 has_lines "$work/a.lp" 251 || fail "only $(lines "$work/a.lp") of 251 after the restart"
sleep 1
stop_tower TERM
n=$(lines "$work/a.lp"); dups=$(sort "$work/a.lp" | uniq -d | wc -l)
[ "$n" = 251 ] && [ "$dups" = 0 ] && ok "restart: the 50 new metrics arrived, none consumed twice" \
  || fail "restart: $n lines, $dups duplicated"
grep -q 'stopped after 50 messages' "$work/a2.log" && ok "second run consumed exactly 50 messages" \
  || fail "second run: $(grep stopped "$work/a2.log")"

# ---- 3. json, offset newest vs oldest, three instances and groups --------
printf '{"host":"h1","temp":21.5,"time":1700000000}' > "$work/j1.msg"
printf '[{"host":"h2","temp":1},{"host":"h3","temp":2}]' > "$work/j2.msg"
printf '{"host": broken' > "$work/j3.msg"
produce json "$work/j1.msg" "$work/j3.msg"
produce json2 "$work/j2.msg"
lp 1 5 old > "$work/old.txt"
produce newest -l "$work/old.txt"
jt0=$(date +%s%N)
kconf "$work/j.conf" "$(kin gj '"json"' 'alias = "json"; data_format = "json"; tag_keys = ["host"];
    json_time_key = "time"; json_time_format = "unix"; topic_tag = "kafka_topic";'),
  $(kin gj2 '"json2"' 'alias = "json2"; data_format = "json"; tag_keys = ["host"]; topic_tag = "kafka_topic";'),
  $(kin gnew '"newest"' 'alias = "new"; offset = "newest"; tags = { via = "new"; };'),
  $(kin gold '"newest"' 'alias = "old"; offset = "oldest"; tags = { via = "old"; };')" \
  "{ plugin = \"record\"; path = \"$work/j.lp\"; }"
start_tower "$work/j.conf" "$work/j.log"
wait_assigned "$work/j.log" 4
# offset newest starts at the end of the log as it is when the fetcher
# starts, a moment after the assignment: probe until a message comes through.
probe() { printf 'probe v=1i\n' > "$work/probe.msg"; produce newest "$work/probe.msg"; sleep 0.3;
  grep -q '^probe,via=new' "$work/j.lp" 2>/dev/null; }
wait_for 20 probe || fail "offset newest: no probe message arrived"
lp 1 5 new > "$work/new.txt"
produce newest -l "$work/new.txt"
wait_for 20 sh -c "[ \$(grep -vc '^probe' '$work/j.lp') -ge 18 ]" \
  || fail "json/newest: $(grep -vc '^probe' "$work/j.lp") of 18 lines"
sleep 0.5
stop_tower TERM
jt1=$(date +%s%N)
grep -q '^kafka_consumer,host=h1,kafka_topic=json temp=21.5 1700000000000000000$' "$work/j.lp" \
  && ok "json: tags, field and time key" || fail "json h1: $(grep h1 "$work/j.lp")"
ts=$(sed -n 's/^kafka_consumer,host=h2,kafka_topic=json2 temp=1 \([0-9]*\)$/\1/p' "$work/j.lp")
[ -n "$ts" ] && [ "$ts" -ge "$jt0" ] && [ "$ts" -le "$jt1" ] && ok "json without a time: stamped on receipt" \
  || fail "json h2 time '$ts' not in [$jt0, $jt1]: $(grep h2 "$work/j.lp")"
grep -q '^kafka_consumer,host=h3,' "$work/j.lp" && ok "json array: one metric per object" || fail "h3 missing"
grep -q 'json parse error in topic json partition [01] offset [0-9]* at line 1, column [0-9]*' "$work/j.log" \
  && ok "malformed json logged with topic/partition/offset/line/column" || fail "json error: $(grep E! "$work/j.log")"
nn=$(grep -v '^probe' "$work/j.lp" | grep -c 'via=new'); no=$(grep 'via=new' "$work/j.lp" | grep -c 'k=old')
[ "$nn" = 5 ] && [ "$no" = 0 ] && ok "offset newest: only the 5 messages produced after the assignment" \
  || fail "offset newest: $nn metrics, $no old ones"
[ "$(grep -v '^probe' "$work/j.lp" | grep -c 'via=old')" = 10 ] \
  && ok "offset oldest: all 10 messages (second group, same topic)" \
  || fail "offset oldest: $(grep -c 'via=old' "$work/j.lp") metrics"

# ---- 4. offsets follow the writes: a dead output stalls consumption at
#         max_undelivered_messages, an output that comes back gets it all,
#         a slow output's unwritten metrics survive a SIGKILL
lp 1 2000 s > "$work/s.txt"
sed -i 's/^m,/s,/' "$work/s.txt"
produce slow -l "$work/s.txt"
kconf "$work/s.conf" "$(kin gs '"slow"' 'max_undelivered_messages = 100;'), { plugin = \"internal\"; }" \
  "{ plugin = \"record\"; alias = \"fast\"; path = \"$work/fast.lp\"; namepass = [\"s\"]; },
   { plugin = \"record\"; alias = \"dead\"; path = \"$work/dead.lp\"; namepass = [\"s\"];
     fail_writes = -1; metric_buffer_limit = 100000; },
   { plugin = \"record\"; alias = \"stats\"; path = \"$work/stats.lp\"; namepass = [\"internal_*\"]; }" \
  'retry_backoff_min = "500ms"; retry_backoff_max = "1s";'
start_tower "$work/s.conf" "$work/s1.log"
wait_assigned "$work/s1.log" 1
wait_for 20 has_lines "$work/fast.lp" 100 || fail "fast output: $(lines "$work/fast.lp") of 100"
gathered() { grep '^internal_gather,input=kafka_consumer ' "$work/stats.lp" | tail -1 | sed 's/.*metrics_gathered=\([0-9]*\)u.*/\1/'; }
sleep 2 # four times what a full window waits before it pauses
wait_for 5 sh -c "grep -q '^internal_gather,input=kafka_consumer .*metrics_gathered=100u' '$work/stats.lp'"
[ "$(lines "$work/fast.lp")" = 100 ] && [ "$(gathered)" = 100 ] \
  && ok "a dead output stalls consumption at max_undelivered_messages: 100 of 2000 read, the fast output has those 100" \
  || fail "with a dead output: $(lines "$work/fast.lp") metrics written, $(gathered) gathered (want 100)"
[ "$(lines "$work/dead.lp")" = 0 ] && ok "dead output wrote nothing" || fail "dead output wrote"
stop_tower TERM
grep -q '100 messages not yet written by the outputs after 3 s; their offsets are not committed' "$work/s1.log" \
  && ok "stop waited for the dead output, then said the 100 are consumed again" \
  || fail "stop: $(grep -E 'W!|E!' "$work/s1.log" | grep kafka | tail -3)"
[ "$tsecs" -lt 5000 ] && ok "stop with a dead output took ${tsecs} ms (bounded)" || fail "stop took ${tsecs} ms"
# The same group with an output whose first 5 writes fail: it comes back,
# and gets all 2000 (the 100 of the first run were never committed).
kconf "$work/s2.conf" "$(kin gs '"slow"' 'max_undelivered_messages = 100;')" \
  "{ plugin = \"record\"; path = \"$work/back.lp\"; fail_writes = 5; }" \
  'retry_backoff_min = "200ms"; retry_backoff_max = "400ms";'
start_tower "$work/s2.conf" "$work/s2.log"
wait_assigned "$work/s2.log" 1
wait_for 60 has_distinct "$work/back.lp" 2000 \
  && ok "an output back after 5 failed writes got all 2000, the 100 read before the stop included" \
  || fail "output back: $(distinct "$work/back.lp") of 2000"
grep -q 'failing as configured' "$work/s2.log" && ok "its first writes failed" || fail "no failed write"
stop_tower TERM
lp 2001 2020 s | sed 's/^m,/s,/' > "$work/s3.txt"
produce slow -l "$work/s3.txt"
kconf "$work/s3.conf" "$(kin gs '"slow"' '')" "{ plugin = \"record\"; path = \"$work/after.lp\"; }"
start_tower "$work/s3.conf" "$work/s3.log"
wait_assigned "$work/s3.log" 1
wait_for 20 has_lines "$work/after.lp" 20
sleep 1
stop_tower TERM
n=$(lines "$work/after.lp")
[ "$n" = 20 ] && ! grep -q 'k=s2000 ' "$work/after.lp" \
  && ok "once written, the 2000 were committed: the restart got only the 20 new messages" \
  || fail "restart after the outage: $n metrics"
# A slow output (1 s per write of 100): SIGKILL after two writes; the
# restart consumes again everything it had not written.
lp 1 1000 w | sed 's/^m,/w,/' > "$work/w.txt"
produce slowk -l "$work/w.txt"
kconf "$work/w.conf" "$(kin gw '"slowk"' '')" \
  "{ plugin = \"record\"; path = \"$work/slowout.lp\"; delay = \"1s\"; metric_batch_size = 100; }"
start_tower "$work/w.conf" "$work/w1.log"
wait_assigned "$work/w1.log" 1
wait_for 20 has_lines "$work/slowout.lp" 200 || fail "slow output: $(lines "$work/slowout.lp") written"
kill -KILL "$tpid"
wait "$tpid" 2>/dev/null
n1=$(lines "$work/slowout.lp")
kconf "$work/w2.conf" "$(kin gw '"slowk"' '')" "{ plugin = \"record\"; path = \"$work/slowout.lp\"; }"
start_tower "$work/w2.conf" "$work/w2.log"
wait_assigned "$work/w2.log" 1
wait_for 30 has_distinct "$work/slowout.lp" 1000
stop_tower TERM
[ "$(distinct "$work/slowout.lp")" = 1000 ] && [ "$n1" -lt 1000 ] \
  && ok "SIGKILL while a slow output had written $n1 of 1000: after the restart all 1000 are there" \
  || fail "slow output and SIGKILL: $(distinct "$work/slowout.lp") of 1000 ($n1 before the kill)"

# ---- 5. brokers down and up: nothing lost; stop stays bounded ------------
lp 1 100 d > "$work/d1.txt"
produce down -l "$work/d1.txt"
kconf "$work/d.conf" "$(kin gd '"down"' '')" "{ plugin = \"record\"; path = \"$work/down.lp\"; }"
start_tower "$work/d.conf" "$work/d.log"
wait_assigned "$work/d.log" 1
wait_for 20 has_lines "$work/down.lp" 100 || fail "before the outage: $(lines "$work/down.lp")"
kill -USR1 "$mpid"
sleep 3
kill -0 "$tpid" && ok "tower keeps running while every broker is down" || fail "tower died"
kill -USR2 "$mpid"
lp 101 200 d > "$work/d2.txt"
produce down -l "$work/d2.txt"
wait_for 30 has_distinct "$work/down.lp" 200 && ok "messages produced after the outage arrive" \
  || fail "after the outage: $(lines "$work/down.lp") of 200"
kill -USR1 "$mpid"
sleep 1
stop_tower TERM
kill -USR2 "$mpid"
[ "$tsecs" -lt 6000 ] && ok "stop with the brokers down took ${tsecs} ms (bounded)" || fail "stop took ${tsecs} ms"
[ "$(distinct "$work/down.lp")" = 200 ] && ok "200 distinct metrics across the outage" \
  || fail "$(distinct "$work/down.lp") distinct"

# ---- 6. SIGKILL mid-stream, restart: every message arrives ---------------
total=20000
lp 1 $total x > "$work/x.txt"
# Small record batches and fetches, 50 ms per broker round trip: the
# stream takes several seconds, so the kill lands in its middle, after a
# few auto commits. The output writes every metric at once
# (metric_batch_size = 1), so that what the kill takes is messages
# consumed since the last commit, not metrics accepted but not written.
produce kill -X batch.num.messages=20 -l "$work/x.txt"
for b in 1 2 3; do mock_command "rtt $b 50"; done
kconf "$work/x.conf" "$(kin gx '"kill"' '' 'fetch_message_max_bytes = "500";')" \
  "{ plugin = \"record\"; path = \"$work/x.lp\"; metric_batch_size = 1; metric_buffer_limit = 100000; }"
start_tower "$work/x.conf" "$work/x1.log"
wait_assigned "$work/x1.log" 1
wait_for 60 has_lines "$work/x.lp" 6000 || fail "only $(lines "$work/x.lp") before the kill"
kill -KILL "$tpid"
wait "$tpid" 2>/dev/null
n1=$(lines "$work/x.lp")
[ "$n1" -lt "$total" ] && ok "SIGKILL after $n1 of $total messages" || fail "the kill came too late ($n1 lines)"
for b in 1 2 3; do mock_command "rtt $b 0"; done
start_tower "$work/x.conf" "$work/x2.log"
wait_assigned "$work/x2.log" 1
wait_for 60 has_distinct "$work/x.lp" $total
sleep 1
stop_tower TERM
d=$(distinct "$work/x.lp"); n=$(lines "$work/x.lp"); dups=$((n - d))
[ "$d" = "$total" ] && ok "after SIGKILL and restart all $total messages arrived ($dups duplicate(s))" \
  || fail "after SIGKILL: $d of $total distinct, $dups duplicates"
again=$(sed -n 's/.*stopped after \([0-9]*\) message.*/\1/p' "$work/x2.log")
[ -n "$again" ] && [ "$again" -lt "$total" ] \
  && ok "the restart resumed from committed offsets: consumed $again, not all $total" \
  || fail "restart consumed '$again' messages"

[ -n "${KC_KEEP:-}" ] && cp -r "$work" "$KC_KEEP"
# ---- 7. --test and --once commit no offset ---------------------------------
lp 1 10 t > "$work/t1.txt"
produce trial -l "$work/t1.txt"
kconf "$work/t.conf" "$(kin gt '"trial"' '')" "{ plugin = \"record\"; path = \"$work/trial.lp\"; }"
for run in 1 2; do
  "$TOWER" --config "$work/t.conf" --test --test-wait 8s > "$work/t$run.out" 2> "$work/t$run.err"
  n=$(grep -c '^m,k=t' "$work/t$run.out")
  [ "$n" = 10 ] && ok "--test run $run printed all 10 messages" \
    || fail "--test run $run printed $n of 10: $(grep -E 'E!|W!' "$work/t$run.err" | tail -3)"
done
"$TOWER" --config "$work/t.conf" --once --test-wait 8s > "$work/t3.err" 2>&1
[ "$(grep -c '^m,k=t' "$work/trial.lp")" = 10 ] && ok "--once wrote the 10 messages" \
  || fail "--once wrote $(lines "$work/trial.lp"): $(grep -E 'E!|W!' "$work/t3.err" | tail -3)"
start_tower "$work/t.conf" "$work/t4.log"
wait_for 20 sh -c "[ \$(grep -c '^m,k=t' '$work/trial.lp') -ge 20 ]" \
  && ok "after the trial runs the agent still consumed all 10 messages" \
  || fail "the agent got $(grep -c '^m,k=t' "$work/trial.lp") lines (10 from --once + 10 expected)"
stop_tower TERM

finish
