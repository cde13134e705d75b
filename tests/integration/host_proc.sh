#!/bin/sh
# inputs.processes and inputs.procstat on this machine, compared with
# independent readers at the same moment: the real node_exporter's
# processes and stat collectors (tests/host/lib.sh) for the process counts,
# and ps(1) for procstat's memory_rss of a process this script starts, then
# kills: procstat_lookup must then say running=0.
# Nothing is skipped: a missing node_exporter or ps is a failure.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/host/lib.sh"

command -v ps >/dev/null 2>&1 || { echo "FAIL: ps is missing: apt-get install procps"; exit 1; }
for p in processes procstat; do
  "$TOWER" plugins 2>/dev/null | grep -q "^input  *$p " \
    || { echo "FAIL: inputs.$p is not built (tower plugins does not list it)"; exit 1; }
done
start_node_exporter processes stat

# field LINEFILE NAME: the value of field NAME in the first line of LINEFILE
# ("x" when absent, which no comparison accepts)
field() {
  v=$(sed -n "1s/.*[ ,]$2=\([0-9.e+-]*\)[iu]\{0,1\}\([, ].*\)\{0,1\}$/\1/p" "$1")
  echo "${v:-x}"
}
# near A B TOLERANCE: close_to, and A a number
near() { case $1 in x | '') return 1 ;; esac; close_to "$@"; }

cat > "$work/processes.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "processes"; } );
CONF
ne_scrape "$work/ne.txt"
"$TOWER" --test --config "$work/processes.conf" >"$work/processes.out" 2>"$work/processes.err"
ne_scrape "$work/ne2.txt"
check "processes prints one line" test "$(lines "$work/processes.out")" -eq 1 \
  || cat "$work/processes.out" "$work/processes.err"
grep '^processes ' "$work/processes.out" > "$work/p.lp"

# Processes come and go between the two reads (this script forks tower,
# curl, sed): the counts may differ by the processes started or ended in
# the second or so between node_exporter's scrapes and tower's gather. 10
# processes and 40 threads is well above what this script starts.
total=$(field "$work/p.lp" total)
ne_pids=$(ne_value "$work/ne.txt" node_processes_pids)
check "total ($total) is node_exporter's node_processes_pids ($ne_pids) +-10" \
  near "$total" "$ne_pids" 10
threads=$(field "$work/p.lp" total_threads)
ne_threads=$(ne_value "$work/ne.txt" node_processes_threads)
check "total_threads ($threads) is node_processes_threads ($ne_threads) +-40" \
  near "$threads" "$ne_threads" 40
for pair in sleeping:S idle:I zombies:Z stopped:T; do
  f=${pair%%:*} st=${pair#*:}
  mine=$(field "$work/p.lp" "$f")
  theirs=$(ne_value "$work/ne.txt" node_processes_state "state=\"$st\"")
  check "$f ($mine) is node_processes_state{state=\"$st\"} (${theirs:-0}) +-10" \
    near "$mine" "${theirs:-0}" 10
done
blocked=$(field "$work/p.lp" blocked)
ne_blocked=$(ne_value "$work/ne.txt" node_procs_blocked)
check "blocked ($blocked) is node_procs_blocked ($ne_blocked) +-5" near "$blocked" "$ne_blocked" 5

# procstat: a sleep this script starts, by pid file and by pattern.
sleep 100001 &
spid=$!
pids="$pids $spid"
echo "$spid" > "$work/sleep.pid"
cat > "$work/procstat.conf" <<CONF
agent = { omit_hostname = true; };
inputs = (
  { plugin = "procstat"; pid_file = "$work/sleep.pid"; },
  { plugin = "procstat"; pattern = "^sleep 100001\$"; }
);
CONF
"$TOWER" --test --config "$work/procstat.conf" >"$work/procstat.out" 2>"$work/procstat.err"
rss_ps=$(( $(ps -o rss= -p "$spid") * 1024 ))
grep "^procstat,pidfile=" "$work/procstat.out" > "$work/ps.lp"
rss=$(field "$work/ps.lp" memory_rss)
# A sleeping process's RSS does not move between the two reads; ps rounds
# to KiB and tower counts pages: equal within one page.
check "memory_rss ($rss) is ps's rss ($rss_ps) +-4096" near "${rss:-0}" "$rss_ps" 4096
check "procstat has the pid ($spid)" grep -q "pid=${spid}i" "$work/ps.lp"
check "cpu_usage is there (two samples)" grep -q "cpu_usage=" "$work/ps.lp"
check "both lookups find it running" \
  test "$(grep -c '^procstat_lookup,.*pid_count=1i,result_code=0i,running=1i' "$work/procstat.out")" -eq 2 \
  || cat "$work/procstat.out" "$work/procstat.err"

kill "$spid"
wait "$spid" 2>/dev/null
"$TOWER" --test --config "$work/procstat.conf" >"$work/gone.out" 2>"$work/gone.err"
check "after kill: no procstat metric" test "$(grep -c '^procstat,' "$work/gone.out")" -eq 0
check "after kill: pid_file lookup running=0" \
  grep -q '^procstat_lookup,pid_finder=pgrep,pidfile=.* pid_count=1i,result_code=0i,running=0i' "$work/gone.out"
check "after kill: pattern lookup pid_count=0 running=0" \
  grep -q '^procstat_lookup,pattern=.* pid_count=0i,result_code=0i,running=0i' "$work/gone.out" \
  || cat "$work/gone.out" "$work/gone.err"
finish
