#!/bin/sh
# inputs.swap on this machine, compared with independent readers: the real
# node_exporter (meminfo and vmstat collectors) and procps' `free -b`, each
# read just before and just after `tower --test`. Nothing is skipped: a
# missing node_exporter or free is a failure.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/host/lib.sh"

command -v free >/dev/null 2>&1 || { echo "FAIL: free is missing: apt-get install procps"; exit 1; }
"$TOWER" plugins 2>/dev/null | grep -q '^input  *swap ' \
  || { echo "FAIL: inputs.swap is not built (tower plugins does not list it)"; exit 1; }

# Free swap moves when the machine swaps between two reads; 16 MiB around
# the two surrounding reads covers a busy moment and still catches a kB
# read as bytes. The swap counters only grow, so tower's must lie between
# the readers' (no margin).
MARGIN=$((16 * 1024 * 1024))
PAGE=$(getconf PAGESIZE)

# lp_field FILE MEASUREMENT FIELD: a field of the first MEASUREMENT line
# that has it, without its type suffix.
lp_field() {
  awk -v m="$2" -v f="$3" '
    index($0, m " ") == 1 || index($0, m ",") == 1 {
      n = split($2, kv, ",")
      for (i = 1; i <= n; i++) {
        eq = index(kv[i], "=")
        if (substr(kv[i], 1, eq - 1) == f) { v = substr(kv[i], eq + 1); sub(/[iu]$/, "", v); print v; exit }
      }
    }' "$1"
}

free_col() { awk -v r="$2:" -v c="$3" '$1 == r { print $(c + 1) }' "$1"; }

# between NAME VALUE A B MARGIN
between() {
  if awk -v v="$2" -v a="$3" -v b="$4" -v t="$5" \
    'BEGIN { lo = a < b ? a : b; hi = a < b ? b : a; exit !(v >= lo - t && v <= hi + t) }'; then
    ok "$1: $2 within [$3, $4] +- $5"
  else
    fail "$1: tower says $2, the readers around it $3 and $4 (margin $5)"
  fi
}

start_node_exporter meminfo vmstat
printf 'agent = { omit_hostname = true; };\ninputs = ( { plugin = "swap"; } );\n' > "$work/tower.conf"

ne_scrape "$work/ne1"
free -b > "$work/free1"
"$TOWER" --test --config "$work/tower.conf" > "$work/out" 2> "$work/err"
rc=$?
free -b > "$work/free2"
ne_scrape "$work/ne2"
check "tower --test exits 0" test "$rc" -eq 0 || cat "$work/err"
check "two swap metrics" test "$(grep -c '^swap ' "$work/out")" -eq 2 || cat "$work/out"

t() { lp_field "$work/out" swap "$1"; }
total=$(t total)
check "total = node_memory_SwapTotal_bytes" test "$total" = "$(ne_value "$work/ne1" node_memory_SwapTotal_bytes)"
check "total = free -b swap total" test "$total" = "$(free_col "$work/free1" Swap 1)"
between "free ~ node_memory_SwapFree_bytes" "$(t free)" "$(ne_value "$work/ne1" node_memory_SwapFree_bytes)" \
  "$(ne_value "$work/ne2" node_memory_SwapFree_bytes)" "$MARGIN"
between "used ~ free -b swap used" "$(t used)" "$(free_col "$work/free1" Swap 2)" \
  "$(free_col "$work/free2" Swap 2)" "$MARGIN"
check "used = total - free" test "$(t used)" -eq "$(( total - $(t free) ))"
for f in in:pswpin out:pswpout; do
  between "${f%%:*} ~ node_vmstat_${f#*:} x $PAGE" "$(t "${f%%:*}")" \
    "$(( $(ne_value "$work/ne1" "node_vmstat_${f#*:}") * PAGE ))" \
    "$(( $(ne_value "$work/ne2" "node_vmstat_${f#*:}") * PAGE ))" 0
done
finish
