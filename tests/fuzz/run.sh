#!/bin/sh
# Runs libFuzzer targets for a bounded time and prints one summary table.
#
#   run.sh OUT FUZZDIR SECONDS NAME...
#
# OUT holds the binaries (OUT/fuzz_NAME); FUZZDIR is tests/fuzz in the
# source tree (corpus/NAME/ seeds, NAME.dict). Each target runs for SECONDS
# (-max_total_time) as one job (-jobs=1: a crash ends the job, not this
# script) with a memory limit and a per-input timeout, in OUT/run/NAME/:
# the inputs it finds go to OUT/run/NAME/corpus/ (the checked-in corpus is
# only read), its output to fuzz-0.log, a reproducer to crash-*, timeout-*,
# oom-* or leak-*. A target passes when it ends without one.
#
# Writes OUT/fuzz-run.log ("# PASS: N", "# FAIL: N", as the automake
# harness does) and exits 1 when a target failed.
set -u

[ $# -ge 4 ] || { echo "usage: $0 OUT FUZZDIR SECONDS NAME..." >&2; exit 2; }
out=$(cd "$1" && pwd) fuzzdir=$2 seconds=$3
shift 3

# libFuzzer's limits: 2 GB of RSS (malloc calls beyond it count as OOM),
# 25 s for one input.
RSS_MB=${FUZZ_RSS_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-25}
# Leaks inside system libraries that tower cannot fix (lsan.supp says which).
LSAN_OPTIONS="suppressions=$fuzzdir/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

# field KEY LOG: the value after "KEY:" on the last status line of LOG.
field() {
  grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED|RELOAD)' "$2" | tail -1 |
    sed -n "s/.* $1: *\([0-9]*\).*/\1/p"
}

passed=0 failed=0 failing=""
table="$out/fuzz-run.table"
printf '%-14s %-8s %6s %12s %9s %7s %7s %7s\n' target result seconds executions exec/s cov ft corpus >"$table"
for name in "$@"; do
  bin="$out/fuzz_$name" dir="$out/run/$name"
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  dict="" extra=""
  [ -f "$fuzzdir/$name.dict" ] && dict="-dict=$fuzzdir/$name.dict"
  # libconfig 1.5 leaks on many syntax errors (lsan.supp); a leak check
  # after each such input would cost three quarters of the run. Leaks are
  # still checked once, at the end of the run (with their stacks).
  [ "$name" = config ] && extra=-detect_leaks=0
  start=$(date +%s)
  # TMPDIR: what a target leaves behind when it crashes stays in its run.
  # shellcheck disable=SC2086
  (cd "$dir" && TMPDIR="$dir" "$bin" -jobs=1 -max_total_time="$seconds" -rss_limit_mb="$RSS_MB" \
    -timeout="$TIMEOUT" -max_len=4096 -print_final_stats=1 -artifact_prefix="$dir/" $dict $extra \
    corpus "$fuzzdir/corpus/$name" >"$dir/run.out" 2>&1)
  rc=$?
  elapsed=$(($(date +%s) - start))
  log="$dir/fuzz-0.log"
  [ -f "$log" ] || log="$dir/run.out"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-0}
  artifact=$(cd "$dir" && ls -d crash-* timeout-* oom-* leak-* 2>/dev/null | head -1)
  if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
    result=ok passed=$((passed + 1))
  else
    result=${artifact%%-*}
    result=${result:-failed} failed=$((failed + 1)) failing="$failing $name"
  fi
  corpus=$(field corp "$log")
  printf '%-14s %-8s %6s %12s %9s %7s %7s %7s\n' "$name" "$result" "$elapsed" "$execs" \
    "$((execs / (elapsed > 0 ? elapsed : 1)))" "$(field cov "$log")" "$(field ft "$log")" \
    "$corpus" >>"$table"
  if [ "$result" != ok ]; then
    echo "==> fuzz_$name: $result (reproducer: $dir/$artifact; log: $log)"
    grep -a -E -A12 '^==[0-9]+==ERROR|^fuzz|runtime error|ALARM|out-of-memory' "$log" | head -30
  fi
done
cat "$table"
echo "fuzz: $passed passed, $failed failed${failing:+ (failing:$failing)}"
printf '# PASS: %s\n# FAIL: %s\n' "$passed" "$failed" >"$out/fuzz-run.log"
[ "$failed" -eq 0 ]
