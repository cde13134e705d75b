#!/bin/sh
# inputs.prometheus against real peers:
#  1. the real prometheus-node-exporter: every series a curl scrape shows
#     arrives from `tower --test` (metric_version 2) with the same name,
#     labels and value (curl scrapes right before and right after tower's;
#     a value that moved must lie between those two, or within 10% or 5 of
#     the first, 25% when those two differ; the exporter's accounts of itself,
#     go_*, process_*, promhttp_* and node_scrape_*, change with every
#     scrape and, with the host's memory gauges (node_memory_*), are
#     compared by name and labels only; NaN and Inf samples
#     are left out: Telegraf skips NaN, line protocol cannot carry either);
#  2. OpenMetrics from a real client library, Prometheus's Python client
#     (Debian python3-prometheus-client: Prometheus 2.42's and
#     node_exporter 1.5's own /metrics answer the text format whatever
#     the Accept header asks): it answers OpenMetrics to the Accept header
#     tower sends, and tower gets from it every series its text format
#     shows, _created samples excepted (Prometheus does not store them
#     either); the Accept header tower sends is byte for byte the one the
#     real Prometheus server sends (both captured by the same socat
#     listener); and tower reads the Prometheus server's own /metrics
#     without an error, every series of it;
#  3. a round trip: node_exporter -> inputs.prometheus (metric_version 1)
#     -> outputs.prometheus, whose page passes `promtool check metrics` and
#     holds node_exporter's series again;
#  4. targets that misbehave (socat): one that hangs, one that sends 100 MB
#     (content_length_limit), one that closes mid-body; each gives one
#     error naming it, the good target's metrics still arrive, and the
#     gather takes the timeout, not more;
#  5. https (openssl s_server -WWW, a certificate made here: with tls_ca
#     and without), basic auth, bearer_token and bearer_token_string
#     against Python's http.server, which answers 401 to other credentials.
# Nothing is skipped: a missing tool is a failure.
. "$top_srcdir/tests/integration/lib.sh"

NODE_EXPORTER=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
for tool in "$NODE_EXPORTER" "$PROMETHEUS" "$PROMTOOL" curl socat openssl awk /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing: apt-get install prometheus-node-exporter prometheus curl socat" \
      "python3-prometheus-client (scripts/test installs them)"
    exit 1
  }
done
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || {
  echo "FAIL: python3-prometheus-client is missing (scripts/test installs it)"
  exit 1
}
"$TOWER" plugins 2>/dev/null | grep -q '^input  *prometheus ' \
  || { echo "FAIL: inputs.prometheus is not built (tower plugins does not list it)"; exit 1; }

free_port() {
  while :; do
    p=$(shuf -i 20000-60000 -n 1)
    grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$p"; return; }
  done
}

# ---- normalizing both sides to "name{k=v,...}<TAB>value", labels sorted
cat > "$work/series.awk" <<'AWK'
# FORMAT=prom: the Prometheus text format; FORMAT=lp: tower's line
# protocol under metric_version 2 (field = series, tags = labels; the url
# tag and prometheus_request are left out). Empty label values are no
# labels (as in Prometheus); NaN and Inf samples are left out.
function sortjoin(n,   i, j, t, s) {
  for (i = 2; i <= n; i++)
    for (j = i; j > 1 && L[j - 1] > L[j]; j--) { t = L[j]; L[j] = L[j - 1]; L[j - 1] = t }
  s = ""
  for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") L[i]
  return s
}
# le and quantile values as numbers: "1.0" and "1" are one bound
function label(k, v) {
  if ((k == "le" || k == "quantile") && v ~ /^[0-9.eE+-]+$/ && v !~ /Inf/) v = sprintf("%.17g", v + 0)
  return k "=" v
}
function emit(name, labels, v) {
  if (v ~ /^[+-]?([Nn]a[Nn]|[Ii]nf)/) return
  print name "{" labels "}\t" v
}
# the text up to the first unescaped stop character; sets REST
function lp_token(s, stops,   i, c, out) {
  out = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\" && index(", =\\", substr(s, i + 1, 1))) { i++; out = out substr(s, i, 1); continue }
    if (index(stops, c)) break
    out = out c
  }
  REST = substr(s, i)
  return out
}
FORMAT == "lp" {
  line = $0
  meas = lp_token(line, ", ")
  if (meas != "prometheus") next
  n = 0
  while (substr(REST, 1, 1) == ",") {
    k = lp_token(substr(REST, 2), "=")
    v = lp_token(substr(REST, 2), ", ")
    if (k != "url" && v != "") L[++n] = label(k, v)
  }
  labels = sortjoin(n)
  fields = substr(REST, 2)
  while (fields != "" && substr(fields, 1, 1) != " ") {
    k = lp_token(fields, "=")
    v = lp_token(substr(REST, 2), ", ")
    sub(/i$/, "", v)
    emit(k, labels, v)
    fields = substr(REST, 1, 1) == "," ? substr(REST, 2) : ""
  }
  next
}
FORMAT == "prom" && /^[a-zA-Z_:]/ {
  line = $0
  match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)
  name = substr(line, 1, RLENGTH); line = substr(line, RLENGTH + 1)
  n = 0
  if (substr(line, 1, 1) == "{") {
    line = substr(line, 2)
    while (substr(line, 1, 1) != "}") {
      eq = index(line, "="); k = substr(line, 1, eq - 1); line = substr(line, eq + 2)
      v = ""
      while (substr(line, 1, 1) != "\"") {
        c = substr(line, 1, 1)
        if (c == "\\") { c = substr(line, 2, 1); if (c == "n") c = "\n"; line = substr(line, 2) }
        v = v c; line = substr(line, 2)
      }
      line = substr(line, 2)
      if (substr(line, 1, 1) == ",") line = substr(line, 2)
      if (v != "") L[++n] = label(k, v)
    }
    line = substr(line, 2)
  }
  sub(/^[ \t]+/, "", line); split(line, parts, /[ \t]+/)
  emit(name, sortjoin(n), parts[1])
}
AWK
series() { awk -v FORMAT="$1" -f "$work/series.awk" "$2" | LC_ALL=C sort; }

# compare WANT GOT [SELF [AFTER]]: every series of WANT is in GOT with
# the same value, or one that moved (between WANT's and AFTER's value, a
# scrape taken before and one after GOT's, or within 10% or 5 of WANT's,
# 25% when the two scrapes differ: a gauge of a busy shared host),
# or any value for names matching the regex SELF; prints the differences
# and sets $missing, $far, $moved
compare() {
  self=${3:-^$}
  tab=$(printf '\t')
  LC_ALL=C join -t "$tab" -a 1 -e MISSING -o 0,1.2,2.2 "$1" "${4:-$1}" > "$work/bracket"
  LC_ALL=C join -t "$tab" -a 1 -e MISSING -o 0,1.2,1.3,2.2 "$work/bracket" "$2" > "$work/joined"
  awk -F '\t' -v self="$self" '
    function abs(x) { return x < 0 ? -x : x }
    $4 == "MISSING" { m++; if (m <= 10) print "  missing: " $1 " " $2; next }
    $1 ~ self { next }
    { a = $2 + 0; z = ($3 == "MISSING" ? a : $3 + 0); b = $4 + 0
      lo = a < z ? a : z; hi = a < z ? z : a
      if (b == a) next
      d = abs(a - b); big = abs(a) > abs(b) ? abs(a) : abs(b)
      tol = (a != z) ? 0.25 : 0.1 # a value seen moving is live: a gauge of a busy host
      if ((b >= lo && b <= hi) || d <= 5 || d <= tol * big) { mv++; next }
      f++; if (f <= 10) print "  value: " $1 " " $2 " (then " $3 ") vs " $4 }
    END { printf "missing=%d far=%d moved=%d\n", m, f, mv }' "$work/joined" > "$work/cmp.out"
  eval "$(tail -1 "$work/cmp.out" | sed 's/ /; /g')"
}

# ---- 1. node_exporter, series by series
ne_port=$(free_port)
# Mounts and network devices that other tests (podman) make and remove on
# this machine meanwhile would come and go between the scrapes compared.
"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$ne_port" \
  --collector.filesystem.mount-points-exclude='^/(dev|proc|run|sys|tmp|var/lib/containers)($|/)' \
  --collector.netdev.device-exclude='^(veth|cni|podman|br-|docker)' \
  --collector.netclass.ignored-devices='^(veth|cni|podman|br-|docker)' > "$work/ne.log" 2>&1 &
pids="$pids $!"
ne="http://127.0.0.1:$ne_port/metrics"
wait_for 10 curl -sf "$ne" -o /dev/null && ok "node_exporter on $ne_port" \
  || { fail "node_exporter did not start: $(cat "$work/ne.log")"; finish; }

cat > "$work/v2.conf" <<CONF
agent = { omit_hostname = true; precision = "1ms"; };
inputs = ( { plugin = "prometheus"; urls = ["$ne"]; metric_version = 2; } );
CONF
curl -sf "$ne" -o "$work/ne.txt"
"$TOWER" --test --config "$work/v2.conf" > "$work/v2.lp" 2> "$work/v2.err"
trc=$?
curl -sf "$ne" -o "$work/ne_after.txt"
check "tower --test against node_exporter exits 0" test "$trc" = 0
check "no error in the log" sh -c "! grep -q ' E! ' '$work/v2.err'"
series prom "$work/ne.txt" > "$work/ne.series"
series lp "$work/v2.lp" > "$work/v2.series"
total=$(wc -l < "$work/ne.series")
# node_memory_* too: the host's memory gauges move with what runs beside
# (PageTables grew 20 % while tower --test itself ran, between two curl
# scrapes that agreed); their names and labels are still compared.
SELF='^(go_|process_|promhttp_|node_scrape_|node_memory_)'
series prom "$work/ne_after.txt" > "$work/ne_after.series"
compare "$work/ne.series" "$work/v2.series" "$SELF" "$work/ne_after.series"
if [ "$total" -gt 300 ] && [ "$missing" = 0 ] && [ "$far" = 0 ]; then
  ok "all $total node_exporter series arrive with the same name, labels and value ($moved moved between the scrapes)"
else
  fail "node_exporter series: $total, $(cat "$work/cmp.out")"
fi
extra=$(LC_ALL=C join -t "$(printf '\t')" -v 2 "$work/ne.series" "$work/v2.series" | wc -l)
check "tower adds no series node_exporter did not expose ($extra)" test "$extra" = 0

# ---- 2. Prometheus's own /metrics in OpenMetrics, and the Accept header
p_port=$(free_port); s_port=$(free_port)
: > "$work/requests.txt"
socat -u "TCP-LISTEN:$s_port,bind=127.0.0.1,reuseaddr,fork" "OPEN:$work/requests.txt,append" &
pids="$pids $!"
cat > "$work/prometheus.yml" <<YML
global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: capture
    static_configs: [ { targets: ["127.0.0.1:$s_port"] } ]
YML
"$PROMETHEUS" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$p_port" --log.level=error > "$work/prometheus.log" 2>&1 &
pids="$pids $!"
pm="http://127.0.0.1:$p_port/metrics"
wait_for 30 curl -sf "http://127.0.0.1:$p_port/-/ready" -o /dev/null && ok "prometheus on $p_port" \
  || { fail "prometheus did not start: $(cat "$work/prometheus.log")"; finish; }
wait_for 10 grep -q '^Accept:' "$work/requests.txt"
prom_accept=$(grep -m1 '^Accept:' "$work/requests.txt" | tr -d '\r')
: > "$work/requests.txt"
cat > "$work/capture.conf" <<CONF
inputs = ( { plugin = "prometheus"; urls = ["http://127.0.0.1:$s_port/metrics"]; timeout = "300ms"; } );
CONF
"$TOWER" --test --config "$work/capture.conf" > /dev/null 2>&1
tower_accept=$(grep -m1 '^Accept:' "$work/requests.txt" | tr -d '\r')
if [ -n "$prom_accept" ] && [ "$prom_accept" = "$tower_accept" ]; then
  ok "tower sends Prometheus's Accept header: $tower_accept"
else
  fail "Accept: prometheus \"$prom_accept\", tower \"$tower_accept\""
fi

accept=${tower_accept#Accept: }
cat > "$work/app.py" <<'PY'
import sys, time
from prometheus_client import start_http_server, Counter, Histogram, Summary, Gauge, Info, Enum
Counter('app_requests', 'Requests served.', ['path']).labels('/api').inc(7)
h = Histogram('app_latency_seconds', 'Latency.', ['path'])
h.labels('/api').observe(0.3)
h.labels('/web').observe(4)
Summary('app_queue_seconds', 'Queue time.').observe(1.5)
Gauge('app_temp_celsius', 'Temperature.', ['room']).labels('a "b"\\c').set(21.5)
Info('app_build', 'Build.').info({'version': '1.2'})
Enum('app_state', 'State.', states=['up', 'down']).state('up')
start_http_server(int(sys.argv[1]), addr='127.0.0.1')
while True:
    time.sleep(60)
PY
a_port=$(free_port)
/usr/bin/python3 "$work/app.py" "$a_port" > "$work/app.log" 2>&1 &
pids="$pids $!"
app="http://127.0.0.1:$a_port/metrics"
wait_for 10 curl -sf "$app" -o /dev/null || { fail "the Python app did not start: $(cat "$work/app.log")"; finish; }
ctype=$(curl -sf -o "$work/app.om" -w '%{content_type}' -H "Accept: $accept" "$app")
case "$ctype" in
  application/openmetrics-text*) ok "the Python client answers that header with $ctype" ;;
  *) fail "the Python client answered \"$ctype\" (not OpenMetrics)" ;;
esac
grep -q '^# EOF' "$work/app.om" && grep -q '_created' "$work/app.om" \
  && ok "its OpenMetrics has # EOF and _created samples" || fail "no OpenMetrics markers in $(cat "$work/app.om")"
cat > "$work/app.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "prometheus"; urls = ["$app"]; metric_version = 2; enable_request_metrics = true; } );
CONF
curl -sf -H 'Accept: text/plain;version=0.0.4' "$app" -o "$work/app.txt" &
cpid=$!
"$TOWER" --test --config "$work/app.conf" > "$work/app.lp" 2> "$work/app.err"
trc=$?
wait "$cpid"
check "tower reads the OpenMetrics without an error" \
  sh -c "test $trc = 0 && ! grep -q ' E! ' '$work/app.err'"
check "prometheus_request says success" grep -q '^prometheus_request,result=success' "$work/app.lp"
series prom "$work/app.txt" | grep -v '^[a-z_]*_created{' > "$work/app.series"
series lp "$work/app.lp" > "$work/applp.series"
total=$(wc -l < "$work/app.series")
compare "$work/app.series" "$work/applp.series" '^(python_|process_)'
extra=$(LC_ALL=C join -t "$(printf '\t')" -v 2 "$work/app.series" "$work/applp.series" | wc -l)
if [ "$total" -gt 30 ] && [ "$missing" = 0 ] && [ "$far" = 0 ] && [ "$extra" = 0 ]; then
  ok "OpenMetrics gives the $total series of the text format, values equal ($moved moved)"
else
  fail "Python app: $total series, $extra extra, $(cat "$work/cmp.out")"
fi

cat > "$work/pm.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "prometheus"; urls = ["$pm"]; metric_version = 2; } );
CONF
curl -sf "$pm" -o /dev/null # the first scrape creates series of its handler
curl -sf "$pm" -o "$work/pm.txt" &
cpid=$!
"$TOWER" --test --config "$work/pm.conf" > "$work/pm.lp" 2> "$work/pm.err"
trc=$?
wait "$cpid"
check "tower reads the Prometheus server's /metrics without an error" \
  sh -c "test $trc = 0 && ! grep -q ' E! ' '$work/pm.err'"
series prom "$work/pm.txt" > "$work/pm.series"
series lp "$work/pm.lp" > "$work/pmlp.series"
total=$(wc -l < "$work/pm.series")
compare "$work/pm.series" "$work/pmlp.series" '.'
if [ "$total" -gt 100 ] && [ "$missing" = 0 ]; then
  ok "all $total series of the Prometheus server arrive (names and labels; its values move)"
else
  fail "Prometheus series: $total, $(cat "$work/cmp.out")"
fi

# ---- 3. round trip through outputs.prometheus, checked by promtool: the
# Python app's series with their values (they hold still), node_exporter's
# by name and labels (its values move between the two scrapes)
cat > "$work/rt.conf" <<CONF
agent = { interval = "1s"; flush_interval = "200ms"; omit_hostname = true; };
inputs = ( { plugin = "prometheus"; urls = ["$ne", "$app"]; url_tag = ""; } );
outputs = ( { plugin = "prometheus"; listen = "127.0.0.1:0"; } );
CONF
start_tower "$work/rt.conf" "$work/rt.log"
wait_for 5 grep -q 'serving metrics on' "$work/rt.log"
rt_port=$(sed -n 's/.*serving metrics on .* (port \([0-9]*\)).*/\1/p' "$work/rt.log" | head -1)
wait_for 10 sh -c "curl -sf http://127.0.0.1:$rt_port/metrics | grep -q '^app_temp_celsius'"
curl -sf "http://127.0.0.1:$rt_port/metrics" -o "$work/rt.txt"
curl -sf "$ne" -o "$work/ne2.txt"
stop_tower TERM
# promtool lints names too (exit 3): node_exporter's own page has the same
# findings (camelCase, units), so only findings it does not have count.
"$PROMTOOL" check metrics < "$work/rt.txt" > "$work/rt.lint" 2>&1
prc=$?
"$PROMTOOL" check metrics < "$work/ne2.txt" > "$work/ne.lint" 2>&1
new_findings=$(LC_ALL=C sort "$work/rt.lint" | LC_ALL=C comm -23 - "$(LC_ALL=C sort "$work/ne.lint" > "$work/ne.lint.s"; echo "$work/ne.lint.s")")
if { [ "$prc" = 0 ] || [ "$prc" = 3 ]; } && [ -z "$new_findings" ]; then
  ok "promtool check metrics passes on the round trip (exit $prc: only node_exporter's own naming findings)"
else
  fail "promtool check metrics: exit $prc, findings node_exporter does not have: $new_findings"
fi
series prom "$work/rt.txt" > "$work/rt.series"
series prom "$work/app.txt" | grep -v '^[a-z_]*_created{' | grep -v '^\(python_\|process_\)' > "$work/app2.series"
compare "$work/app2.series" "$work/rt.series"
total=$(wc -l < "$work/app2.series")
check "the round trip keeps the Python app's $total series and values ($(cat "$work/cmp.out"))" \
  test "$total" -gt 20 -a "$missing" = 0 -a "$far" = 0 -a "$moved" = 0
series prom "$work/ne2.txt" > "$work/ne2.series"
compare "$work/ne2.series" "$work/rt.series" '.'
total=$(wc -l < "$work/ne2.series")
check "the round trip keeps node_exporter's $total series ($(cat "$work/cmp.out"))" \
  test "$total" -gt 300 -a "$missing" = 0

# ---- 4. targets that misbehave
hang=$(free_port); big=$(free_port); cut=$(free_port)
socat "TCP-LISTEN:$hang,bind=127.0.0.1,reuseaddr,fork" SYSTEM:'sleep 10' &
pids="$pids $!"
# (the responses as scripts: socat's address syntax would take their
# colons and backslashes)
cat > "$work/request.sh" <<'SH'
# reads the request up to its blank line (closing a socket with unread
# data would reset the connection before the client read the answer)
while IFS= read -r line; do [ "$line" = "$(printf '\r')" ] && break; done
SH
cat > "$work/big.sh" <<'SH'
. "${0%/*}/request.sh"
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n'
yes 'big_series 1' | head -c 100000000
SH
cat > "$work/cut.sh" <<'SH'
. "${0%/*}/request.sh"
printf 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n# TYPE a gauge\na 1\n'
SH
socat "TCP-LISTEN:$big,bind=127.0.0.1,reuseaddr,fork" EXEC:"sh $work/big.sh" &
pids="$pids $!"
socat "TCP-LISTEN:$cut,bind=127.0.0.1,reuseaddr,fork" EXEC:"sh $work/cut.sh" &
pids="$pids $!"
wait_for 5 sh -c "grep -qi ':$(printf '%04X' "$cut") ' /proc/net/tcp"
cat > "$work/bad.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "prometheus"; timeout = "2s"; content_length_limit = "10MiB";
  urls = ["http://127.0.0.1:$hang/metrics", "http://127.0.0.1:$big/metrics",
          "http://127.0.0.1:$cut/metrics", "$ne"]; } );
CONF
t0=$(date +%s%N)
"$TOWER" --test --config "$work/bad.conf" > "$work/bad.lp" 2> "$work/bad.err"
trc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "the gather takes the timeout, not more ($ms ms)" test "$ms" -ge 1900 -a "$ms" -lt 6000
check "tower --test exits 1 on failed targets" test "$trc" = 1
check "node_exporter's metrics still arrive" grep -q '^node_load1,url=' "$work/bad.lp"
check "no metric of the cut or flooding targets" sh -c "! grep -q '^a,\|^big_series' '$work/bad.lp'"
check "the hanging target: one error" \
  test "$(grep -c "127.0.0.1:$hang/metrics did not answer in full within 2s (timeout)" "$work/bad.err")" = 1
check "the 100 MB target: one error" \
  test "$(grep -c "127.0.0.1:$big/metrics sent more than content_length_limit (10485760 bytes)" "$work/bad.err")" = 1
check "the target that closes mid-body: one error" \
  test "$(grep -c "127.0.0.1:$cut/metrics: the response broke off after 19 bytes of body" "$work/bad.err")" = 1
check "three errors in all" test "$(grep -c ' E! ' "$work/bad.err")" = 3
[ "$failures" = 0 ] || cat "$work/bad.err"

# ---- 5. https and credentials: `openssl s_server -WWW` serves a file over
# TLS with a certificate made here; Python's http.server answers only the
# right Basic or Bearer credentials (401 otherwise)
mkdir -p "$work/www"
printf '# TYPE tls_gauge gauge\ntls_gauge{room="a"} 4.5\n' > "$work/www/metrics"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$work/key.pem" -out "$work/cert.pem" > "$work/req.log" 2>&1 \
  || { fail "openssl req: $(cat "$work/req.log")"; finish; }
tls=$(free_port)
(cd "$work/www" && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$tls" \
  -cert "$work/cert.pem" -key "$work/key.pem") > "$work/s_server.log" 2>&1 &
pids="$pids $!"
cat > "$work/auth.py" <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
GOOD = ('Basic dXNlcjpwQHNz', 'Bearer s3cret-token')  # user:p@ss
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.headers.get('Authorization') in GOOD
        body = b'# TYPE auth_gauge gauge\nauth_gauge 7\n' if ok else b'who are you?\n'
        self.send_response(200 if ok else 401)
        self.send_header('Content-Type', 'text/plain; version=0.0.4')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
PY
au=$(free_port)
/usr/bin/python3 "$work/auth.py" "$au" > "$work/auth.log" 2>&1 &
pids="$pids $!"
printf 's3cret-token\n' > "$work/token"
wait_for 10 curl -sf --cacert "$work/cert.pem" "https://127.0.0.1:$tls/metrics" -o /dev/null \
  || fail "openssl s_server did not start: $(cat "$work/s_server.log")"
wait_for 10 sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$au/ | grep -q 401" \
  || fail "the auth server did not start: $(cat "$work/auth.log")"
cat > "$work/cred.conf" <<CONF
agent = { omit_hostname = true; };
inputs = (
  { plugin = "prometheus"; urls = ["https://127.0.0.1:$tls/metrics"]; tls_ca = "$work/cert.pem"; },
  { plugin = "prometheus"; urls = ["https://localhost:$tls"]; alias = "no_ca"; },
  { plugin = "prometheus"; urls = ["http://127.0.0.1:$au/basic"]; username = "user"; password = "p@ss"; },
  { plugin = "prometheus"; urls = ["http://127.0.0.1:$au/wrong"]; username = "user"; password = "nope"; },
  { plugin = "prometheus"; urls = ["http://127.0.0.1:$au/bearer"]; bearer_token = "$work/token"; },
  { plugin = "prometheus"; urls = ["http://127.0.0.1:$au/string"]; bearer_token_string = "s3cret-token"; }
);
CONF
"$TOWER" --test --config "$work/cred.conf" > "$work/cred.lp" 2> "$work/cred.err"
check "https with tls_ca: the target's gauge arrives" \
  grep -q "^tls_gauge,room=a,url=https://127.0.0.1:$tls/metrics gauge=4.5" "$work/cred.lp"
check "https without the CA: one error naming the target and the certificate" \
  test "$(grep -c "cannot scrape https://localhost:$tls: SSL certificate problem: .*(set tls_ca" "$work/cred.err")" = 1
check "basic auth: the gauge arrives" grep -q "^auth_gauge,url=http://127.0.0.1:$au/basic gauge=7" "$work/cred.lp"
check "a wrong password: one error that says HTTP 401 and what to check" \
  grep -q "127.0.0.1:$au/wrong answered HTTP 401 instead of 200: no metrics from it; check username/password" "$work/cred.err"
check "bearer_token (a file): the gauge arrives" grep -q "^auth_gauge,url=http://127.0.0.1:$au/bearer gauge=7" "$work/cred.lp"
check "bearer_token_string: the gauge arrives" grep -q "^auth_gauge,url=http://127.0.0.1:$au/string gauge=7" "$work/cred.lp"
check "two errors in all" test "$(grep -c ' E! ' "$work/cred.err")" = 2
[ "$failures" = 0 ] || cat "$work/cred.err" "$work/cred.lp"

finish
