#!/bin/sh
# inputs.cloudwatch: requests and seconds for 1,000 metric x statistic
# queries (200 EC2 instances' CPUUtilization x 5 statistics, found through
# a wildcard) against the loopback CloudWatch stand-in
# (tests/fixtures/aws/aws_fixture.py; its own Python time is included in
# the wall time), then the CPU the agent spends per gather in a daemon
# gathering every second.
set -u
n=${CW_INSTANCES:-200}
secs=${CW_SECONDS:-10}
work=$(mktemp -d)
fx=""
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; [ -n "$fx" ] && kill $fx 2>/dev/null; rm -rf "$work"' EXIT
bin="$top_builddir/.libs/tower"
[ -x "$bin" ] || bin="$top_builddir/tower"
export LD_LIBRARY_PATH="$top_builddir/core/.libs" TOWER_PLUGIN_DIR="$top_builddir/plugin-dir"
export AWS_EC2_METADATA_DISABLED=true

python3 - "$n" > "$work/data.json" <<'PY'
import json, sys
n = int(sys.argv[1])
ms = [{"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
       "Dimensions": [{"Name": "InstanceId", "Value": "i-%04d" % i}],
       "values": {"Average": i + 0.5, "Maximum": i + 1, "Minimum": i, "SampleCount": 5,
                  "Sum": 5 * i + 2.5}} for i in range(n)]
print(json.dumps({"region": "us-east-1", "metrics": ms}))
PY
python3 "$top_srcdir/tests/fixtures/aws/aws_fixture.py" --port-file "$work/port" \
  --log "$work/fx.log" --data "$work/data.json" &
fx=$!
while [ ! -s "$work/port" ]; do sleep 0.05; done
ep="http://127.0.0.1:$(cat "$work/port")"

conf() { # conf PERIOD INTERVAL
  cat <<CONF
agent = { interval = "$2"; flush_interval = "1s"; };
inputs = ( { plugin = "cloudwatch"; region = "us-east-1"; endpoint_url = "$ep";
             access_key = "AKIDSTATIC"; secret_key = "static-secret"; ratelimit = 0;
             namespaces = ["AWS/EC2"]; period = "$1"; delay = "0s"; cache_ttl = "1h";
             metrics = ( { names = ["CPUUtilization"];
                           dimensions = ( { name = "InstanceId"; value = "i-*"; } ); } ); } );
outputs = ( { plugin = "file"; files = ["$work/out.lp"]; } );
CONF
}

conf 60s 60s > "$work/once.conf"
t0=$(date +%s%N)
"$bin" --config "$work/once.conf" --test > "$work/once.lp" 2> "$work/once.err"
t1=$(date +%s%N)
echo "one gather, $((n * 5)) queries: $(wc -l < "$work/once.lp") metrics," \
  "$(grep -c '"op": "ListMetrics"' "$work/fx.log") ListMetrics +" \
  "$(grep -c '"op": "GetMetricData"' "$work/fx.log") GetMetricData requests," \
  "$(echo "$t0 $t1" | awk '{printf "%.3f", ($2 - $1) / 1e9}') s (tower --test, start included)"

# The daemon: a 1 s period gathered every second; the list is cached.
conf 1s 1s > "$work/daemon.conf"
"$bin" --config "$work/daemon.conf" 2> "$work/daemon.err" &
pid=$!
sleep 3
hz=$(getconf CLK_TCK)
c0=$(awk '{print $14 + $15}' /proc/$pid/stat)
l0=$(wc -l < "$work/out.lp")
sleep "$secs"
c1=$(awk '{print $14 + $15}' /proc/$pid/stat)
l1=$(wc -l < "$work/out.lp")
gathers=$(( (l1 - l0) / n ))
rss=$(awk '/^VmHWM/ {print $2}' /proc/$pid/status)
echo "daemon, $((n * 5)) queries a gather: $gathers gathers in $secs s," \
  "CPU $(echo "$c0 $c1 $hz $gathers" | awk '{printf "%.1f ms", ($2-$1)/$3/($4 ? $4 : 1)*1000}') per gather," \
  "peak RSS ${rss} kB"
