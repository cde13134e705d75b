#!/bin/sh
# The shipped configurations: each passes --config-check, and the quickstart
# runs end to end (cpu -> csv) without any server.
. "$top_srcdir/tests/integration/lib.sh"

for conf in "$top_srcdir"/examples/*.conf; do
  name=$(basename "$conf")
  (cd "$work" && "$TOWER" --config "$conf" --config-check >"$work/$name.out" 2>&1) \
    && ok "$name passes --config-check" || fail "$name: $(cat "$work/$name.out")"
done

# quickstart: --once from a scratch directory writes ./data/cpu.csv.
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
finish
