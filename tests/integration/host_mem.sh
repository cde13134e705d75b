#!/bin/sh
# inputs.mem on this machine, compared with two independent readers of the
# same moment: the real node_exporter (meminfo collector) and procps'
# `free -b`. Each is read just before and just after `tower --test`, so
# tower's value of a figure that moves must lie between the two (with a
# margin, below). Nothing is skipped: a missing node_exporter or free is a
# failure.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/host/lib.sh"

command -v free >/dev/null 2>&1 || { echo "FAIL: free is missing: apt-get install procps"; exit 1; }
"$TOWER" plugins 2>/dev/null | grep -q '^input  *mem ' \
  || { echo "FAIL: inputs.mem is not built (tower plugins does not list it)"; exit 1; }

# Memory moves between two reads a moment apart, and tower's own read
# counts tower itself, which the readers around it do not see. Margins on
# top of what the two surrounding reads show:
#  - 16 MiB for the page cache and kernel figures: they move on their own;
#  - 64 MiB for free, available and used, which also count tower's own
#    memory (a sanitizer build's is tens of MiB);
#  - 256 MiB for what tower's own process inflates most: its anonymous
#    memory, mappings, page tables and committed address space
#    (AddressSanitizer commits hundreds of MiB of shadow).
# Units are checked exactly on the fixed figures (total, swap_total, ...);
# the margins still catch a field read from the wrong line on a machine whose
# figures differ by more.
MARGIN=$((16 * 1024 * 1024))
OWN=$((64 * 1024 * 1024))
SELF=$((256 * 1024 * 1024))

# lp_field FILE MEASUREMENT FIELD: a field of the first MEASUREMENT line of
# line protocol, without its type suffix.
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

# free_col FILE ROW COLUMN: a column of free -b's "Mem:" or "Swap:" row.
free_col() { awk -v r="$2:" -v c="$3" '$1 == r { print $(c + 1) }' "$1"; }

# between NAME VALUE A B [MARGIN]: VALUE lies in [min(A,B) - MARGIN,
# max(A,B) + MARGIN] (default $MARGIN).
between() {
  m=${5:-$MARGIN}
  if awk -v v="$2" -v a="$3" -v b="$4" -v t="$m" \
    'BEGIN { lo = a < b ? a : b; hi = a < b ? b : a; exit !(v >= lo - t && v <= hi + t) }'; then
    ok "$1: $2 within [$3, $4] +- $m"
  else
    fail "$1: tower says $2, the readers around it $3 and $4 (margin $m)"
  fi
}

start_node_exporter meminfo
cat > "$work/tower.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "mem"; collect_extended = true; } );
CONF

ne_scrape "$work/ne1"
free -b > "$work/free1"
"$TOWER" --test --config "$work/tower.conf" > "$work/out" 2> "$work/err"
rc=$?
free -b > "$work/free2"
ne_scrape "$work/ne2"
check "tower --test exits 0" test "$rc" -eq 0 || cat "$work/err"
check "one mem metric" test "$(grep -c '^mem ' "$work/out")" -eq 1 || cat "$work/out"

t() { lp_field "$work/out" mem "$1"; }
ne() { ne_value "$work/ne$1" "node_memory_$2_bytes"; }

# Fixed figures: equal, and in bytes.
total=$(t total)
check "total = node_memory_MemTotal_bytes ($(ne 1 MemTotal))" test "$total" = "$(ne 1 MemTotal)"
check "total = free -b total" test "$total" = "$(free_col "$work/free1" Mem 1)"
check "swap_total = node_memory_SwapTotal_bytes" test "$(t swap_total)" = "$(ne 1 SwapTotal)"
check "vmalloc_total = node_memory_VmallocTotal_bytes" test "$(t vmalloc_total)" = "$(ne 1 VmallocTotal)"
check "huge_page_size = node_memory_Hugepagesize_bytes" test "$(t huge_page_size)" = "$(ne 1 Hugepagesize)"
check "commit_limit = node_memory_CommitLimit_bytes" test "$(t commit_limit)" = "$(ne 1 CommitLimit)"

# Moving figures: between the readers around tower's gather.
for pair in buffered:Buffers sreclaimable:SReclaimable slab:Slab sunreclaim:SUnreclaim \
  active:Active inactive:Inactive shared:Shmem dirty:Dirty write_back:Writeback \
  swap_free:SwapFree swap_cached:SwapCached active_file:Active_file inactive_file:Inactive_file \
  unevictable:Unevictable percpu:Percpu; do
  f=${pair%%:*} k=${pair#*:}
  between "$f ~ node_memory_${k}_bytes" "$(t "$f")" "$(ne 1 "$k")" "$(ne 2 "$k")"
done
for pair in free:MemFree available:MemAvailable; do
  f=${pair%%:*} k=${pair#*:}
  between "$f ~ node_memory_${k}_bytes" "$(t "$f")" "$(ne 1 "$k")" "$(ne 2 "$k")" "$OWN"
done
for pair in active_anon:Active_anon inactive_anon:Inactive_anon mapped:Mapped \
  page_tables:PageTables committed_as:Committed_AS; do
  f=${pair%%:*} k=${pair#*:}
  between "$f ~ node_memory_${k}_bytes" "$(t "$f")" "$(ne 1 "$k")" "$(ne 2 "$k")" "$SELF"
done
cached1=$(( $(ne 1 Cached) + $(ne 1 SReclaimable) )) cached2=$(( $(ne 2 Cached) + $(ne 2 SReclaimable) ))
between "cached ~ Cached + SReclaimable" "$(t cached)" "$cached1" "$cached2"

# free(1): used = total - available (procps-ng 4), buff/cache = buffered + cached.
between "used ~ free -b used" "$(t used)" "$(free_col "$work/free1" Mem 2)" \
  "$(free_col "$work/free2" Mem 2)" "$OWN"
between "free ~ free -b free" "$(t free)" "$(free_col "$work/free1" Mem 3)" \
  "$(free_col "$work/free2" Mem 3)" "$OWN"
between "buffered + cached ~ free -b buff/cache" "$(( $(t buffered) + $(t cached) ))" \
  "$(free_col "$work/free1" Mem 5)" "$(free_col "$work/free2" Mem 5)"
between "available ~ free -b available" "$(t available)" "$(free_col "$work/free1" Mem 6)" \
  "$(free_col "$work/free2" Mem 6)" "$OWN"
check "used = total - available" test "$(t used)" -eq "$(( total - $(t available) ))"
check "used_percent = 100 * used / total" awk -v p="$(t used_percent)" -v u="$(t used)" -v t="$total" \
  'BEGIN { d = p - 100 * u / t; exit !(d < 1e-9 && d > -1e-9) }'
check "integers are integers" grep -Eq ' active=[0-9]+[iu],' "$work/out"
finish
