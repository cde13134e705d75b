#!/bin/sh
# examples/app-metrics.conf's alert rules: promtool checks them and runs
# their unit tests (examples/prometheus/app-metrics.rules.test.yml), and the
# series they read come out of a real tower with the example's inputs: a
# probe and a scrape of a closed port, and the lag of a consumer group on
# the mock Kafka cluster (kcat in the group). The mock cluster cannot
# describe groups, so kafka_lag_members is covered by the promtool unit
# tests alone. (That app-metrics.conf passes --config-check is
# tests/integration/examples.sh's.)
. "$top_srcdir/tests/integration/lib.sh"

PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
[ -x "$PROMTOOL" ] || { echo "FAIL: $PROMTOOL is missing: apt-get install prometheus"; exit 1; }
ex="$top_srcdir/examples/prometheus"

"$PROMTOOL" check rules "$ex/app-metrics.rules.yml" > "$work/check.out" 2>&1 \
  && ok "promtool check rules app-metrics.rules.yml" || fail "$(cat "$work/check.out")"
(cd "$ex" && "$PROMTOOL" test rules app-metrics.rules.test.yml) > "$work/test.out" 2>&1 \
  && ok "promtool test rules app-metrics.rules.test.yml" || fail "$(cat "$work/test.out")"

. "$top_srcdir/tests/kafka/lib.sh"
start_mock -b 1 -t orders:2
seq 1 10 | kcat -P -b "$B" -t orders -p 0 2> "$work/kcat.err" || fail "kcat -P: $(cat "$work/kcat.err")"
kcat -G api-billing -b "$B" -c 4 -e -q -X auto.offset.reset=earliest -X session.timeout.ms=6000 \
  orders > /dev/null 2> "$work/kcat.err" || fail "kcat -G: $(cat "$work/kcat.err")"

# a loopback port nobody listens on
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/app.conf" <<CONF
agent = { omit_hostname = true; };
inputs = (
  { plugin = "prometheus"; urls = ["http://127.0.0.1:$dead/metrics"]; metric_version = 2;
    enable_request_metrics = true; response_timeout = "2s"; },
  { plugin = "http_response"; urls = ["http://127.0.0.1:$dead/health"]; response_timeout = "2s"; },
  { plugin = "kafka_lag"; brokers = ["$B"]; consumer_groups = ["api-billing"]; topics = ["orders"]; }
);
outputs = ( { plugin = "prometheus"; listen = "127.0.0.1:0"; } );
CONF
"$TOWER" --config "$work/app.conf" --test > "$work/test.lp" 2> "$work/test.err"
for series in http_response:result_code prometheus_request:response_time kafka_lag:lag_total; do
  m=${series%%:*} f=${series#*:}
  grep -q "^$m,.* .*\\b$f=" "$work/test.lp" && ok "tower exposes ${m}_$f" \
    || fail "no ${m}_$f in: $(cut -c1-120 "$work/test.lp") $(cat "$work/test.err")"
done
grep -q '^http_response,.*result=connection_failed' "$work/test.lp" \
  && ok "the probe of a closed port: result=connection_failed" || fail "$(grep ^http_response "$work/test.lp")"
grep -q '^kafka_lag,group=api-billing,topic=orders .*lag_total=6i' "$work/test.lp" \
  && ok "lag_total of api-billing on orders: 10 produced - 4 read = 6" \
  || fail "lag: $(grep ^kafka_lag "$work/test.lp")"
finish
