#!/bin/sh
# The Prometheus examples: the scrape config and the alert rules pass
# promtool, and examples/scripts-to-prometheus.conf passes --config-check.
# promtool comes with the Debian package prometheus (scripts/test installs
# it): missing, it is a failure, not a skip.
. "$top_srcdir/tests/integration/lib.sh"

PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
[ -x "$PROMTOOL" ] || { echo "FAIL: $PROMTOOL is missing: apt-get install prometheus"; exit 1; }
ex="$top_srcdir/examples"

"$PROMTOOL" check config "$ex/prometheus/prometheus.yml" >"$work/config.out" 2>&1 \
  && ok "promtool check config examples/prometheus/prometheus.yml" \
  || fail "prometheus.yml: $(cat "$work/config.out")"
"$PROMTOOL" check rules "$ex/prometheus/alerts.yml" >"$work/rules.out" 2>&1 \
  && ok "promtool check rules examples/prometheus/alerts.yml" \
  || fail "alerts.yml: $(cat "$work/rules.out")"
(cd "$top_srcdir" && "$TOWER" --config examples/scripts-to-prometheus.conf --config-check) \
  >"$work/check.out" 2>&1 \
  && ok "scripts-to-prometheus.conf passes --config-check" || fail "$(cat "$work/check.out")"

# The check script prints valid line protocol: the age of the newest file,
# a directory without files, nothing (and a message) for a missing one.
mkdir -p "$work/bk/full" "$work/bk/empty"
touch -d '2 hours ago' "$work/bk/full/a.tar"
out=$("$ex/scripts/check_backup.sh" "$work/bk/full" "$work/bk/empty" "$work/bk/none" 2>"$work/bk.err")
echo "$out" | grep -q "^backup,dir=$work/bk/full age_seconds=7[0-9][0-9][0-9]i,files=1i\$" \
  && echo "$out" | grep -q "^backup,dir=$work/bk/empty files=0i\$" \
  && [ "$(echo "$out" | wc -l)" = 2 ] && grep -q "bk/none is not a directory" "$work/bk.err" \
  && ok "check_backup.sh: $out" || fail "check_backup.sh: $out $(cat "$work/bk.err")"

# The alerts name series the example pipeline really exposes.
for series in cpu_usage_idle http_response_result_code backup_age_seconds internal_write_metrics_dropped; do
  grep -q "$series" "$ex/prometheus/alerts.yml" && ok "alerts use $series" || fail "no $series alert"
done
# The alert rules fire when they should (promtool's rule unit tests).
cat > "$work/alerts_test.yml" <<YML
rule_files: [ "$ex/prometheus/alerts.yml" ]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'cpu_usage_idle{cpu="cpu-total",host="web01"}'
        values: '5x10'
      - series: 'cpu_usage_idle{cpu="cpu-total",host="web02"}'
        values: '50x10'
      - series: 'http_response_result_code{server="http://app/",method="GET",result="timeout"}'
        values: '4x10'
      - series: 'backup_age_seconds{dir="/var/backups",host="web01"}'
        values: '200000x10'
      - series: 'internal_write_metrics_dropped{output="influxdb",host="web01"}'
        values: '0 0 0 5 5 5 5 5 5 5 5'
      - series: 'up{job="tower",instance="web01:9273"}'
        values: '1x10'
    alert_rule_test:
      - eval_time: 4m
        alertname: HostCpuBusy
        exp_alerts: []
      - eval_time: 6m
        alertname: HostCpuBusy
        exp_alerts:
          - exp_labels: { severity: warning, cpu: cpu-total, host: web01 }
            exp_annotations: { summary: "CPU of web01 at 95% for 5 minutes" }
      - eval_time: 3m
        alertname: ProbeFailing
        exp_alerts:
          - exp_labels: { severity: critical, server: "http://app/", method: GET, result: timeout }
            exp_annotations: { summary: "http://app/ fails: timeout" }
      - eval_time: 1m
        alertname: BackupStale
        exp_alerts:
          - exp_labels: { severity: warning, dir: /var/backups, host: web01 }
            exp_annotations: { summary: "newest backup in /var/backups is 2d 7h 33m 20s old" }
      - eval_time: 5m
        alertname: TowerDroppingMetrics
        exp_alerts:
          - exp_labels: { severity: warning, output: influxdb, host: web01 }
            exp_annotations: { summary: "tower on web01 dropped metrics for output influxdb" }
      - eval_time: 5m
        alertname: TowerDown
        exp_alerts: []
YML
"$PROMTOOL" test rules "$work/alerts_test.yml" >"$work/rules_test.out" 2>&1 \
  && ok "alert rules fire as intended (promtool test rules)" \
  || fail "promtool test rules: $(cat "$work/rules_test.out")"

# The example pipeline runs: cpu, the check script and internal reach the
# endpoint (on a free port rather than 9273), and the scrape lints clean.
sed 's/listen = "127.0.0.1:9273"/listen = "127.0.0.1:0"/' "$ex/scripts-to-prometheus.conf" \
  > "$work/example.conf"
(cd "$top_srcdir" && exec "$TOWER" --config "$work/example.conf") >"$work/example.log" 2>&1 &
epid=$!
pids="$pids $epid"
wait_for 10 grep -q 'serving metrics on' "$work/example.log"
port=$(sed -n 's/.*serving metrics on .* (port \([0-9]*\)).*/\1/p' "$work/example.log")
has_all() {
  curl -sf "http://127.0.0.1:$port/metrics" > "$work/example.prom" || return 1
  for s in 'http_response_result_code{' 'cpu_usage_idle{cpu="cpu-total"' 'internal_write_metrics_dropped{'; do
    grep -qF "$s" "$work/example.prom" || return 1
  done
}
[ -n "$port" ] && wait_for 40 has_all && ok "example pipeline exposes http_response_result_code, cpu_usage_idle, internal_write_*" \
  || fail "example pipeline: $(cat "$work/example.log") $(cat "$work/example.prom" 2>/dev/null)"
# A config check while the agent runs must not need its port.
sed "s/listen = \"127.0.0.1:0\"/listen = \"127.0.0.1:$port\"/" "$work/example.conf" > "$work/same-port.conf"
(cd "$top_srcdir" && "$TOWER" --config "$work/same-port.conf" --config-check) >"$work/same-port.out" 2>&1 \
  && ok "--config-check beside a running tower on the same port" \
  || fail "--config-check took the port: $(cat "$work/same-port.out")"
# Parse errors fail; lint notes about the Telegraf-compatible names of
# inputs.internal (*_time_ns, counters without _total) are expected.
"$PROMTOOL" check metrics < "$work/example.prom" >"$work/example.lint" 2>&1
grep -v -e 'should not contain abbreviated units' -e 'should have "_total" suffix' \
  "$work/example.lint" > "$work/example.problems"
[ ! -s "$work/example.problems" ] && ok "example scrape passes promtool check metrics" \
  || fail "promtool: $(cat "$work/example.problems")"
kill "$epid" 2>/dev/null
wait "$epid" 2>/dev/null
finish
