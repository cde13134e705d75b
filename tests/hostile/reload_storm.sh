#!/bin/sh
# A reload storm: 200 SIGHUPs, ten a second, while metrics flow through
# every kind of input (service inputs that commit on their own threads,
# polled inputs, exec commands, a Kafka consumer on the mock cluster) into
# two outputs, one unchanged by the reloads and one changed by each.
#
# Asserts: no crash; every metric an input committed reaches the unchanged
# output (the ticker fixture writes how many it committed when it stops, to
# a ledger); the unchanged Kafka consumer is never restarted and every
# message produced during the storm arrives promptly; RSS, open files and
# threads are as stable at the end as after the first reloads.
. "$top_srcdir/tests/integration/lib.sh"

RELOADS=${RELOADS:-200}
. "$top_srcdir/tests/kafka/lib.sh"
start_mock -b 1 -t storm:3

# conf GEN: the configuration of reload GEN. Only the `gen` ticker, the
# exec input (every other reload) and the second output change.
conf() {
  g=$1 e=$(( $1 % 2 ))
  cat > "$work/storm.conf.tmp" <<CONF
agent = { interval = "100ms"; flush_interval = "200ms"; omit_hostname = true; shutdown_timeout = "5s"; };
inputs = (
  { plugin = "ticker"; period = "5ms"; label = "steady"; ledger = "$work/ledger"; },
  { plugin = "ticker"; period = "5ms"; label = "gen$g"; ledger = "$work/ledger"; },
  { plugin = "lines"; lines = ["poll v=1i"]; },
  { plugin = "exec"; commands = (["/bin/echo", "ex,e=$e v=1i"]); },
  { plugin = "internal"; },
  { plugin = "kafka_consumer"; brokers = ["$B"]; topics = ["storm"]; consumer_group = "storm";
    librdkafka = { session_timeout_ms = "6000"; }; }
);
outputs = (
  { plugin = "record"; path = "$work/a.lp"; },
  { plugin = "record"; alias = "b$g"; path = "$work/b.lp"; }
);
CONF
  mv "$work/storm.conf.tmp" "$work/storm.conf"
}

# usage: "rss_kb fds threads" of the agent. Open files are the fewest of
# ten looks 0.1 s apart: an exec command's pipes or a connection being made
# come and go, a leaked descriptor stays.
usage() {
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$tpid/status")
  thr=$(awk '/^Threads:/ { print $2 }' "/proc/$tpid/status")
  fds=
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    n=$(ls "/proc/$tpid/fd" | wc -l)
    { [ -z "$fds" ] || [ "$n" -lt "$fds" ]; } && fds=$n
    sleep 0.1
  done
  echo "$rss $fds $thr"
}
# what the agent has open, for a failure message
open_files() { for f in /proc/$tpid/fd/*; do readlink "$f"; done | sort | uniq -c | tr '\n' ';'; }

conf 0
start_tower "$work/storm.conf" "$work/storm.log"
wait_for 30 grep -q 'assigned [0-9]* partition' "$work/storm.log" \
  || fail "the consumer got no partitions: $(grep -E 'E!|W!' "$work/storm.log" | tail -3)"

# Messages keep arriving during the storm: 30 every 0.1 s while it lasts.
N=$(( RELOADS * 30 ))
seq 1 "$N" | awk '{ printf "kafka,k=m%d v=%di\n", $1, $1 }' > "$work/msgs"
( split -l 30 "$work/msgs" "$work/chunk."
  for f in "$work"/chunk.*; do kcat -P -b "$B" -t storm -l "$f" 2>>"$work/kcat.err"; sleep 0.1; done
) &
producer=$!

asan=no
grep -q libasan "/proc/$tpid/maps" 2>/dev/null && asan=yes
g=1
while [ "$g" -le "$RELOADS" ]; do
  conf "$g"
  kill -HUP "$tpid" 2>/dev/null || break
  [ "$g" = 20 ] && { sleep 1; early=$(usage); }
  sleep 0.1
  g=$((g + 1))
done
kill -0 "$tpid" 2>/dev/null && ok "alive after $RELOADS SIGHUPs" || fail "tower died during the storm: $(tail -5 "$work/storm.log")"
reloads=$(grep -c 'reloading ' "$work/storm.log")
[ "$reloads" -ge $((RELOADS / 2)) ] && ok "$reloads reloads carried out (signals that arrive during a reload coalesce)" \
  || fail "only $reloads reloads"
wait "$producer"
produced=$(date +%s%N)

distinct_kafka() { grep '^kafka,' "$work/a.lp" 2>/dev/null | sort -u | wc -l | tr -d ' '; }
has_kafka() { [ "$(distinct_kafka)" -ge "$N" ]; }
wait_for 20 has_kafka
ms=$(( ($(date +%s%N) - produced) / 1000000 ))
[ "$(distinct_kafka)" = "$N" ] && ok "all $N Kafka messages arrived, the last ${ms} ms after they were produced" \
  || fail "Kafka: $(distinct_kafka) of $N messages"
n=$(grep -c 'kafka_consumer.*assigned [0-9]* partition' "$work/storm.log")
[ "$n" = 1 ] && ok "the unchanged consumer kept its group membership (1 assignment)" \
  || fail "$n assignments: the consumer was restarted"

sleep 1
late=$(usage)
set -- $early; r1=$1 f1=$2 t1=$3
set -- $late; r2=$1 f2=$2 t2=$3
echo "usage after 20 reloads: rss ${r1} kB, $f1 fds, $t1 threads; after $RELOADS: rss ${r2} kB, $f2 fds, $t2 threads"
[ "$f2" -le "$f1" ] && ok "open files stable ($f1 -> $f2)" || fail "fds grew: $f1 -> $f2; open now: $(open_files)"
[ "$t2" -le "$t1" ] && ok "threads stable ($t1 -> $t2)" || fail "threads grew: $t1 -> $t2"


stop_tower TERM
[ "$trc" = 0 ] && ok "SIGTERM: exit 0" || fail "exit status $trc: $(tail -5 "$work/storm.log")"
grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$work/storm.log" && fail "sanitizer report"

# Every metric a ticker committed reached the unchanged output, once.
labels=$(wc -l < "$work/ledger")
missing=0
while read -r label count; do
  got=$(grep "^tick,label=$label " "$work/a.lp" | sed 's/.*seq=\([0-9]*\)i.*/\1/' | sort -un | wc -l)
  [ "$got" = "$count" ] || { missing=$((missing + 1)); echo "  $label: committed $count, arrived $got"; }
done < "$work/ledger"
[ "$missing" = 0 ] && ok "every metric of $labels ticker instances arrived ($(grep -c '^tick,' "$work/a.lp") metrics)" \
  || fail "$missing ticker instances lost metrics"
finish
