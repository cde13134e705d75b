#!/bin/sh
# tower beside collectd doing the same host work, in the same run: cpu,
# memory, df, disk, interface, load, processes and swap every second, one
# read and one write thread for collectd (its csv writer), the matching
# inputs for tower (its csv output). Both run at once for BENCH_SECONDS
# (default 60); then each one's private memory (USS: Private_Clean +
# Private_Dirty of /proc/PID/smaps_rollup) and CPU time (utime + stime) are
# read and the ratios printed. Needs collectd (Debian: collectd-core); it
# is a comparison, not part of `make check`.
#
#   top_builddir=build top_srcdir=. sh bench/host_vs_collectd.sh
set -u
secs=${BENCH_SECONDS:-60}
COLLECTD=${COLLECTD:-/usr/sbin/collectd}
[ -x "$COLLECTD" ] || { echo "collectd is missing: apt-get install collectd-core"; exit 1; }
work=$(mktemp -d)
trap 'kill $tpid $cpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
plugins=$(dirname "$(dpkg -L collectd-core | grep '/cpu.so$' | head -1)")

cat > "$work/collectd.conf" <<CONF
Interval 1
ReadThreads 1
WriteThreads 1
FQDNLookup false
PIDFile "$work/collectd.pid"
PluginDir "$plugins"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin cpu
LoadPlugin memory
LoadPlugin df
LoadPlugin disk
LoadPlugin interface
LoadPlugin load
LoadPlugin processes
LoadPlugin swap
LoadPlugin csv
<Plugin csv>
  DataDir "$work/collectd-csv"
  StoreRates true
</Plugin>
CONF
cat > "$work/tower.conf" <<CONF
agent = { interval = "1s"; flush_interval = "1s"; };
inputs = ( { plugin = "cpu"; percpu = true; totalcpu = true; }, { plugin = "mem"; },
           { plugin = "disk"; }, { plugin = "diskio"; }, { plugin = "net"; },
           { plugin = "system"; }, { plugin = "processes"; }, { plugin = "swap"; } );
outputs = ( { plugin = "csv"; directory = "$work/tower-csv"; } );
CONF

bin="$top_builddir/.libs/tower"
[ -x "$bin" ] || bin="$top_builddir/tower"
LD_LIBRARY_PATH="$top_builddir/core/.libs" TOWER_PLUGIN_DIR="$top_builddir/plugin-dir" \
  "$bin" --config "$work/tower.conf" 2> "$work/tower.log" &
tpid=$!
"$COLLECTD" -f -C "$work/collectd.conf" > "$work/collectd.log" 2>&1 &
cpid=$!
sleep 2
for p in $tpid $cpid; do kill -0 "$p" 2>/dev/null || { echo "an agent died:"; cat "$work"/*.log; exit 1; }; done

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
uss() { awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' "/proc/$1/smaps_rollup"; }
t0=$(ticks $tpid) c0=$(ticks $cpid)
sleep "$secs"
t1=$(ticks $tpid) c1=$(ticks $cpid)
tu=$(uss $tpid) cu=$(uss $cpid)
hz=$(getconf CLK_TCK)
awk -v tt=$((t1 - t0)) -v ct=$((c1 - c0)) -v tu="$tu" -v cu="$cu" -v hz="$hz" -v s="$secs" 'BEGIN {
  printf "host inputs every second for %d s, side by side:\n", s
  printf "  %-9s USS %6d kB   CPU %6.2f s (%.2f%%)\n", "tower", tu, tt / hz, tt / hz / s * 100
  printf "  %-9s USS %6d kB   CPU %6.2f s (%.2f%%)\n", "collectd", cu, ct / hz, ct / hz / s * 100
  printf "  tower / collectd: private memory %.2fx, CPU %.2fx\n", tu / cu, (ct ? tt / ct : 0)
}'
