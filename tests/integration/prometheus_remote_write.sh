#!/bin/sh
# outputs.prometheus_remote_write end to end: the real tower binary writes
# to a real Prometheus server (Debian package prometheus) started here with
# --web.enable-remote-write-receiver on a free port and a temporary storage
# directory, and Prometheus's HTTP API must give back every series with the
# same labels and values:
#  1. tower --once: integers, floats, tags whose characters need escaping in
#     line protocol, JSON and the exposition, several timestamps per series,
#     a histogram and a summary (parsed from the Prometheus text format);
#  2. an out-of-order sample (HTTP 400 for its whole request): refused
#     alone, counted and said, the rest of the batch stored;
#  3. the daemon with nobody listening: the batches are kept and retried,
#     and land once Prometheus starts on that port.
# Nothing is skipped: a missing prometheus, curl or python3 is a failure.
. "$top_srcdir/tests/integration/lib.sh"

PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
for tool in "$PROMETHEUS" curl python3; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing: apt-get install prometheus curl python3 (scripts/test installs them)"
    exit 1
  }
done
"$TOWER" plugins 2>/dev/null | grep -q '^output  *prometheus_remote_write ' \
  || { echo "FAIL: outputs.prometheus_remote_write is not built (tower plugins does not list it)"; exit 1; }

free_port() {
  while :; do
    p=$(shuf -i 20000-60000 -n 1)
    grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$p"; return; }
  done
}

# start_prometheus NAME PORT: runs Prometheus in $work/NAME; sets $ppid
start_prometheus() {
  mkdir -p "$work/$1"
  printf 'global:\n  scrape_interval: 1h\n' > "$work/$1/prometheus.yml"
  "$PROMETHEUS" --config.file="$work/$1/prometheus.yml" --storage.tsdb.path="$work/$1/data" \
    --web.listen-address="127.0.0.1:$2" --web.enable-remote-write-receiver \
    > "$work/$1/log" 2>&1 &
  ppid=$!
  pids="$pids $ppid"
  wait_for 30 curl -sf "http://127.0.0.1:$2/-/ready" -o /dev/null \
    || { echo "FAIL: Prometheus did not start: $(tail -5 "$work/$1/log")"; exit 1; }
}

# series PORT SELECTOR AT: every sample of SELECTOR over the hour before AT
# (Unix seconds), one line per series: name{labels} t=v t=v ...
series() {
  curl -s -G "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2[1h]" \
    --data-urlencode "time=$3" | python3 -c '
import json, sys
for s in sorted(json.load(sys.stdin)["data"]["result"], key=lambda s: sorted(s["metric"].items())):
    m = dict(s["metric"]); name = m.pop("__name__")
    labels = ",".join("%s=%s" % kv for kv in sorted(m.items()))
    print("%s{%s} %s" % (name, labels, " ".join("%d=%s" % (t, v) for t, v in s["values"])))'
}

# ---- 1. what tower --once writes comes back ------------------------------------------
port=$(free_port)
start_prometheus p1 "$port"
url="http://127.0.0.1:$port/api/v1/write"
t0=$(( $(date +%s) - 600 ))
t1=$((t0 + 15)); t2=$((t0 + 30))

cat > "$work/lines.sh" <<EOF
#!/bin/sh
cat <<'LP'
app_requests,path=/api\\ v1,code=200,note=a\\,b\\=c\\d"e total=42i,rate=1.5 ${t1}000000000
app_requests,path=/api\\ v1,code=200,note=a\\,b\\=c\\d"e total=40i,rate=0.25 ${t0}000000000
app_requests,path=/api\\ v1,code=200,note=a\\,b\\=c\\d"e total=45i,rate=-3e-05 ${t2}000000000
app_requests,path=/health,code=503,city=Zürich total=7i ${t0}000000000
temp,sensor=é\\ 1 value=-12.75 ${t1}000000000
LP
EOF
cat > "$work/prom.sh" <<EOF
#!/bin/sh
cat <<'PROM'
# TYPE req_seconds histogram
req_seconds_bucket{le="0.1"} 3 ${t1}000
req_seconds_bucket{le="0.5"} 4 ${t1}000
req_seconds_bucket{le="+Inf"} 5 ${t1}000
req_seconds_sum 0.7 ${t1}000
req_seconds_count 5 ${t1}000
# TYPE queue_seconds summary
queue_seconds{quantile="0.9"} 0.05 ${t1}000
queue_seconds_sum 1.5 ${t1}000
queue_seconds_count 100 ${t1}000
PROM
EOF
chmod +x "$work/lines.sh" "$work/prom.sh"

cat > "$work/once.conf" <<EOF
agent = { omit_hostname = true; };
inputs = (
  { plugin = "exec"; commands = ( ["$work/lines.sh"] ); data_format = "influx"; },
  { plugin = "exec"; commands = ( ["$work/prom.sh"] ); data_format = "prometheus"; }
);
outputs = ( { plugin = "prometheus_remote_write"; url = "$url"; } );
EOF
"$TOWER" --once --config "$work/once.conf" > "$work/once.log" 2>&1
orc=$?
[ "$orc" = 0 ] && ok "tower --once exits 0" || fail "tower --once exits $orc: $(cat "$work/once.log")"

series "$port" '{__name__=~"app_.*|temp|req_.*|queue_.*"}' "$((t2 + 60))" > "$work/got"
cat > "$work/want" <<EOF
app_requests_rate{code=200,note=a,b=c\\d"e,path=/api v1} $t0=0.25 $t1=1.5 $t2=-0.00003
app_requests_total{code=200,note=a,b=c\\d"e,path=/api v1} $t0=40 $t1=42 $t2=45
app_requests_total{city=Zürich,code=503,path=/health} $t0=7
queue_seconds{quantile=0.9} $t1=0.05
queue_seconds_count{} $t1=100
queue_seconds_sum{} $t1=1.5
req_seconds_bucket{le=+Inf} $t1=5
req_seconds_bucket{le=0.1} $t1=3
req_seconds_bucket{le=0.5} $t1=4
req_seconds_count{} $t1=5
req_seconds_sum{} $t1=0.7
temp{sensor=é 1} $t1=-12.75
EOF
sort "$work/want" > "$work/want.sorted"
sort "$work/got" > "$work/got.sorted"
if cmp -s "$work/want.sorted" "$work/got.sorted"; then
  ok "Prometheus returns every series with its labels and values"
else
  fail "series differ (want, got):
$(diff "$work/want.sorted" "$work/got.sorted")"
fi

# ---- 2. an out-of-order sample is refused alone, counted and said --------------------
# Prometheus refuses a whole request for one sample older than the newest of
# its series (HTTP 400): tower sends the halves on their own until the bad
# metric is refused alone; the others are stored.
cat > "$work/old.conf" <<EOF
agent = { omit_hostname = true; };
inputs = ( { plugin = "exec"; commands = ( ["$work/old.sh"] ); data_format = "influx"; } );
outputs = ( { plugin = "prometheus_remote_write"; url = "$url"; } );
EOF
cat > "$work/old.sh" <<EOF
#!/bin/sh
cat <<'LP'
fresh value=1 ${t2}000000000
temp,sensor=é\\ 1 value=1 ${t0}000000000
fresh2 value=2 ${t2}000000000
LP
EOF
chmod +x "$work/old.sh"
"$TOWER" --once --config "$work/old.conf" > "$work/old.log" 2>&1
orc=$?
check "out of order: tower --once exits 1 (a metric was lost)" [ "$orc" = 1 ]
check "out of order: the refusal and the loss are logged" \
  grep -q "lost: 1 of 3 metrics refused by $url (1 sample; HTTP 400: out of order sample)" "$work/old.log"
check "out of order: counted as rejected" grep -q "1 rejected by the server" "$work/old.log"
check "out of order: the other metrics of the batch were stored" \
  [ "$(series "$port" '{__name__=~"fresh.*"}' "$((t2 + 60))" | wc -l)" = 2 ]
got=$(series "$port" temp "$((t2 + 60))")
[ "$got" = "temp{sensor=é 1} $t1=-12.75" ] && ok "out of order: the refused sample is not stored" \
  || fail "temp: $got"

# ---- 3. the daemon keeps what it cannot send and delivers it later -------------------
port2=$(free_port)
cat > "$work/daemon.conf" <<EOF
agent = { interval = "1s"; flush_interval = "300ms"; omit_hostname = true;
          retry_backoff_min = "100ms"; retry_backoff_max = "500ms"; };
inputs = ( { plugin = "exec"; commands = ( ["$work/probe.sh"] ); data_format = "influx"; } );
outputs = ( { plugin = "prometheus_remote_write"; url = "http://127.0.0.1:$port2/api/v1/write"; } );
EOF
printf '#!/bin/sh\necho "retry_probe value=1i"\n' > "$work/probe.sh"
chmod +x "$work/probe.sh"
start_tower "$work/daemon.conf" "$work/daemon.log"
check "unreachable: the failure is logged and the batch kept" \
  wait_for 30 grep -q "cannot send to http://127.0.0.1:$port2/api/v1/write: .*the batch ([0-9]* metrics\{0,1\}) is kept" "$work/daemon.log"
# Repeated errors are rate-limited, so the log shows the first failure only:
# let the clock pass the second of that first gather, whose sample must
# then predate the server.
failed_at=$(date +%s)
wait_for 3 sh -c "[ \$(date +%s) -gt $failed_at ]"
up_at=$(date +%s)
start_prometheus p2 "$port2"
# The first sample was gathered before Prometheus ran: it was kept.
first_sample() { series "$port2" retry_probe "$(date +%s)" | awk '{ split($2, a, "="); print a[1] }'; }
check "unreachable: the kept metrics land once Prometheus runs" \
  wait_for 30 sh -c "[ -n \"\$(curl -s -G http://127.0.0.1:$port2/api/v1/query --data-urlencode 'query=retry_probe' | grep retry_probe)\" ]"
first=$(first_sample)
check "unreachable: the earliest sample ($first) predates the server ($up_at)" \
  test "${first:-$up_at}" -lt "$up_at"
stop_tower TERM
[ "$trc" = 0 ] && ok "daemon exits 0 on SIGTERM" \
  || fail "daemon exits $trc on SIGTERM: $(tail -20 "$work/daemon.log")"

finish
