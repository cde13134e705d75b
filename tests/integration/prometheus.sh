#!/bin/sh
# outputs.prometheus end to end: the real tower daemon runs exec inputs
# (scripts printing Prometheus text and line protocol) into three prometheus
# outputs (plain HTTP, basic auth, mutual TLS); a real Prometheus server
# (Debian package prometheus) scrapes them every second, and its HTTP API
# must return the series with the expected labels and values. Wrong
# credentials and a missing client certificate must show as up == 0.
# Nothing is skipped: a missing prometheus, curl or openssl is a failure.
. "$top_srcdir/tests/integration/lib.sh"

PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
for tool in "$PROMETHEUS" curl openssl; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing: apt-get install prometheus curl openssl (scripts/test installs them)"
    exit 1
  }
done

# A TCP port nobody listens on (for Prometheus; tower takes port 0 and logs
# the port it got).
free_port() {
  while :; do
    p=$(shuf -i 20000-60000 -n 1)
    # /proc/net/tcp*: "local_address:PORT" in hex (no iproute2 needed)
    grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$p"; return; }
  done
}

# ---- TLS material: a CA, a server certificate for 127.0.0.1, a client one.
(
  cd "$work" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=it-ca
  printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile san.ext
  openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=prometheus
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
) >"$work/openssl.log" 2>&1 || { echo "FAIL: openssl: $(cat "$work/openssl.log")"; exit 1; }
chmod 644 "$work"/*.key

# ---- the scripts inputs.exec runs.
cat > "$work/app_metrics.sh" <<'EOF'
#!/bin/sh
cat <<'PROM'
# HELP app_requests_total Requests served.
# TYPE app_requests_total counter
app_requests_total{path="/api",code="200"} 42
app_requests_total{path="/api",code="500"} 3
# HELP app_latency_seconds Request latency.
# TYPE app_latency_seconds histogram
app_latency_seconds_bucket{le="0.1"} 3
app_latency_seconds_bucket{le="0.5"} 4
app_latency_seconds_bucket{le="+Inf"} 5
app_latency_seconds_sum 0.7
app_latency_seconds_count 5
# TYPE app_queue_seconds summary
app_queue_seconds{quantile="0.5"} 0.01
app_queue_seconds{quantile="0.9"} 0.05
app_queue_seconds_sum 1.5
app_queue_seconds_count 100
PROM
EOF
cat > "$work/check.sh" <<'EOF'
#!/bin/sh
echo 'check_http,url=http://app.internal/health up=0i,status_code=503i,error="HTTP status 503"'
echo 'check_http,url=http://db.internal/health up=1i,status_code=200i,response_time_seconds=0.25'
EOF
chmod +x "$work/app_metrics.sh" "$work/check.sh"

"$TOWER" plugins 2>/dev/null | grep -q '^input  *exec ' \
  || { echo "FAIL: inputs.exec is not built (tower plugins does not list it)"; exit 1; }
inputs="{ plugin = \"exec\"; commands = ( [\"$work/app_metrics.sh\"] ); data_format = \"prometheus\"; },
        { plugin = \"exec\"; commands = ( [\"$work/check.sh\"] ); data_format = \"influx\"; }"

cat > "$work/tower.conf" <<CONF
agent = { interval = "1s"; flush_interval = "300ms"; omit_hostname = true; };
inputs = ( $inputs );
outputs = (
  { plugin = "prometheus"; alias = "plain"; listen = "127.0.0.1:0"; },
  { plugin = "prometheus"; alias = "auth"; listen = "127.0.0.1:0";
    basic_username = "prom"; basic_password = "\${PROM_PASSWORD}"; },
  { plugin = "prometheus"; alias = "mtls"; listen = "127.0.0.1:0";
    tls_cert = "$work/server.pem"; tls_key = "$work/server.key";
    tls_allowed_cacerts = ["$work/ca.pem"]; }
);
CONF
PROM_PASSWORD='s3cr3t pass' start_tower "$work/tower.conf" "$work/tower.log"
port_of() { sed -n "s/.*\[outputs.prometheus:$1\] serving metrics on .* (port \([0-9]*\)).*/\1/p" "$work/tower.log"; }
wait_for 5 test -n "$(port_of mtls)"
plain=$(port_of plain); auth=$(port_of auth); mtls=$(port_of mtls)
[ -n "$plain" ] && [ -n "$auth" ] && [ -n "$mtls" ] && ok "tower serves on ports $plain, $auth, $mtls" \
  || { fail "tower ports: $(cat "$work/tower.log")"; finish; }
grep -q 's3cr3t' "$work/tower.log" && fail "the password reached the log" || ok "password not logged"

# The endpoint itself passes promtool's lint.
wait_for 10 sh -c "curl -sf http://127.0.0.1:$plain/metrics | grep -q check_http_up"
curl -sf "http://127.0.0.1:$plain/metrics" > "$work/scrape.txt"
/usr/bin/promtool check metrics < "$work/scrape.txt" > "$work/promtool.out" 2>&1 \
  && ok "promtool check metrics passes on the scrape" \
  || fail "promtool: $(cat "$work/promtool.out") $(cat "$work/scrape.txt")"

# ---- Prometheus.
printf 's3cr3t pass' > "$work/password"
printf 'wrong' > "$work/wrong"
cat > "$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: plain
    static_configs: [ { targets: ["127.0.0.1:$plain"] } ]
  - job_name: auth
    basic_auth: { username: prom, password_file: $work/password }
    static_configs: [ { targets: ["127.0.0.1:$auth"] } ]
  - job_name: auth_wrong
    basic_auth: { username: prom, password_file: $work/wrong }
    static_configs: [ { targets: ["127.0.0.1:$auth"] } ]
  - job_name: mtls
    scheme: https
    tls_config: { ca_file: $work/ca.pem, cert_file: $work/client.pem, key_file: $work/client.key }
    static_configs: [ { targets: ["127.0.0.1:$mtls"] } ]
  - job_name: mtls_nocert
    scheme: https
    tls_config: { ca_file: $work/ca.pem }
    static_configs: [ { targets: ["127.0.0.1:$mtls"] } ]
YML
pport=$(free_port)
"$PROMETHEUS" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$pport" --log.level=warn > "$work/prometheus.log" 2>&1 &
pids="$pids $!"
api="http://127.0.0.1:$pport"
wait_for 30 curl -sf "$api/-/ready" -o /dev/null && ok "prometheus ready on $pport" \
  || { fail "prometheus did not start: $(cat "$work/prometheus.log")"; finish; }

# query EXPR: the API's JSON answer for an instant query
query() { curl -s -G "$api/api/v1/query" --data-urlencode "query=$1"; }
# expect DESCRIPTION EXPR PATTERN...: waits up to 30 s until the answer has every pattern
expect() {
  d=$1; e=$2; shift 2
  end=$(( $(date +%s) + 30 ))
  while :; do
    ans=$(query "$e")
    okay=1
    for p in "$@"; do echo "$ans" | grep -qF -- "$p" || okay=0; done
    [ "$okay" = 1 ] && { ok "$d"; return; }
    [ "$(date +%s)" -ge "$end" ] && { fail "$d: $e -> $ans"; return; }
    sleep 0.5
  done
}

expect "plain scrape is up" 'up{job="plain"}' '"job":"plain"' ',"1"]'
expect "basic auth scrape is up" 'up{job="auth"}' '"job":"auth"' ',"1"]'
expect "wrong password: scrape down" 'up{job="auth_wrong"}' '"job":"auth_wrong"' ',"0"]'
expect "mutual TLS scrape is up" 'up{job="mtls"}' '"job":"mtls"' ',"1"]'
expect "TLS without a client certificate: scrape down" 'up{job="mtls_nocert"}' ',"0"]'

expect "check down: value and string label" 'check_http_up{job="plain",url="http://app.internal/health"}' \
  '"error":"HTTP status 503"' ',"0"]'
expect "check up" 'check_http_up{job="auth",url="http://db.internal/health"}' ',"1"]'
expect "float field over mTLS" 'check_http_response_time_seconds{job="mtls"}' \
  '"url":"http://db.internal/health"' ',"0.25"]'
expect "integer field" 'check_http_status_code{url="http://app.internal/health",job="plain"}' ',"503"]'

expect "counter re-exposed with its labels" 'app_requests_total{job="plain",code="500"}' \
  '"path":"/api"' ',"3"]'
expect "counter TYPE kept (rate works)" 'rate(app_requests_total{job="plain",code="200"}[5s])' \
  '"code":"200"' ',"0"]'
expect "histogram buckets" 'app_latency_seconds_bucket{job="plain",le="0.5"}' ',"4"]'
expect "histogram quantile" 'histogram_quantile(0.5, app_latency_seconds_bucket{job="plain"})' \
  '"result":[{' ',"0.0833'
expect "histogram count" 'app_latency_seconds_count{job="mtls"}' ',"5"]'
expect "summary quantile" 'app_queue_seconds{job="auth",quantile="0.9"}' ',"0.05"]'
expect "summary sum" 'app_queue_seconds_sum{job="plain"}' ',"1.5"]'

# tower's own series are scraped too.
expect "tower_prometheus_series" 'tower_prometheus_series{job="plain"}' '"result":[{'

stop_tower TERM
[ "$trc" = 0 ] && ok "tower stopped cleanly" || fail "tower exit $trc: $(cat "$work/tower.log")"
grep -q ' E! ' "$work/tower.log" && fail "errors in the log: $(grep ' E! ' "$work/tower.log")" \
  || ok "no errors logged"
finish
