#!/bin/sh
# inputs.disk and inputs.diskio on this machine, compared with independent
# readers taken around the same moment: the real prometheus-node-exporter
# (its filesystem and diskstats collectors) and df -B1.
#
# Each comparison brackets tower's read between two reads of the other
# tool, one just before `tower --test` and one just after:
# - Sizes and inode totals do not move: equal.
# - Disk counters only grow: tower's value lies between node_exporter's
#   before and after (node_exporter gives the times in seconds with
#   millisecond precision, so 1 ms either side).
# - Free and used space and free inodes move with whatever else writes to
#   the disk (other builds share this machine): tower's value lies between
#   the two readings, widened by 256 MiB (and 10000 inodes) for writes in
#   the instants between a reading and tower's own.
# Nothing is skipped: a missing node_exporter is a failure.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/host/lib.sh"

SLACK_BYTES=268435456
SLACK_INODES=10000

start_node_exporter filesystem diskstats

cat > "$work/host.conf" <<'EOF'
agent = { omit_hostname = true; };
inputs = (
  { plugin = "disk"; },
  { plugin = "diskio"; }
);
EOF

ne_scrape "$work/ne.before"
df -B1 --output=target,size,used,avail > "$work/df.before"
"$TOWER" --test --config "$work/host.conf" > "$work/tower.lp" 2> "$work/tower.err" ||
  fail "tower --test: $(cat "$work/tower.err")"
df -B1 --output=target,size,used,avail > "$work/df.after"
ne_scrape "$work/ne.after"

# lp_field MEASUREMENT TAG=VALUE FIELD: the field of the line with that tag,
# without its type suffix; empty when absent.
lp_field() {
  awk -v m="$1" -v tag="$2" -v f="$3" '
    {
      split($1, head, ","); if (head[1] != m) next
      found = 0
      for (i = 2; i in head; i++) if (head[i] == tag) found = 1
      if (!found) next
      n = split($2, kv, ",")
      for (i = 1; i <= n; i++) {
        eq = index(kv[i], "="); k = substr(kv[i], 1, eq - 1); v = substr(kv[i], eq + 1)
        if (k == f) { sub(/[iu]$/, "", v); print v; exit }
      }
    }' "$work/tower.lp"
}

# ne_scaled FILE NAME LABELS FACTOR: node_exporter's value times FACTOR,
# rounded (seconds to milliseconds).
ne_scaled() {
  awk -v name="$2" -v labels="$3" -v k="$4" '
    $0 ~ /^#/ { next }
    {
      n = index($1, "{"); base = n ? substr($1, 1, n - 1) : $1
      if (base != name || index($1, labels) == 0) next
      printf "%.0f\n", $2 * k; exit
    }' "$1"
}

# between V A B SLACK: V lies between A and B (either order), widened by SLACK.
between() {
  awk -v v="$1" -v a="$2" -v b="$3" -v s="$4" 'BEGIN {
    lo = a < b ? a : b; hi = a < b ? b : a
    exit !(v != "" && a != "" && b != "" && v >= lo - s && v <= hi + s) }'
}

# df_col FILE MOUNTPOINT COLUMN (2 size, 3 used, 4 avail)
df_col() { awk -v p="$2" -v c="$3" '$1 == p { print $c; exit }' "$1"; }

# ---- disk --------------------------------------------------------------------
paths=$(awk -F'[, ]' '$1 == "disk" { for (i = 2; i <= NF; i++) if ($i ~ /^path=/) print substr($i, 6) }' \
  "$work/tower.lp")
[ -n "$paths" ] || fail "tower reported no file system: $(cat "$work/tower.lp")"
compared=0
for p in $paths; do
  sel="mountpoint=\"$p\""
  size=$(ne_value "$work/ne.after" node_filesystem_size_bytes "$sel")
  [ -n "$size" ] || { echo "note: node_exporter does not report $p (its default exclusions)"; continue; }
  compared=$((compared + 1))
  t="path=$p"
  total=$(lp_field disk "$t" total)
  check "disk $p total = node_filesystem_size_bytes ($size)" [ "$total" = "$size" ]
  check "disk $p total = df size" [ "$total" = "$(df_col "$work/df.after" "$p" 2)" ]
  check "disk $p free ($(lp_field disk "$t" free)) ~ node_filesystem_avail_bytes" \
    between "$(lp_field disk "$t" free)" "$(ne_value "$work/ne.before" node_filesystem_avail_bytes "$sel")" \
    "$(ne_value "$work/ne.after" node_filesystem_avail_bytes "$sel")" "$SLACK_BYTES"
  check "disk $p free ~ df avail" between "$(lp_field disk "$t" free)" \
    "$(df_col "$work/df.before" "$p" 4)" "$(df_col "$work/df.after" "$p" 4)" "$SLACK_BYTES"
  check "disk $p used ~ df used" between "$(lp_field disk "$t" used)" \
    "$(df_col "$work/df.before" "$p" 3)" "$(df_col "$work/df.after" "$p" 3)" "$SLACK_BYTES"
  # f_bfree: total - used
  bfree=$(awk -v a="$total" -v b="$(lp_field disk "$t" used)" 'BEGIN { printf "%.0f", a - b }')
  check "disk $p total - used ~ node_filesystem_free_bytes" between "$bfree" \
    "$(ne_value "$work/ne.before" node_filesystem_free_bytes "$sel")" \
    "$(ne_value "$work/ne.after" node_filesystem_free_bytes "$sel")" "$SLACK_BYTES"
  check "disk $p inodes_total = node_filesystem_files" \
    [ "$(lp_field disk "$t" inodes_total)" = "$(ne_value "$work/ne.after" node_filesystem_files "$sel")" ]
  check "disk $p inodes_free ~ node_filesystem_files_free" between "$(lp_field disk "$t" inodes_free)" \
    "$(ne_value "$work/ne.before" node_filesystem_files_free "$sel")" \
    "$(ne_value "$work/ne.after" node_filesystem_files_free "$sel")" "$SLACK_INODES"
  line=$(grep "^node_filesystem_size_bytes{.*$sel" "$work/ne.after")
  nedev=$(echo "$line" | sed -n 's/.*device="\([^"]*\)".*/\1/p' | sed 's|/dev/||g')
  nefs=$(echo "$line" | sed -n 's/.*fstype="\([^"]*\)".*/\1/p')
  check "disk $p device tag = node_exporter's device ($nedev)" grep -q "^disk,.*device=$nedev,.*$t" "$work/tower.lp"
  check "disk $p fstype tag = node_exporter's fstype ($nefs)" grep -q "^disk,.*fstype=$nefs,.*$t" "$work/tower.lp"
done
check "at least one file system compared with node_exporter ($compared)" [ "$compared" -ge 1 ]

# ---- diskio ------------------------------------------------------------------
# Counters, tower's field = node_exporter's series (times: seconds -> ms).
counters="reads:node_disk_reads_completed_total:1
writes:node_disk_writes_completed_total:1
read_bytes:node_disk_read_bytes_total:1
write_bytes:node_disk_written_bytes_total:1
merged_reads:node_disk_reads_merged_total:1
merged_writes:node_disk_writes_merged_total:1
read_time:node_disk_read_time_seconds_total:1000
write_time:node_disk_write_time_seconds_total:1000
io_time:node_disk_io_time_seconds_total:1000
weighted_io_time:node_disk_io_time_weighted_seconds_total:1000"
devices=$(awk -F'[, ]' '$1 == "diskio" { for (i = 2; i <= NF; i++) if ($i ~ /^name=/) print substr($i, 6) }' \
  "$work/tower.lp")
[ -n "$devices" ] || fail "tower reported no block device: $(cat "$work/tower.lp")"
compared=0
for dev in $devices; do  # not $d: check() of lib.sh uses it
  sel="device=\"$dev\""
  [ -n "$(ne_value "$work/ne.after" node_disk_reads_completed_total "$sel")" ] ||
    { echo "note: node_exporter does not report $dev (its default exclusions)"; continue; }
  compared=$((compared + 1))
  for c in $counters; do
    field=${c%%:*}; rest=${c#*:}; series=${rest%%:*}; k=${rest#*:}
    slack=0; [ "$k" = 1000 ] && slack=1
    v=$(lp_field diskio "name=$dev" "$field")
    check "diskio $dev $field ($v) within node_exporter's $series" between "$v" \
      "$(ne_scaled "$work/ne.before" "$series" "$sel" "$k")" \
      "$(ne_scaled "$work/ne.after" "$series" "$sel" "$k")" "$slack"
  done
  util=$(lp_field diskio "name=$dev" io_util)
  check "diskio $dev io_util ($util) is a percentage" awk -v u="$util" 'BEGIN { exit !(u != "" && u >= 0) }'
done
check "at least one device compared with node_exporter ($compared)" [ "$compared" -ge 1 ]

finish
