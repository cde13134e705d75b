#!/bin/sh
# inputs.kernel on this machine, compared with the real node_exporter (stat,
# entropy and pressure collectors) read just before and just after
# `tower --test`: the counters only grow, so tower's must lie between the
# two scrapes; boot time is fixed. Nothing is skipped: a missing
# node_exporter is a failure; without KSM or PSI in this kernel, tower must
# refuse collect = ["ksm"] / ["psi"] and say why.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/host/lib.sh"

"$TOWER" plugins 2>/dev/null | grep -q '^input  *kernel ' \
  || { echo "FAIL: inputs.kernel is not built (tower plugins does not list it)"; exit 1; }

# lp_field FILE MEASUREMENT FIELD [TAGS]: a field of the first MEASUREMENT
# line (with the tags TAGS, "resource=cpu,type=some") that has it, without
# its type suffix.
lp_field() {
  awk -v m="$2${4:+,$4}" -v f="$3" '
    $1 == m {
      n = split($2, kv, ",")
      for (i = 1; i <= n; i++) {
        eq = index(kv[i], "=")
        if (substr(kv[i], 1, eq - 1) == f) { v = substr(kv[i], eq + 1); sub(/[iu]$/, "", v); print v; exit }
      }
    }' "$1"
}

ne_float() { awk -v n="$2" '$1 == n { printf "%.6f\n", $2; exit }' "$1"; }

# between NAME VALUE A B SLACK
between() {
  if awk -v v="$2" -v a="$3" -v b="$4" -v t="$5" 'BEGIN { exit !(v >= a - t && v <= b + t) }'; then
    ok "$1: $2 within [$3, $4]"
  else
    fail "$1: tower says $2, node_exporter $3 before and $4 after"
  fi
}

collect=""
[ -d /sys/kernel/mm/ksm ] && collect="\"ksm\""
[ -d /proc/pressure ] && collect="$collect${collect:+, }\"psi\""
start_node_exporter stat entropy pressure
printf 'agent = { omit_hostname = true; };\ninputs = ( { plugin = "kernel"; collect = [%s]; } );\n' \
  "$collect" > "$work/tower.conf"

ne_scrape "$work/ne1"
"$TOWER" --test --config "$work/tower.conf" > "$work/out" 2> "$work/err"
rc=$?
ne_scrape "$work/ne2"
check "tower --test exits 0" test "$rc" -eq 0 || cat "$work/err"
check "one kernel metric" test "$(grep -c '^kernel ' "$work/out")" -eq 1 || cat "$work/out"
t() { lp_field "$work/out" kernel "$1"; }

check "boot_time = node_boot_time_seconds" test "$(t boot_time)" = "$(ne_value "$work/ne1" node_boot_time_seconds)"
for pair in context_switches:node_context_switches_total interrupts:node_intr_total \
  processes_forked:node_forks_total entropy_avail:node_entropy_available_bits; do
  f=${pair%%:*} n=${pair#*:}
  between "$f ~ $n" "$(t "$f")" "$(ne_value "$work/ne1" "$n")" "$(ne_value "$work/ne2" "$n")" 0
done

if [ -d /sys/kernel/mm/ksm ]; then
  for f in run pages_to_scan sleep_millisecs max_page_sharing; do
    [ -r "/sys/kernel/mm/ksm/$f" ] || continue
    check "ksm_$f = /sys/kernel/mm/ksm/$f" test "$(t "ksm_$f")" = "$(cat "/sys/kernel/mm/ksm/$f")"
  done
else
  printf 'agent = { omit_hostname = true; };\ninputs = ( { plugin = "kernel"; collect = ["ksm"]; } );\n' \
    > "$work/ksm.conf"
  "$TOWER" --test --config "$work/ksm.conf" > /dev/null 2> "$work/ksm.err"
  check "no KSM here: collect = [\"ksm\"] is refused, saying why" grep -q "KSM is not enabled" "$work/ksm.err"
fi

# node_exporter gives the totals in seconds, tower in microseconds as the
# kernel does; a microsecond of slack for the conversion.
if [ -d /proc/pressure ]; then
  for row in cpu:some:cpu_waiting memory:some:memory_waiting memory:full:memory_stalled \
    io:some:io_waiting io:full:io_stalled; do
    res=${row%%:*} rest=${row#*:} kind=${rest%%:*} name=node_pressure_${rest#*:}_seconds_total
    a=$(awk -v s="$(ne_float "$work/ne1" "$name")" 'BEGIN { printf "%.0f", s * 1e6 }')
    b=$(awk -v s="$(ne_float "$work/ne2" "$name")" 'BEGIN { printf "%.0f", s * 1e6 }')
    between "pressure $res $kind total ~ $name" "$(lp_field "$work/out" pressure total "resource=$res,type=$kind")" "$a" "$b" 1
  done
  check "10 pressure metrics (cpu some; memory and io some and full; counter and gauge)" \
    test "$(grep -c '^pressure,' "$work/out")" -eq 10
else
  printf 'agent = { omit_hostname = true; };\ninputs = ( { plugin = "kernel"; collect = ["psi"]; } );\n' \
    > "$work/psi.conf"
  "$TOWER" --test --config "$work/psi.conf" > /dev/null 2> "$work/psi.err"
  check "no PSI here: collect = [\"psi\"] is refused, saying why" grep -q "pressure stall information needs" "$work/psi.err"
fi
finish
