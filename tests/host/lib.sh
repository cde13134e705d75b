# Live comparisons for the host inputs (sourced after tests/integration/lib.sh):
# the real prometheus-node-exporter (Debian), scraped by the test, read at
# the same moment as tower's own gather.

NODE_EXPORTER=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}

# start_node_exporter COLLECTOR...: runs node_exporter on a free loopback
# port with only these collectors (meminfo, filesystem, diskstats, netdev,
# loadavg, stat, processes, ...); sets $NE_URL. Nothing is skipped: a
# missing node_exporter fails the script.
start_node_exporter() {
  [ -x "$NODE_EXPORTER" ] || { echo "FAIL: $NODE_EXPORTER is missing: apt-get install prometheus-node-exporter (scripts/test installs it)"; exit 1; }
  ne_args="--collector.disable-defaults"
  for c in "$@"; do ne_args="$ne_args --collector.$c"; done
  for attempt in 1 2 3 4 5; do
    ne_port=$(shuf -i 20000-60000 -n 1)
    # shellcheck disable=SC2086
    "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$ne_port" $ne_args \
      > "$work/node_exporter.log" 2>&1 &
    ne_pid=$!
    pids="$pids $ne_pid"
    NE_URL="http://127.0.0.1:$ne_port/metrics"
    if wait_for 10 curl -sf -o /dev/null "$NE_URL"; then return 0; fi
    kill "$ne_pid" 2>/dev/null
  done
  echo "FAIL: node_exporter did not start: $(tail -5 "$work/node_exporter.log")"
  exit 1
}

# ne_scrape FILE: one scrape of node_exporter into FILE.
ne_scrape() { curl -sf "$NE_URL" > "$1" || fail "cannot scrape $NE_URL"; }

# ne_value FILE NAME [LABELS]: the value of series NAME whose labels contain
# LABELS (a literal fragment such as 'device="sda"'), from a scrape in FILE;
# empty when absent. Values in exponent form are printed as plain numbers.
ne_value() {
  awk -v name="$2" -v labels="${3:-}" '
    $0 ~ /^#/ { next }
    {
      series = $1; value = $2
      n = index(series, "{"); base = n ? substr(series, 1, n - 1) : series
      if (base != name) next
      if (labels != "" && index(series, labels) == 0) next
      printf "%.0f\n", value; exit
    }' "$1"
}

# close_to A B TOLERANCE: A and B differ by at most TOLERANCE (absolute) —
# for values that move between two reads a moment apart.
close_to() {
  awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}
