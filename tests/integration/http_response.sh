#!/bin/sh
# inputs.http_response end to end with the real tower binary and real peers:
# `python3 -m http.server` serving a directory of known files, `openssl
# s_server -www` with a CA made here, a listener that never accepts, a
# closed port and a name that never resolves. `tower --test` must print one
# metric per URL with Telegraf's tags and fields; through outputs.prometheus
# the `result` label must only take Telegraf's seven values (never an error
# text) and no URL password may show; SIGTERM must end a long probe at once;
# a bad URL must be rejected with file:line.
# Nothing is skipped: a missing python3, openssl or curl is a failure.
. "$top_srcdir/tests/integration/lib.sh"

for tool in python3 openssl curl; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing: apt-get install python3 openssl curl (scripts/test installs them)"
    exit 1
  }
done
"$TOWER" plugins 2>/dev/null | grep -q '^input  *http_response ' \
  || { echo "FAIL: inputs.http_response is not built (tower plugins does not list it)"; exit 1; }
# the probes go to loopback peers, whatever proxy the environment names
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

# start_peer NAME PATTERN COMMAND...: runs a peer and waits until its output
# matches PATTERN, a sed expression whose \1 is the port; sets $port
start_peer() {
  name=$1; pattern=$2; shift 2
  "$@" </dev/null >"$work/$name.out" 2>&1 &
  pids="$pids $!"
  wait_for 10 grep -q . "$work/$name.out"
  wait_for 10 test -n "$(sed -n "$pattern" "$work/$name.out")" \
    || { fail "$name did not start: $(cat "$work/$name.out")"; finish; }
  port=$(sed -n "$pattern" "$work/$name.out" | head -1)
}

# ---- the peers
mkdir "$work/www"
printf 'hello ok\n' > "$work/www/index.html"
printf '{"status": "up"}' > "$work/www/health.json"
start_peer http 's/^Serving HTTP on .* port \([0-9]*\) .*/\1/p' \
  python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$work/www"
http=$port

(
  cd "$work" || exit 1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -out ca.pem -days 2 -subj /CN=it-ca
  printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
    -out server.csr -subj /CN=127.0.0.1
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile san.ext
) >"$work/openssl.log" 2>&1 || { echo "FAIL: openssl: $(cat "$work/openssl.log")"; exit 1; }
start_peer tls 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
  openssl s_server -www -accept 127.0.0.1:0 -cert "$work/server.pem" -key "$work/server.key"
https=$port

# a listener whose connections are never accepted: the request gets no answer
start_peer silent 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' python3 -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print("ACCEPT 127.0.0.1:%d" % s.getsockname()[1], flush=True)
time.sleep(3600)'
silent=$port

# a port nobody listens on
closed=$((http + 1))
while grep -qi ":$(printf '%04X' "$closed") " /proc/net/tcp 2>/dev/null; do closed=$((closed + 1)); done

# ---- tower --test: every result of the vocabulary but body_read_error
cat > "$work/tower.conf" <<CONF
agent = { omit_hostname = true; };
inputs = (
  { plugin = "http_response";
    urls = ["http://127.0.0.1:$http/index.html", "http://127.0.0.1:$http/missing",
            "http://127.0.0.1:$closed/", "http://nonexistent.invalid/",
            "http://127.0.0.1:$silent/", "https://127.0.0.1:$https/"];
    response_timeout = "1s"; response_string_match = "hello|s_server"; tls_ca = "$work/ca.pem"; },
  { plugin = "http_response"; alias = "health";
    urls = ["http://prober:pa55word@127.0.0.1:$http/health.json"];
    response_string_match = "\"status\": \"up\""; response_status_code = 200; },
  { plugin = "http_response"; alias = "dir"; urls = ["http://127.0.0.1:$http/sub"];
    response_status_code = 200; }
);
CONF
mkdir "$work/www/sub"
t0=$(date +%s%N)
"$TOWER" --test --config "$work/tower.conf" >"$work/test.out" 2>"$work/test.err"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "tower --test prints one metric per URL (8)" test "$(lines "$work/test.out")" -eq 8 \
  || cat "$work/test.out" "$work/test.err"
check "the 1s timeout of a silent server does not add up over 6 URLs (${ms}ms)" test "$ms" -lt 4000

# expect NAME URL TAGS FIELDS...: the line for URL has exactly TAGS, and each FIELD
expect() {
  name=$1; u=$2; tags=$3; shift 3
  line=$(grep -F ",server=$u," "$work/test.out"; grep -F ",server=$u " "$work/test.out")
  case "$line" in
    "http_response,$tags "*) ;;
    *) fail "$name: tags: want http_response,$tags; got: $line"; return ;;
  esac
  for f in "$@"; do
    case "$line" in *" $f"* | *",$f"*) ;; *) fail "$name: no $f in: $line"; return ;; esac
  done
  ok "$name"
}
b="http://127.0.0.1:$http"
expect "success" "$b/index.html" \
  "method=GET,result=success,server=$b/index.html,status_code=200" \
  content_length=9i http_response_code=200i response_string_match=1i result_code=0i response_time=
expect "a 404 whose body does not match" "$b/missing" \
  "method=GET,result=response_string_mismatch,server=$b/missing,status_code=404" \
  http_response_code=404i response_string_match=0i result_code=1i
expect "connection_failed" "http://127.0.0.1:$closed/" \
  "method=GET,result=connection_failed,server=http://127.0.0.1:$closed/" result_code=3i
expect "dns_error" "http://nonexistent.invalid/" \
  "method=GET,result=dns_error,server=http://nonexistent.invalid/" result_code=5i
expect "timeout" "http://127.0.0.1:$silent/" \
  "method=GET,result=timeout,server=http://127.0.0.1:$silent/" result_code=4i
expect "https with tls_ca" "https://127.0.0.1:$https/" \
  "method=GET,result=success,server=https://127.0.0.1:$https/,status_code=200" \
  response_string_match=1i result_code=0i
expect "JSON health check; the password is hidden" "http://prober:xxxxx@127.0.0.1:$http/health.json" \
  "method=GET,result=success,server=http://prober:xxxxx@127.0.0.1:$http/health.json,status_code=200" \
  content_length=16i response_string_match=1i response_status_code_match=1i
expect "redirect not followed: response_status_code_mismatch" "$b/sub" \
  "method=GET,result=response_status_code_mismatch,server=$b/sub,status_code=301" \
  http_response_code=301i response_status_code_match=0i result_code=6i
for f in "$work/test.out" "$work/test.err"; do
  grep -q pa55word "$f" && fail "the URL's password shows in $(basename "$f")"
done
if grep -E 'result=(connection_failed|dns_error|timeout)' "$work/test.out" | grep -q 'response_time='; then
  fail "response_time on a probe without a response"
else
  ok "no response: no response_time, as in Telegraf"
fi

# ---- through outputs.prometheus: labels are the fixed vocabulary
cat > "$work/daemon.conf" <<CONF
agent = { omit_hostname = true; interval = "1s"; round_interval = false; flush_interval = "1s"; };
inputs = ( { plugin = "http_response";
  urls = ["http://127.0.0.1:$http/index.html", "http://127.0.0.1:$closed/",
          "http://nonexistent.invalid/", "http://u:pa55word@127.0.0.1:$silent/",
          "https://127.0.0.1:$https/"];
  response_timeout = "500ms"; } );
outputs = ( { plugin = "prometheus"; listen = "127.0.0.1:0"; } );
CONF
start_tower "$work/daemon.conf" "$work/daemon.log"
wait_for 5 grep -q "serving metrics on" "$work/daemon.log"
pport=$(sed -n 's/.*serving metrics on .* (port \([0-9]*\)).*/\1/p' "$work/daemon.log" | head -1)
scrape() { curl -sf "http://127.0.0.1:$pport/metrics" > "$work/scrape.txt" && grep -q 'result="timeout"' "$work/scrape.txt"; }
wait_for 10 scrape || fail "no http_response series on :$pport: $(cat "$work/daemon.log")"
series=$(grep -c '^http_response_result_code{' "$work/scrape.txt")
check "5 http_response_result_code series ($series)" test "$series" -eq 5
results=$(grep -o 'result="[^"]*"' "$work/scrape.txt" | sort -u | tr '\n' ' ')
check "result labels: $results" test "$results" = \
  'result="connection_failed" result="dns_error" result="success" result="timeout" '
bad=$(grep '^http_response' "$work/scrape.txt" | grep -E -v \
  '\{(method|result|server|status_code)="[^"]*"(,(method|result|server|status_code)="[^"]*")*\} ' || true)
check "no label but method, result, server, status_code" test -z "$bad"
grep -i -E -q 'refused|resolve|timed out|certificate|pa55word' "$work/scrape.txt" \
  && fail "an error text or a password reached the scrape: $(grep -i -E 'refused|resolve|timed|certificate|pa55word' "$work/scrape.txt")" \
  || ok "no error text and no password in the scrape"
# the https URL without tls_ca: verification fails, connection_failed
grep -q "^http_response_result_code{.*result=\"connection_failed\",server=\"https://127.0.0.1:$https/\"" \
  "$work/scrape.txt" && ok "an unknown CA is connection_failed" \
  || fail "https without tls_ca: $(grep "$https" "$work/scrape.txt")"
stop_tower TERM
check "the daemon stops (rc=$trc)" test "$trc" -eq 0

# ---- SIGTERM during a probe with a long deadline ends tower at once
cat > "$work/long.conf" <<CONF
agent = { omit_hostname = true; interval = "1s"; round_interval = false; flush_interval = "1h"; };
inputs = ( { plugin = "http_response"; urls = ["http://127.0.0.1:$silent/"]; response_timeout = "60s"; } );
outputs = ( { plugin = "record"; path = "$work/long.lp"; } );
CONF
start_tower "$work/long.conf" "$work/long.log"
# the first gather connects (within 1s), then waits for an answer
wait_for 5 grep -qi ":$(printf '%04X' "$silent") .* 01 " /proc/net/tcp \
  || fail "tower did not connect to the silent peer"
stop_tower TERM
check "SIGTERM during a probe: tower exits 0 (rc=$trc)" test "$trc" -eq 0
check "SIGTERM during a probe: stopped in ${tsecs}ms (< 3000)" test "$tsecs" -lt 3000
check "an abandoned probe makes no metric" test "$(lines "$work/long.lp")" -eq 0

# ---- configuration errors name file:line
cat > "$work/bad.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "http_response";
  urls = ["ftp://127.0.0.1/"]; } );
CONF
"$TOWER" --test --config "$work/bad.conf" >"$work/bad.out" 2>&1 \
  && fail "--test accepted ftp://" || ok "--test rejects ftp://"
check "the error names file:line" grep -q 'bad.conf:3: urls: "ftp://127.0.0.1/": only http:// and https://' \
  "$work/bad.out"

"$TOWER" sample-config inputs.http_response >"$work/sample.conf" 2>&1
check "sample-config has response_timeout = \"5s\"" grep -q 'response_timeout = "5s"' "$work/sample.conf"

finish
