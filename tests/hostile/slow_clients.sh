#!/bin/sh
# One client must not stop tower's HTTP endpoints. The real tower daemon
# serves three prometheus outputs (plain HTTP, basic auth, HTTPS) with
# read_timeout = 2s; tests/hostile/slow_client holds 64 and then 1000 idle,
# header-trickling (a byte every 300 ms: every byte is activity) or
# never-handshaking TLS connections against them, from one address
# (127.0.0.2: the per-address limit must hold it to 16 connections) and
# from 100 addresses (127.0.0.2-127.0.0.101): with max_connections = 2048
# all of them are held, which only an event-driven server survives; with
# the default 512 the oldest waiting connections must make room for new
# ones. The attacker reconnects whatever is closed. While it is at work:
#   - curl scrapes from 127.0.0.1, a new connection each time: every scrape
#     must answer 200 in less than half the deadline (so it never waited
#     for an attacker to be cut);
#   - a real Prometheus server (Debian package prometheus) scrapes the
#     three endpoints every second with a 1 s timeout, over kept-alive
#     connections: through its HTTP API, up must stay 1 and
#     scrape_duration_seconds small for the whole run;
#   - the attackers' connections must be cut at the deadline (2 s after
#     accept, within scheduling slack), not kept alive by their bytes, or
#     earlier to make room.
# The scrape latencies are printed (p50/p99/max). Nothing is skipped: a
# missing prometheus, curl or openssl is a failure; CI runs as root, so the
# open-file limit can be raised.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/hostile/slow_lib.sh"

PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
for tool in "$PROMETHEUS" curl openssl "$SLOW_CLIENT"; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing: apt-get install prometheus curl openssl (scripts/test installs them)"
    exit 1
  }
done
"$TOWER" plugins 2>/dev/null | grep -q '^input  *cpu ' \
  || { echo "FAIL: inputs.cpu is not built (tower plugins does not list it)"; exit 1; }
# 1000 attacking sockets in slow_client, as many in tower.
ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null
[ "$(ulimit -n)" -ge 4096 ] \
  || { echo "FAIL: the open-file limit is $(ulimit -n); run as root or raise it to 4096"; exit 1; }

DEADLINE_MS=2000
BOUND_MS=$((DEADLINE_MS / 2))
PER_IP=16
SCRAPE_SECS=${SLOW_SCRAPE_SECONDS:-8}

# ---- TLS material: a CA and a server certificate for 127.0.0.1.
(
  cd "$work" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=slow-ca
  printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile san.ext
) >"$work/openssl.log" 2>&1 || { echo "FAIL: openssl: $(cat "$work/openssl.log")"; exit 1; }

common="listen = \"127.0.0.1:0\"; read_timeout = \"2s\";"
slow_start_tower "
  { plugin = \"prometheus\"; alias = \"plain\"; $common },
  { plugin = \"prometheus\"; alias = \"auth\"; $common max_connections = 2048;
    basic_username = \"prom\"; basic_password = \"s3cret\"; },
  { plugin = \"prometheus\"; alias = \"tls\"; $common max_connections = 2048;
    tls_cert = \"$work/server.pem\"; tls_key = \"$work/server.key\"; }"
wait_for 5 test -n "$(slow_port tls)"
plain=$(slow_port plain); auth=$(slow_port auth); tls=$(slow_port tls)
[ -n "$plain" ] && [ -n "$auth" ] && [ -n "$tls" ] && ok "tower serves on ports $plain, $auth, $tls" \
  || { fail "tower ports: $(cat "$work/tower.log")"; finish; }

# ---- Prometheus scrapes all three every second.
printf 's3cret' > "$work/password"
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
  - job_name: tls
    scheme: https
    tls_config: { ca_file: $work/ca.pem }
    static_configs: [ { targets: ["127.0.0.1:$tls"] } ]
YML
pport=$(shuf -i 20000-60000 -n 1)
while grep -qi ":$(printf '%04X' "$pport") " /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
  pport=$(shuf -i 20000-60000 -n 1)
done
"$PROMETHEUS" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$pport" --log.level=warn > "$work/prometheus.log" 2>&1 &
pids="$pids $!"
api="http://127.0.0.1:$pport"
wait_for 30 curl -sf "$api/-/ready" -o /dev/null && ok "prometheus ready on $pport" \
  || { fail "prometheus did not start: $(cat "$work/prometheus.log")"; finish; }
# value EXPR: the value of an instant query with one result ("" if none)
value() {
  curl -s -G "$api/api/v1/query" --data-urlencode "query=$1" \
    | sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'
}
all_up() {
  for job in plain auth tls; do [ "$(value "up{job=\"$job\"}")" = 1 ] || return 1; done
}
wait_for 30 all_up && ok "prometheus scrapes all three endpoints" \
  || { fail "prometheus scrapes: $(value up) $(cat "$work/prometheus.log")"; finish; }
t_start=$(date +%s)

# ---- curl, with no attack.
slow_scrape_for "$SCRAPE_SECS" "http://127.0.0.1:$plain/metrics"
echo "no attack, plain: $(slow_scrape_summary)"

# under_attack NAME PORT URL CURL-ARGS SLOW-CLIENT-ARGS...: holds the attack
# while curl scrapes URL, then checks the scrapes.
under_attack() {
  name=$1 aport=$2 url=$3 curl_args=$4; shift 4
  slow_attack "$aport" "$@"
  wait_for 15 slow_attack_held_at_least 1 \
    || fail "$name: the attack did not get in: $(cat "$work/attack.status" 2>/dev/null)"
  # shellcheck disable=SC2086 # curl_args is a list of words
  slow_scrape_for "$SCRAPE_SECS" "$url" $curl_args
  slow_attack_stop
  echo "$name: $(slow_scrape_summary)"
  echo "  attacker: $(cat "$work/attack.out")"
  [ "$(slow_scrape_failed)" = 0 ] && [ "$(slow_scrape_count)" -gt 0 ] \
    && ok "$name: every scrape answered 200" \
    || fail "$name: failed scrapes: $(awk '$1 != "200"' "$work/scrapes" | head -5 | tr '\n' ' ')"
  max=$(slow_scrape_pct 100)
  awk -v m="$max" -v b="$BOUND_MS" 'BEGIN { exit !(m < b) }' \
    && ok "$name: slowest scrape ${max} ms < $BOUND_MS ms (never waited for a deadline)" \
    || fail "$name: slowest scrape ${max} ms >= $BOUND_MS ms"
}

# cut_at_deadline NAME: the attacker's connections were cut at the
# deadline: not before, and not kept alive by their bytes.
cut_at_deadline() {
  name=$1
  cut=$(slow_attack_field cut); cmin=$(slow_attack_field cut_min_ms); cmax=$(slow_attack_field cut_max_ms)
  [ "${cut:-0}" -gt 0 ] && [ "$cmin" -ge $((DEADLINE_MS - 200)) ] \
      && [ "$cmax" -le $((DEADLINE_MS + 800)) ] \
    && ok "$name: $cut attacking connections cut at the deadline (${cmin}-${cmax} ms)" \
    || fail "$name: attackers not cut at the ${DEADLINE_MS} ms deadline: $(cat "$work/attack.out")"
}

# per_ip_held NAME: one address held no more than the per-address limit,
# and what it opened beyond was closed at once.
per_ip_held() {
  held=$(slow_attack_field max_held); refused=$(slow_attack_field refused)
  [ "$held" -le "$PER_IP" ] && [ "$refused" -gt 0 ] \
    && ok "$1: one address held $held connections (limit $PER_IP), $refused refused" \
    || fail "$1: one address held $held connections (limit $PER_IP), $refused refused"
}

# all_held NAME N: the attack from many addresses held at least N.
all_held() {
  held=$(slow_attack_field max_held)
  [ "$held" -ge "$2" ] && ok "$1: $held connections held at once, the scrapes unharmed" \
    || fail "$1: only $held connections held (wanted $2): the attack did not get in"
}

# made_room NAME: with more attackers than max_connections (512), the
# server held at most that many and cut the oldest waiting ones before
# their deadline to let new connections in.
made_room() {
  held=$(slow_attack_field max_held); cmin=$(slow_attack_field cut_min_ms)
  [ "$held" -le 512 ] && [ "$cmin" -lt $((DEADLINE_MS - 200)) ] \
    && ok "$1: $held connections held (max_connections 512), the oldest cut after ${cmin} ms" \
    || fail "$1: no room made: $(cat "$work/attack.out")"
}

url="http://127.0.0.1:$plain/metrics"
n="plain, 64 idle"
under_attack "$n" "$plain" "$url" "" -m idle -n 64 -r
cut_at_deadline "$n"; per_ip_held "$n"
n="plain, 1000 trickling"
under_attack "$n" "$plain" "$url" "" -m trickle -i 300 -n 1000 -r -R 500
cut_at_deadline "$n"; per_ip_held "$n"
n="plain, 1000 idle from 100 addresses"
under_attack "$n" "$plain" "$url" "" -m idle -n 1000 -s 127.0.0.2+100 -r -R 500
made_room "$n"

url="http://127.0.0.1:$auth/metrics"
n="auth, 1000 trickling from 100 addresses"
under_attack "$n" "$auth" "$url" "-u prom:s3cret" -m trickle -i 300 -n 1000 -s 127.0.0.2+100 -r -R 500
cut_at_deadline "$n"; all_held "$n" 900
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -u prom:wrong "$url")
[ "$code" = 401 ] && ok "auth: a wrong password still gets 401" || fail "auth: wrong password: $code"

url="https://127.0.0.1:$tls/metrics"
n="tls, 64 never handshaking"
under_attack "$n" "$tls" "$url" "--cacert $work/ca.pem" -m idle -n 64 -r
cut_at_deadline "$n"; per_ip_held "$n"
n="tls, 1000 trickling a handshake from 100 addresses"
under_attack "$n" "$tls" "$url" "--cacert $work/ca.pem" -m tls -i 300 -n 1000 -s 127.0.0.2+100 -r -R 500
cut_at_deadline "$n"; all_held "$n" 900

# A trickled handshake must cost the server nothing while it waits (an
# epoll loop of libmicrohttpd spins a core per such connection).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$tpid/stat"; }
slow_attack "$tls" -m tls -i 300 -n 8 -s 127.0.0.2+8 -r
wait_for 15 slow_attack_held_at_least 8
c0=$(cpu_ticks); sleep 3; c1=$(cpu_ticks)
slow_attack_stop
pct=$(( (c1 - c0) * 100 / (3 * $(getconf CLK_TCK)) ))
[ "$pct" -lt 20 ] && ok "tls, 8 trickling a handshake: tower used ${pct}% CPU" \
  || fail "tls, 8 trickling a handshake: tower used ${pct}% CPU (a busy loop?)"

# ---- Prometheus saw every scrape succeed, quickly, all along.
sleep 2
span=$(( $(date +%s) - t_start ))
for job in plain auth tls; do
  up=$(value "min_over_time(up{job=\"$job\"}[${span}s])")
  n=$(value "count_over_time(up{job=\"$job\"}[${span}s])")
  slowest=$(value "max_over_time(scrape_duration_seconds{job=\"$job\"}[${span}s])")
  [ "$up" = 1 ] && [ "${n:-0}" -ge $((span * 3 / 4)) ] \
    && ok "prometheus, $job: up == 1 in all $n scrapes over ${span}s" \
    || fail "prometheus, $job: min(up) = '$up' over $n scrapes in ${span}s"
  awk -v s="${slowest:-9}" 'BEGIN { exit !(s < 0.5) }' \
    && ok "prometheus, $job: slowest scrape ${slowest}s" \
    || fail "prometheus, $job: slowest scrape ${slowest}s (>= 0.5s)"
done

stop_tower TERM
[ "$trc" = 0 ] && ok "tower stopped cleanly (${tsecs} ms)" \
  || fail "tower exit $trc: $(tail -20 "$work/tower.log")"
grep -q ' E! ' "$work/tower.log" && fail "errors in the log: $(grep ' E! ' "$work/tower.log")" \
  || ok "no errors logged"
grep -q 'W! \[outputs.prometheus:plain\] max_connections (512) reached' "$work/tower.log" \
  && ok "making room was logged" || fail "making room was not logged: $(tail "$work/tower.log")"
finish
