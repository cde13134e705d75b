#!/bin/sh
# Memory per buffered metric with the output down, measured on the whole
# agent (RSS), tower beside Fluent Bit in one invocation.
#
# Each agent runs `cat FEED` every second: BENCH_LINES (default 100000)
# metrics of 1000 series in 5 shapes (cpu x2, mem, disk, net), values changing
# on every line; line protocol for tower's inputs.exec, the same records as
# JSON lines for Fluent Bit's exec input (json parser, storage.type memory).
# Each one's output (tower: outputs.influxdb; Fluent Bit: http, Retry_Limit
# False) points at a closed port, so everything gathered stays buffered.
#
# The command is `sh gate.sh DATA`, which `cat`s DATA while the gathers
# so far are fewer than the script allows and prints nothing otherwise
# (gathers never overlap in either agent), so both take exactly the same
# records: 1 gather, then RSS_1 is read; up to BENCH_GATHERS (default 10),
# then RSS_N. Each sample is read BENCH_SETTLE seconds (default 3) after the
# agent reported the last gather's records, while it idles. The figure is
# (RSS_N - RSS_1) / (metrics buffered at N - at 1), the counts taken from the
# agents themselves: tower's internal_write.buffer_size (inputs.internal into
# an outputs.file), Fluent Bit's input record count on its HTTP API. Private
# memory (smaps_rollup Private_*) is printed beside RSS.
#
# BENCH_RUNS (default 3) runs alternate tower and Fluent Bit; the table holds
# every run and the medians. Without FLUENT_BIT only tower runs.
#
#   top_builddir=build top_srcdir=. FLUENT_BIT=/path/to/fluent-bit \
#     sh bench/buffer_memory.sh
set -u
: "${top_builddir:?set top_builddir to the build directory, or run make bench-buffer-memory}"
lines=${BENCH_LINES:-100000}
gathers=${BENCH_GATHERS:-10}
runs=${BENCH_RUNS:-3}
settle=${BENCH_SETTLE:-3}
dead=${BENCH_DEAD_PORT:-9}
FLUENT_BIT=${FLUENT_BIT:-}
[ "$gathers" -ge 2 ] || { echo "BENCH_GATHERS must be 2 or more"; exit 1; }
if ss -ltnH "sport = :$dead" 2>/dev/null | grep -q .; then
  echo "port $dead is served here: set BENCH_DEAD_PORT to a closed port"; exit 1
fi
if [ -n "$FLUENT_BIT" ] && ! [ -x "$FLUENT_BIT" ]; then
  echo "FLUENT_BIT=$FLUENT_BIT is not an executable"; exit 1
fi
command -v curl >/dev/null || [ -z "$FLUENT_BIT" ] || { echo "curl is missing"; exit 1; }

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the input: one file per format, the same records ----
awk -v n="$lines" -v lp="$work/data.lp" -v js="$work/data.json" 'BEGIN {
  split("usage_user usage_system usage_idle usage_iowait usage_irq usage_softirq usage_steal usage_guest", cf)
  split("used free available used_percent", mf)
  split("total used free used_percent inodes_used", df)
  split("bytes_sent bytes_recv packets_sent packets_recv err_in err_out drop_in drop_out", nf)
  for (i = 0; i < n; i++) {
    s = i % 1000; host = sprintf("web%03d", int(s / 5)); kind = s % 5
    ts = 1700000000 + int(i / 1000)
    if (kind < 2) {
      name = "cpu"; tl = ",cpu=cpu" kind; tj = ",\"cpu\":\"cpu" kind "\""; al = aj = ""; nk = 8
      for (f = 1; f <= nk; f++) { key[f] = cf[f]; v[f] = sprintf("%.2f", ((i * 37 + f * 101) % 10000) / 100); int_[f] = 0 }
    } else if (kind == 2) {
      name = "mem"; tl = tj = al = aj = ""; nk = 4
      for (f = 1; f <= nk; f++) { key[f] = mf[f]; int_[f] = 1 }
      v[1] = sprintf("%.0f", 4000000000 + i * 4096); v[2] = sprintf("%.0f", 12000000000 - i * 4096)
      v[3] = sprintf("%.0f", 13000000000 - i * 2048)
      v[4] = sprintf("%.3f", (i % 10000) / 100); int_[4] = 0
    } else if (kind == 3) {
      name = "disk"; tl = ",device=sda1,fstype=ext4"; tj = ",\"device\":\"sda1\",\"fstype\":\"ext4\""
      al = ",path=/"; aj = ",\"path\":\"/\""; nk = 5
      for (f = 1; f <= nk; f++) { key[f] = df[f]; int_[f] = 1 }
      v[1] = "500000000000"; v[2] = sprintf("%.0f", 100000000000 + i * 512)
      v[3] = sprintf("%.0f", 400000000000 - i * 512)
      v[4] = sprintf("%.3f", 20 + (i % 1000) / 1000); int_[4] = 0; v[5] = 300000 + i
    } else {
      name = "net"; tl = tj = ""; al = ",interface=eth0"; aj = ",\"interface\":\"eth0\""; nk = 8
      for (f = 1; f <= nk; f++) { key[f] = nf[f]; int_[f] = 1; v[f] = sprintf("%.0f", (f < 5 ? 1000000 * f : 0) + i * f) }
    }
    # tags in order, as Telegraf writes them
    l = name tl ",host=" host al " "; j = "{\"measurement\":\"" name "\"" tj ",\"host\":\"" host "\"" aj
    for (f = 1; f <= nk; f++) {
      l = l (f > 1 ? "," : "") key[f] "=" v[f] (int_[f] ? "i" : "")
      j = j ",\"" key[f] "\":" v[f]
    }
    print l " " ts "000000000" > lp
    print j ",\"time\":" ts "}" > js
  }
}'

# The command both agents run: `cat DATA` while fewer than $work/allow runs
# have done so.
cat > "$work/gate.sh" <<'GATE'
done=$(cat "${1%/*}/done") allow=$(cat "${1%/*}/allow")
[ "$done" -lt "$allow" ] || exit 0
echo $((done + 1)) > "${1%/*}/done"
exec cat "$1"
GATE
# Lets the command cat the data until N runs in all have.
allow() { echo "$1" > "$work/allow.tmp" && mv -f "$work/allow.tmp" "$work/allow"; }
gate_reset() { echo 0 > "$work/done"; allow 1; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
priv_kb() { awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' "/proc/$1/smaps_rollup"; }
alive() { kill -0 "$pid" 2>/dev/null || { echo "$1 died; its log:"; cat "$2"; exit 1; }; }

# Waits until "$@" succeeds (every 20 ms, at most 120 s); LOG is shown if not.
wait_for() {
  what=$1 log=$2; shift 2
  tries=0
  until "$@"; do
    alive "$what" "$log"
    tries=$((tries + 1))
    [ $tries -le 6000 ] || { echo "$what: timed out waiting for: $*"; cat "$log"; exit 1; }
    sleep 0.02
  done
}

# ---- tower ----
tower_conf() {
  cat > "$work/tower.conf" <<CONF
agent = { interval = "1s"; flush_interval = "1s"; omit_hostname = true; };
inputs = (
  { plugin = "exec"; commands = ( ["/bin/sh", "$work/gate.sh", "$work/data.lp"] ); data_format = "influx";
    max_output = "1GiB"; timeout = "30s"; },
  { plugin = "internal"; collect_process = false; }
);
outputs = (
  { plugin = "influxdb"; urls = ["http://127.0.0.1:$dead"]; database = "bench";
    metric_buffer_limit = $((lines * (gathers + 2))); namedrop = ["internal*"]; },
  { plugin = "file"; files = ["$work/stats.lp"]; namepass = ["internal_write"]; }
);
CONF
}
tower_gathers() {
  grep -c "inputs.exec.*gathered $lines metrics" "$work/tower.log"
}
tower_has_gathers() { [ "$(tower_gathers)" -ge "$1" ]; }
# The influxdb output's buffer_size in the last internal_write lines written.
tower_sizes() {
  grep 'output=influxdb' "$work/stats.lp" 2>/dev/null |
    sed -n 's/.*buffer_size=\([0-9]*\)i.*/\1/p'
}
# Two reports written after the settling time, both the same.
tower_stable() {
  [ "$(tower_sizes | wc -l)" -ge $(($1 + 2)) ] &&
    [ "$(tower_sizes | tail -2 | uniq | wc -l)" -eq 1 ]
}
# Sets buffered to the output's buffer_size once it is steady.
tower_buffered() {
  before=$(tower_sizes | wc -l)
  wait_for tower "$work/tower.log" tower_stable "$before"
  buffered=$(tower_sizes | tail -1)
}

run_tower() {
  rm -f "$work/stats.lp"
  gate_reset
  tower_conf
  : > "$work/tower.log"
  bin="$top_builddir/.libs/tower"
  [ -x "$bin" ] || bin="$top_builddir/tower"
  LD_LIBRARY_PATH="$top_builddir/core/.libs" TOWER_PLUGIN_DIR="$top_builddir/plugin-dir" \
    "$bin" --config "$work/tower.conf" --log-level debug 2> "$work/tower.log" &
  pid=$!
  wait_for tower "$work/tower.log" tower_has_gathers 1
  sleep "$settle"
  r1=$(rss_kb $pid) p1=$(priv_kb $pid)
  tower_buffered
  n1=$buffered
  allow "$gathers"
  wait_for tower "$work/tower.log" tower_has_gathers "$gathers"
  sleep "$settle"
  rN=$(rss_kb $pid) pN=$(priv_kb $pid)
  tower_buffered
  nN=$buffered
  kill -TERM $pid; wait $pid 2>/dev/null; pid=
  result tower
}

# ---- Fluent Bit ----
free_port() {
  p=$((20000 + $$ % 20000))
  while ss -ltnH "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo $p
}
fluent_conf() {
  printf '[PARSER]\n    Name json\n    Format json\n    Time_Key time\n    Time_Format %%s\n' \
    > "$work/parsers.conf"
  cat > "$work/fluent-bit.conf" <<CONF
[SERVICE]
    Flush 1
    Log_Level error
    Parsers_File $work/parsers.conf
    HTTP_Server On
    HTTP_Listen 127.0.0.1
    HTTP_Port $api

[INPUT]
    Name exec
    Command sh $work/gate.sh $work/data.json
    Parser json
    Interval_Sec 1
    Buf_Size 64k
    storage.type memory

[OUTPUT]
    Name http
    Match *
    Host 127.0.0.1
    Port $dead
    Format json_lines
    Retry_Limit False
CONF
}
# The exec input's record count (empty while the API does not answer).
fluent_records() {
  curl -s -m 1 "http://127.0.0.1:$api/api/v1/metrics" |
    sed -n 's/.*"exec\.0":{"records":\([0-9]*\).*/\1/p'
}
fluent_has() { r=$(fluent_records); [ -n "$r" ] && [ "$r" -ge "$1" ]; }

run_fluent() {
  api=$(free_port)
  gate_reset
  fluent_conf
  "$FLUENT_BIT" -c "$work/fluent-bit.conf" > "$work/fluent.log" 2>&1 &
  pid=$!
  wait_for fluent-bit "$work/fluent.log" fluent_has "$lines"
  sleep "$settle"
  r1=$(rss_kb $pid) p1=$(priv_kb $pid)
  n1=$(fluent_records)
  allow "$gathers"
  wait_for fluent-bit "$work/fluent.log" fluent_has $((gathers * lines))
  sleep "$settle"
  rN=$(rss_kb $pid) pN=$(priv_kb $pid)
  nN=$(fluent_records)
  if curl -s "http://127.0.0.1:$api/api/v1/metrics" | grep -q '"dropped_records":[1-9]'; then
    echo "fluent-bit dropped records: the figure would be wrong"; exit 1
  fi
  kill -9 $pid; wait $pid 2>/dev/null; pid=
  result "Fluent Bit"
}

# One row per run, kept for the medians: agent|n1|nN|rss1|rssN|B/metric|priv B/metric
result() {
  if [ "$n1" -ne "$lines" ] || [ "$nN" -ne $((gathers * lines)) ]; then
    echo "$1 buffered $n1 and $nN metrics, not $lines and $((gathers * lines)); its log:"
    cat "$work"/*.log; exit 1
  fi
  echo "$1|$n1|$nN|$r1|$rN|$(((rN - r1) * 1024 / (nN - n1)))|$(((pN - p1) * 1024 / (nN - n1)))" \
    >> "$work/rows"
}

: > "$work/rows"
run=0
while [ $run -lt "$runs" ]; do
  run_tower
  [ -z "$FLUENT_BIT" ] || run_fluent
  run=$((run + 1))
done

echo "memory per buffered metric, output down: $lines metrics per gather (1000 series), $gathers gathers, $runs runs"
awk -F'|' -v fb="$FLUENT_BIT" '
  { printf "  %-11s buffered %8d -> %8d  RSS %7d -> %7d kB  %6d B/metric (private %6d)\n", $1, $2, $3, $4, $5, $6, $7
    v[$1, ++c[$1]] = $6; p[$1, c[$1]] = $7 }
  function median(a, who,   n, i, j, t, s) {
    n = c[who]; for (i = 1; i <= n; i++) s[i] = a[who, i]
    for (i = 2; i <= n; i++) for (j = i; j > 1 && s[j - 1] > s[j]; j--) { t = s[j]; s[j] = s[j - 1]; s[j - 1] = t }
    return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
  }
  END {
    printf "  median: tower %d B/metric (private %d)", median(v, "tower"), median(p, "tower")
    if (fb != "") {
      printf ", Fluent Bit %d B/record (private %d); tower / Fluent Bit %.2f", \
        median(v, "Fluent Bit"), median(p, "Fluent Bit"), median(v, "tower") / median(v, "Fluent Bit")
    } else printf "; Fluent Bit skipped (set FLUENT_BIT to a fluent-bit binary)"
    printf "\n"
  }' "$work/rows"
