#!/bin/sh
# inputs.kafka_lag end to end: a Kafka cluster (tests/kafka/mock_kafka,
# librdkafka's mock cluster), messages produced with kcat, a consumer group
# that is kcat itself (-G, a balanced consumer that commits what it read),
# and the real tower daemon (--test) measuring the group's lag.
#
#   1. 3 partitions of 10 messages each, the group reads 12 of them: per
#      partition, committed_offset is what kcat says it read there (its
#      last offset + 1), log_end_offset is 10, lag is the difference; the
#      topic's lag_total is the sum (30 - 12 when the group read from every
#      partition; a partition it never read from has no committed offset,
#      so no metric, and does not count);
#   2. the group reads 9 more, 6 messages are produced to partition 0: the
#      lag follows;
#   3. a glob in consumer_groups: the mock cluster answers no ListGroups,
#      and the error says to name the groups.
# librdkafka 2.0's mock cluster answers neither ListGroups nor
# DescribeGroups: groups are named here and the state and members fields
# are not checked (test_kafka_lag.c checks the warning that says so).
# Nothing is skipped: a missing kcat or mock cluster is a failure.
. "$top_srcdir/tests/integration/lib.sh"

. "$top_srcdir/tests/kafka/lib.sh"
"$TOWER" plugins 2>/dev/null | grep -q '^input  *kafka_lag ' \
  || { echo "FAIL: inputs.kafka_lag is not built (tower plugins does not list it)"; exit 1; }

start_mock -b 2 -t orders:3

for p in 0 1 2; do
  seq 1 10 | kcat -P -b "$B" -t orders -p "$p" 2> "$work/kcat.err" \
    || fail "kcat -P -p $p: $(cat "$work/kcat.err")"
done

# consume N: the group `billing` reads N more messages (kcat in the group,
# committing on exit); appends "partition offset" per message to read.txt.
consume() {
  kcat -G billing -b "$B" -c "$1" -e -q -f '%p %o\n' -X auto.offset.reset=earliest \
    -X session.timeout.ms=6000 orders >> "$work/read.txt" 2> "$work/kcat.err" \
    || fail "kcat -G billing -c $1: $(cat "$work/kcat.err")"
}

cat > "$work/lag.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "kafka_lag"; brokers = ["$B"]; consumer_groups = ["billing"];
             topics = ["orders"]; } );
outputs = ( { plugin = "record"; path = "/dev/null"; } );
CONF

# gather: one --test run, its line protocol in lag.out
gather() {
  "$TOWER" --config "$work/lag.conf" --test > "$work/lag.out" 2> "$work/lag.err" \
    || fail "tower --test: $(cat "$work/lag.err")"
}
# field TAGS KEY: integer field KEY of the metric whose tags (after group)
# are TAGS: "partition=0,topic=orders", or "topic=orders" for the topic's
field() {
  grep "^kafka_lag,group=billing,$1 " "$work/lag.out" | sed -n "s/.*[ ,]$2=\([0-9]*\)i.*/\1/p"
}
# read_up_to P: the offset after the last message the group read on P
# (0: none read there)
read_up_to() { awk -v p="$1" '$1 == p && $2 + 1 > m { m = $2 + 1 } END { print m + 0 }' "$work/read.txt"; }

# check_partitions END0: every partition's fields against kcat's view
# (partition 0 ends at END0, the others at 10). A partition on which the
# group read nothing has no committed offset, hence no metric.
check_partitions() {
  total=0 committed_on=0
  for p in 0 1 2; do
    end=10; [ "$p" = 0 ] && end=$1
    c=$(read_up_to "$p")
    tags="partition=$p,topic=orders"
    got="$(field "$tags" committed_offset) $(field "$tags" log_end_offset) $(field "$tags" lag)"
    if [ "$c" = 0 ]; then
      want="  "
    else
      want="$c $end $((end - c))"
      total=$((total + end - c)) committed_on=$((committed_on + 1))
    fi
    [ "$got" = "$want" ] && ok "orders[$p]: read up to $c; committed, end, lag = '$got'" \
      || fail "orders[$p]: committed, end, lag = '$got', want '$want': $(cat "$work/lag.out")"
  done
  got="$(field topic=orders lag_total) $(field topic=orders partitions)"
  [ "$got" = "$total $committed_on" ] && ok "lag_total $total over $committed_on partitions" \
    || fail "lag_total, partitions = $got, want $total $committed_on: $(cat "$work/lag.out")"
}

# ---- 1. the group read 12 of 30 ------------------------------------------
: > "$work/read.txt"
consume 12
[ "$(lines "$work/read.txt")" = 12 ] || fail "kcat read $(lines "$work/read.txt") of 12"
gather
check_partitions 10

# ---- 2. it reads 9 more, 6 more are produced ------------------------------
consume 9
[ "$(lines "$work/read.txt")" = 21 ] || fail "kcat read $(lines "$work/read.txt") of 21"
seq 11 16 | kcat -P -b "$B" -t orders -p 0 2> "$work/kcat.err" \
  || fail "kcat -P -p 0: $(cat "$work/kcat.err")"
gather
check_partitions 16

# ---- 3. a glob, which needs ListGroups -----------------------------------
sed 's/consumer_groups = \["billing"\]/consumer_groups = ["bill*"]/' "$work/lag.conf" > "$work/glob.conf"
"$TOWER" --config "$work/glob.conf" --test > "$work/glob.out" 2> "$work/glob.err"
grep -q 'cannot list the consumer groups.*name the groups in consumer_groups' "$work/glob.err" \
  && ok "a glob without ListGroups: the error says to name the groups" \
  || fail "glob: $(cat "$work/glob.err")"

finish
