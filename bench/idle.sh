#!/bin/sh
# Idle footprint: runs tower with examples/quickstart.conf (cpu every second
# into CSV) for a while and reports its resident memory and CPU use.
set -u
secs=${IDLE_SECONDS:-20}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
bin="$top_builddir/.libs/tower"
[ -x "$bin" ] || bin="$top_builddir/tower"
LD_LIBRARY_PATH="$top_builddir/core/.libs" TOWER_PLUGIN_DIR="$top_builddir/plugin-dir" \
  "$bin" --config "$top_srcdir/examples/quickstart.conf" 2>"$work/log" &
pid=$!
sleep 2
hz=$(getconf CLK_TCK)
t0=$(awk '{print $14 + $15}' /proc/$pid/stat)
sleep "$secs"
t1=$(awk '{print $14 + $15}' /proc/$pid/stat)
rss=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
hwm=$(awk '/^VmHWM/ {print $2}' /proc/$pid/status)
rows=$(wc -l < "$work/data/cpu.csv" 2>/dev/null || echo 0)
echo "idle tower (quickstart.conf, 1s interval, $secs s): RSS ${rss} kB (peak ${hwm} kB)," \
     "CPU $(echo "$t0 $t1 $hz $secs" | awk '{printf "%.3f%%", ($2-$1)/$3/$4*100}')," \
     "$rows CSV rows written"
