#!/bin/sh
# Poison data for glob matching from Kafka: a message whose tag value is
# 100 kB of 'a', under a `tagdrop` of `*a*a*b` that a backtracking matcher
# cannot finish (the consumer stalled on it, its offset was never committed,
# and every restart stalled again). The Kafka cluster is tests/kafka/
# mock_kafka (librdkafka's mock cluster, a real protocol peer), messages
# are produced with kcat and consumed by inputs.kafka_consumer in the real
# tower daemon:
#   1. the messages before the poison one, the poison one (kept: it does
#      not match), its twin ending in 'b' (dropped) and those after it all
#      arrive within seconds, each once;
#   2. a restart with the same group consumes only what was produced since:
#      the offsets of the poison messages were committed.
# Nothing is skipped: a missing kcat or mock cluster is a failure.
. "$top_srcdir/tests/integration/lib.sh"

. "$top_srcdir/tests/kafka/lib.sh"
"$TOWER" plugins 2>/dev/null | grep -q '^input  *kafka_consumer ' \
  || { echo "FAIL: inputs.kafka_consumer is not built (tower plugins does not list it)"; exit 1; }

# One partition, so that the messages after the poison one queue behind it.
start_mock -b 1 -t poison:1

produce() {
  kcat -P -b "$B" -t poison "$@" 2> "$work/kcat.err" || fail "kcat -P $*: $(cat "$work/kcat.err")"
}
# lp FROM TO PREFIX: line protocol messages m,k=<PREFIX><i> v=<i>i
lp() { seq "$1" "$2" | awk -v p="$3" '{ printf "m,k=%s%d v=%di 1700000000%09d\n", p, $1, $1, $1 }'; }

lp 1 50 before > "$work/before.txt"
awk -v w="$work" 'BEGIN { a = "a"; while (length(a) < 100000) a = a a; a = substr(a, 1, 100000)
  printf "m,k=%s v=1000i 1700000000000001000\n", a > (w "/poison.msg")
  printf "m,k=%sb v=1001i 1700000000000001001\n", a > (w "/poison_b.msg") }'
lp 51 100 after > "$work/after.txt"
produce -l "$work/before.txt"
produce "$work/poison.msg" "$work/poison_b.msg"
produce -l "$work/after.txt"

cat > "$work/p.conf" <<CONF
agent = { interval = "1s"; flush_interval = "100ms"; omit_hostname = true; shutdown_timeout = "5s"; };
inputs = ( { plugin = "kafka_consumer"; brokers = ["$B"]; consumer_group = "poison";
             topics = ["poison"]; librdkafka = { session_timeout_ms = "6000"; };
             tagdrop = { k = ["*a*a*b"]; }; } );
outputs = ( { plugin = "record"; path = "$work/p.lp"; } );
CONF
# gone PID: the process has exited (a zombie counts: it waits to be reaped)
gone() { st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null); [ -z "$st" ] || [ "$st" = Z ]; }
# stop_bounded: stop_bounded, but a daemon stalled in a match ignores
# SIGTERM: after 20 s it fails the test and gets SIGKILL.
stop_bounded() {
  t0=$(date +%s%N)
  kill -TERM "$tpid"
  wait_for 20 gone "$tpid" || { fail "tower still runs 20 s after SIGTERM (stalled)"; kill -9 "$tpid"; }
  wait "$tpid"
  trc=$?
  tsecs=$(( ($(date +%s%N) - t0) / 1000000 ))
}
wait_assigned() {
  wait_for 30 sh -c "grep -q 'assigned [0-9]* partition' '$1'" \
    || fail "no partition assignment after 30 s: $(grep -E 'E!|W!' "$1" | tail -5)"
}

# ---- 1. everything arrives promptly, the twin is dropped -----------------
start_tower "$work/p.conf" "$work/p1.log"
wait_assigned "$work/p1.log"
t0=$(date +%s%N)
wait_for 30 has_lines "$work/p.lp" 101
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
n=$(lines "$work/p.lp")
[ "$n" -ge 101 ] && [ "$ms" -lt 20000 ] && ok "101 metrics arrived $ms ms after the assignment" \
  || fail "$n of 101 metrics after $ms ms"
sleep 0.5
stop_bounded
[ "$trc" = 0 ] && ok "stopped cleanly in $tsecs ms" || fail "exit $trc: $(tail -5 "$work/p1.log")"
n=$(lines "$work/p.lp"); d=$(sort -u "$work/p.lp" | wc -l | tr -d ' ')
[ "$n" = 101 ] && [ "$d" = 101 ] && ok "101 metrics from 102 messages, each once" || fail "$n lines, $d distinct"
awk 'length($0) > 100000 && /^m,k=a+ v=1000i 1700000000000001000$/ { c++ } END { exit c != 1 }' "$work/p.lp" \
  && ok "the poison message arrived whole (its 100 kB tag does not match *a*a*b)" \
  || fail "the poison message is missing or cut"
grep -q 'v=1001i' "$work/p.lp" && fail "the twin ending in b passed the tagdrop" \
  || ok "the twin ending in b was dropped by tagdrop *a*a*b"
missing=$(lp 51 100 after | cut -d' ' -f1-2 | while read -r k v; do
  grep -q "^$k $v " "$work/p.lp" || echo "$k"; done | wc -l)
[ "$missing" = 0 ] && ok "the 50 messages after the poison one arrived" || fail "$missing of them missing"
grep -q 'stopped after 102 messages' "$work/p1.log" && ok "102 messages consumed" \
  || fail "$(grep stopped "$work/p1.log")"

# ---- 2. restart: the poison offsets were committed -----------------------
lp 101 105 later > "$work/later.txt"
produce -l "$work/later.txt"
start_tower "$work/p.conf" "$work/p2.log"
wait_assigned "$work/p2.log"
wait_for 30 has_lines "$work/p.lp" 106 || fail "after the restart: $(lines "$work/p.lp") of 106"
sleep 1
stop_bounded
grep -q 'stopped after 5 messages' "$work/p2.log" \
  && ok "the restart consumed only the 5 new messages: the poison ones were committed" \
  || fail "restart: $(grep stopped "$work/p2.log")"
[ "$(lines "$work/p.lp")" = 106 ] && ok "106 metrics in all, none twice" || fail "$(lines "$work/p.lp") lines"

finish
