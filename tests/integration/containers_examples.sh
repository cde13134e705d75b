#!/bin/sh
# The containers-and-certs example: examples/containers-and-certs.conf
# passes --config-check, examples/prometheus/containers-and-certs.rules.yml
# passes promtool's check, and its alerts fire when they should (promtool's
# rule unit tests, on series named and labelled as tower exposes them).
# tests/integration/docker.sh runs the example pipeline itself against a
# real podman. promtool comes with the Debian package prometheus: missing,
# it is a failure, not a skip.
. "$top_srcdir/tests/integration/lib.sh"

PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
[ -x "$PROMTOOL" ] || { echo "FAIL: $PROMTOOL is missing: apt-get install prometheus"; exit 1; }
ex="$top_srcdir/examples"
rules="$ex/prometheus/containers-and-certs.rules.yml"

"$PROMTOOL" check rules "$rules" >"$work/rules.out" 2>&1 \
  && ok "promtool check rules containers-and-certs.rules.yml" \
  || fail "rules: $(cat "$work/rules.out")"
(cd "$work" && "$TOWER" --config "$ex/containers-and-certs.conf" --config-check) \
  >"$work/check.out" 2>&1 \
  && ok "containers-and-certs.conf passes --config-check" || fail "$(cat "$work/check.out")"

# The rules name series the example pipeline exposes.
for series in x509_cert_expiry docker_container_status_exitcode \
  docker_container_health_failing_streak; do
  grep -q "$series" "$rules" && ok "rules use $series" || fail "no rule on $series"
done

# Certificates: one leaf with 30 days left, one with 10 (crossing 14 days
# half way), one already expired. Containers: one running, one exited with
# status 3 for good, one that restarts after 3 minutes (not long enough),
# one unhealthy and one healthy.
day=86400
cat > "$work/rules_test.yml" <<YML
rule_files: [ "$rules" ]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'x509_cert_expiry{source="https://a.example:443",common_name="a.example",type="leaf"}'
        values: '$((30 * day))-60x30'
      - series: 'x509_cert_expiry{source="https://b.example:443",common_name="b.example",type="leaf"}'
        values: '$((10 * day))-60x30'
      - series: 'x509_cert_expiry{source="/etc/ssl/old.pem",common_name="old",type="leaf"}'
        values: '-3600-60x30'
      - series: 'docker_container_status_exitcode{container_name="web",container_status="running",engine_host="node-7"}'
        values: '0x30'
      - series: 'docker_container_status_exitcode{container_name="batch",container_status="exited",engine_host="node-7"}'
        values: '3x30'
      - series: 'docker_container_status_exitcode{container_name="flappy",container_status="exited",engine_host="node-7"}'
        values: '1 1 1 _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _'
      - series: 'docker_container_health_failing_streak{container_name="db",engine_host="node-7",health_status="unhealthy"}'
        values: '3x30'
      - series: 'docker_container_health_failing_streak{container_name="api",engine_host="node-7",health_status="healthy"}'
        values: '0x30'
    alert_rule_test:
      - eval_time: 5m
        alertname: CertificateExpiresSoon
        exp_alerts: []
      - eval_time: 15m
        alertname: CertificateExpiresSoon
        exp_alerts:
          - exp_labels: { severity: warning, source: "https://b.example:443", common_name: b.example, type: leaf }
            exp_annotations: { summary: "Certificate b.example of https://b.example:443 expires in 9d 23h 45m 0s" }
          - exp_labels: { severity: warning, source: /etc/ssl/old.pem, common_name: old, type: leaf }
            exp_annotations: { summary: "Certificate old of /etc/ssl/old.pem expires in -1h 15m 0s" }
      - eval_time: 1m
        alertname: CertificateExpired
        exp_alerts:
          - exp_labels: { severity: critical, source: /etc/ssl/old.pem, common_name: old, type: leaf }
            exp_annotations: { summary: "Certificate old of /etc/ssl/old.pem has expired" }
      - eval_time: 4m
        alertname: ContainerNotRunning
        exp_alerts: []
      - eval_time: 10m
        alertname: ContainerNotRunning
        exp_alerts:
          - exp_labels: { severity: warning, container_name: batch, container_status: exited, engine_host: node-7 }
            exp_annotations: { summary: "Container batch on node-7 is exited (exit code 3)" }
      - eval_time: 3m
        alertname: ContainerUnhealthy
        exp_alerts:
          - exp_labels: { severity: warning, container_name: db, engine_host: node-7, health_status: unhealthy }
            exp_annotations: { summary: "Container db on node-7 fails its health check (3 times in a row)" }
YML
"$PROMTOOL" test rules "$work/rules_test.yml" >"$work/rules_test.out" 2>&1 \
  && ok "alert rules fire as intended (promtool test rules)" \
  || fail "promtool test rules: $(cat "$work/rules_test.out")"
finish
