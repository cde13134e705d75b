# A real InfluxDB 1.x server (Debian's influxd) for integration scripts
# (sourced after tests/integration/lib.sh). Nothing is skipped: a missing
# influxd or curl fails the script with what to install.

INFLUXD=${INFLUXD:-/usr/bin/influxd}
for tool in "$INFLUXD" curl; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing: apt-get install influxdb curl (scripts/test installs them)"
    exit 1
  }
done

# free_port: a TCP port nobody listens on now.
free_port() {
  while :; do
    p=$(shuf -i 20000-60000 -n 1)
    grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$p"; return; }
  done
}

# start_influxd NAME [AUTH]: a server with its data under $work/NAME (AUTH:
# true or false, the default); sets $api (http://127.0.0.1:PORT) and
# $ipid_NAME. Starting NAME again after stop_influxd NAME reuses its data
# and its ports, as a restarted server would.
start_influxd() {
  d="$work/$1"
  if [ ! -f "$d/influxdb.conf" ]; then
    mkdir -p "$d"
    cat > "$d/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$(free_port)"
[meta]
  dir = "$d/meta"
[data]
  dir = "$d/data"
  wal-dir = "$d/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$(free_port)"
  auth-enabled = ${2:-false}
  log-enabled = false
  max-row-limit = 0
[continuous_queries]
  enabled = false
CONF
  fi
  "$INFLUXD" -config "$d/influxdb.conf" >> "$d/influxd.log" 2>&1 &
  eval "ipid_$1=$!"
  pids="$pids $!"
  api="http://$(sed -n 's/^  bind-address = "\(.*\)"/\1/p' "$d/influxdb.conf")"
  wait_for 30 sh -c "curl -s -o /dev/null -w '%{http_code}' '$api/ping' | grep -q 204" \
    || { fail "influxd $1 did not start: $(tail -5 "$d/influxd.log")"; finish; }
}

# stop_influxd NAME: stops it and waits (SIGTERM: it flushes what it took).
stop_influxd() {
  eval "p=\$ipid_$1"
  kill "$p" && wait "$p"
  pids=$(echo " $pids " | sed "s/ $p / /")
}
