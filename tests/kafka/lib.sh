# The mock Kafka cluster for integration scripts (sourced after
# tests/integration/lib.sh): librdkafka's mock cluster (tests/kafka/mock_kafka),
# a real Kafka protocol peer, and kcat to produce and consume.

MOCK="$top_builddir/tests/kafka/mock_kafka"

# start_mock [MOCK-ARGS...] (-b BROKERS, -t TOPIC:PARTITIONS...): starts the
# cluster with its command pipe on fd 9 (see mock_command), and sets $B (the
# bootstrap list) and $mpid. Nothing is skipped: a missing mock_kafka or
# kcat fails the script.
start_mock() {
  [ -x "$MOCK" ] || { echo "FAIL: $MOCK is missing (make check builds it from tests/kafka/mock_kafka.c; needs librdkafka-dev)"; exit 1; }
  command -v kcat >/dev/null 2>&1 \
    || { echo "FAIL: kcat is missing: apt-get install kcat (scripts/test installs it)"; exit 1; }
  mkfifo "$work/mock.in"
  "$MOCK" "$@" -f "$work/bootstrap" < "$work/mock.in" > "$work/mock.out" 2> "$work/mock.err" &
  mpid=$!
  pids="$pids $mpid"
  exec 9> "$work/mock.in"
  # Each topic and partition leader the mock cluster sets up is a round trip
  # to its thread, which now and then answers a second late: on a loaded
  # machine, a cluster with many partitions takes several seconds.
  wait_for 60 test -s "$work/bootstrap" \
    || { echo "FAIL: mock_kafka did not start within 60 s: $(cat "$work/mock.err")"; exit 1; }
  B=$(cat "$work/bootstrap")
  ok "mock cluster on $B"
}

# mock_command COMMAND: one command to the cluster ("down 2", "up 2"...).
# mock_kafka reads its stdin with stdio behind select(), so lines written
# together may wait in its buffer: one line at a time, with a pause.
mock_command() { echo "$*" >&9; sleep 0.3; }
