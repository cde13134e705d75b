#!/bin/sh
# inputs.system on this machine, compared with independent readers: the
# real node_exporter (loadavg, cpu, stat and time collectors), getconf and
# nproc, lscpu, uptime(1) and who(1), read around `tower --test`. Nothing is
# skipped: a missing node_exporter or tool is a failure.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/host/lib.sh"

for tool in getconf nproc lscpu uptime who; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing: apt-get install procps coreutils util-linux libc-bin"; exit 1; }
done
"$TOWER" plugins 2>/dev/null | grep -q '^input  *system ' \
  || { echo "FAIL: inputs.system is not built (tower plugins does not list it)"; exit 1; }

# lp_field FILE MEASUREMENT FIELD: a field of the first MEASUREMENT line
# that has it, without its type suffix or quotes.
lp_field() {
  awk -v m="$2" -v f="$3" '
    index($0, m " ") == 1 || index($0, m ",") == 1 {
      rest = substr($0, index($0, " ") + 1); sub(/ [0-9]+$/, "", rest)
      n = split(rest, kv, ",")
      for (i = 1; i <= n; i++) {
        eq = index(kv[i], "=")
        if (substr(kv[i], 1, eq - 1) == f) { v = substr(kv[i], eq + 1); sub(/[iu]$/, "", v); gsub(/"/, "", v); print v; exit }
      }
    }' "$1"
}

# ne_float FILE NAME: a node_exporter value, unrounded.
ne_float() { awk -v n="$2" '$1 == n { printf "%.6f\n", $2; exit }' "$1"; }

start_node_exporter loadavg cpu stat time
printf 'agent = { omit_hostname = true; };\ninputs = ( { plugin = "system"; } );\n' > "$work/tower.conf"

ne_scrape "$work/ne1"
uptime > "$work/uptime1"
"$TOWER" --test --config "$work/tower.conf" > "$work/out" 2> "$work/err"
rc=$?
uptime > "$work/uptime2"
ne_scrape "$work/ne2"
check "tower --test exits 0" test "$rc" -eq 0 || cat "$work/err"
check "three system metrics (gauge, counter, untyped)" test "$(grep -c '^system ' "$work/out")" -eq 3 \
  || cat "$work/out"
t() { lp_field "$work/out" system "$1"; }

# The kernel updates the load averages every 5 s: tower's are node_exporter's
# of just before or of just after (equal, to the two places of /proc/loadavg).
for l in load1 load5 load15; do
  a=$(ne_float "$work/ne1" "node_$l") b=$(ne_float "$work/ne2" "node_$l")
  check "$l $(t "$l") is node_$l's before ($a) or after ($b)" \
    awk -v v="$(t "$l")" -v a="$a" -v b="$b" 'BEGIN { exit !((v - a) ^ 2 < 1e-9 || (v - b) ^ 2 < 1e-9) }'
done

# CPUs: those online (getconf, the cpu lines node_exporter reads), and the
# cores lscpu (util-linux) finds in the same topology.
online=$(getconf _NPROCESSORS_ONLN)
check "n_cpus $(t n_cpus) = getconf _NPROCESSORS_ONLN ($online)" test "$(t n_cpus)" -eq "$online"
ne_cpus=$(grep '^node_cpu_seconds_total{' "$work/ne1" | sed 's/.*cpu="\([0-9]*\)".*/\1/' | sort -u | wc -l)
check "n_cpus = node_exporter's CPUs ($ne_cpus)" test "$(t n_cpus)" -eq "$ne_cpus"
check "n_cpus >= nproc ($(nproc), this process's affinity)" test "$(t n_cpus)" -ge "$(nproc)"
cores=$(lscpu -p=CORE,SOCKET | grep -v '^#' | sort -u | wc -l)
check "n_physical_cpus $(t n_physical_cpus) = lscpu's cores ($cores)" test "$(t n_physical_cpus)" -eq "$cores"

# Uptime: node_exporter's time minus boot time (seconds; tower rounds up,
# and a second may pass between the reads), and uptime(1)'s minutes.
up=$(t uptime)
ne_up1=$(awk -v t="$(ne_float "$work/ne1" node_time_seconds)" -v b="$(ne_float "$work/ne1" node_boot_time_seconds)" 'BEGIN { printf "%d", t - b }')
ne_up2=$(awk -v t="$(ne_float "$work/ne2" node_time_seconds)" -v b="$(ne_float "$work/ne2" node_boot_time_seconds)" 'BEGIN { printf "%d", t - b + 1 }')
check "uptime $up within node_exporter's [$ne_up1, $ne_up2]" test "$up" -ge "$ne_up1" -a "$up" -le "$ne_up2"

# uptime(1) says "up 35 min," "up  2:35," or "up 3 days,  2:35,": minutes.
up_minutes() {
  sed -n 's/.* up \(.*\), *[0-9]* users*,.*/\1/p' "$1" | awk -F', *' '
    { m = 0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /day/) { split($i, d, " "); m += d[1] * 1440 }
        else if ($i ~ /min/) { split($i, d, " "); m += d[1] }
        else if ($i ~ /:/) { split($i, d, ":"); m += d[1] * 60 + d[2] }
      }
      print m }'
}
# uptime(1) truncates to the minute where tower rounds the second up: one
# minute more is allowed on top.
m1=$(up_minutes "$work/uptime1") m2=$(up_minutes "$work/uptime2")
check "uptime $up s is uptime(1)'s $m1..$m2 min" test "$((up / 60))" -ge "$m1" -a "$((up / 60))" -le "$((m2 + 1))"
fmt=$(sed -n 's/^system uptime_format="\(.*\)" [0-9]*$/\1/p' "$work/out")
days=$((up / 86400)) hm=$(printf '%2d:%02d' $((up / 3600 % 24)) $((up / 60 % 60)))
want=$hm
[ "$days" -eq 1 ] && want="1 day, $hm"
[ "$days" -gt 1 ] && want="$days days, $hm"
check "uptime_format \"$fmt\" is Telegraf's for $up s (\"$want\")" test "$fmt" = "$want"

# Users: who(1) lists utmp's sessions. No utmp (no login manager): no
# fields, as in Telegraf.
if [ -e /run/utmp ]; then
  check "n_users = who | wc -l" test "$(t n_users)" -eq "$(who | wc -l)"
  check "n_unique_users = distinct who users" test "$(t n_unique_users)" -eq "$(who | awk '{ print $1 }' | sort -u | wc -l)"
else
  check "no utmp: no n_users field" test -z "$(t n_users)"
  check "no utmp: who lists nobody" test "$(who | wc -l)" -eq 0
fi
finish
