#!/bin/sh
# The shipped configurations: each passes --config-check, and the quickstart
# runs end to end (cpu, mem, disk, net, system -> csv) without any server.
. "$top_srcdir/tests/integration/lib.sh"

for conf in "$top_srcdir"/examples/*.conf; do
  name=$(basename "$conf")
  (cd "$work" && "$TOWER" --config "$conf" --config-check >"$work/$name.out" 2>&1) \
    && ok "$name passes --config-check" || fail "$name: $(cat "$work/$name.out")"
done

# quickstart: --once from a scratch directory writes ./data/*.csv.
mkdir -p "$work/qs"
(cd "$work/qs" && "$TOWER" --config "$top_srcdir/examples/quickstart.conf" --once >"$work/qs.out" 2>&1) \
  && ok "quickstart --once" || fail "quickstart --once: $(cat "$work/qs.out")"
csv="$work/qs/data/cpu.csv"
head -1 "$csv" | grep -q '^timestamp,cpu,host,usage_guest,usage_guest_nice,usage_idle,usage_iowait,usage_irq,usage_nice,usage_softirq,usage_steal,usage_system,usage_user$' \
  && ok "cpu.csv header: $(head -1 "$csv")" || fail "cpu.csv header: $(head -1 "$csv" 2>&1)"
ncpu=$(grep -c '^cpu[0-9]' /proc/stat)
rows=$(($(lines "$csv") - 1))
[ "$rows" -eq $((ncpu + 1)) ] && ok "one row per CPU and cpu-total ($rows)" || fail "$rows rows for $ncpu CPUs"
grep -q ',cpu-total,' "$csv" && ok "cpu-total row" || fail "no cpu-total row"
# usage_user excludes guest (as in Telegraf), so all ten usage columns sum to 100
awk -F, 'NR > 1 { s = 0; for (i = 4; i <= 13; i++) s += $i; if (s < 99 || s > 101) bad++ }
         END { exit bad > 0 }' "$csv" && ok "usage columns sum to 100" || fail "usage sums off: $(cat "$csv")"

# mem.csv: the total is MemTotal of /proc/meminfo, in bytes
mem="$work/qs/data/mem.csv"
total=$(awk '/^MemTotal:/ { printf "%.0f", $2 * 1024 }' /proc/meminfo)
col() { head -1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }
c=$(col "$mem" total)
[ -n "$c" ] && [ "$(sed -n 2p "$mem" | cut -d, -f"$c")" = "$total" ] \
  && ok "mem.csv total = MemTotal ($total bytes)" || fail "mem.csv: $(head -2 "$mem" 2>&1)"
# system.csv: the CPU count
sys="$work/qs/data/system.csv"
c=$(col "$sys" n_cpus)
[ -n "$c" ] && cut -d, -f"$c" "$sys" | grep -qx "$(nproc --all)" \
  && ok "system.csv n_cpus = $(nproc --all)" || fail "system.csv: $(cat "$sys" 2>&1)"
# disk.csv: a row for / unless its filesystem is one disk leaves out (a
# container's overlay root)
rootfs=$(awk '$2 == "/" { t = $3 } END { print t }' /proc/mounts)
case $rootfs in
  tmpfs | devtmpfs | devfs | iso9660 | overlay | aufs | squashfs) ok "/ is $rootfs, which disk leaves out" ;;
  *) grep -q ",rw,/,\|,ro,/," "$work/qs/data/disk.csv" 2>/dev/null && ok "disk.csv has /" \
       || fail "no row for / ($rootfs) in disk.csv: $(cat "$work/qs/data/disk.csv" 2>&1)" ;;
esac
# net.csv: one row per interface that is up, loopback left out
up=$(for d in /sys/class/net/*; do
  [ "$(basename "$d")" != lo ] && [ "$(cat "$d/operstate" 2>/dev/null)" = up ] && basename "$d"; done | sort)
got=$(tail -n +2 "$work/qs/data/net.csv" 2>/dev/null | cut -d, -f3 | sort -u)
[ "$got" = "$up" ] && ok "net.csv: interfaces $(echo $up)" || fail "net.csv has [$(echo $got)], up: [$(echo $up)]"
finish
