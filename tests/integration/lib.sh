# Shared helpers for the integration scripts (sourced). Each script runs the
# real tower binary ($TOWER) with the build tree's plugins ($TOWER_PLUGIN_DIR)
# and reports "ok"/"FAIL" lines; the exit status is the verdict.

set -u
failures=0
work=$(mktemp -d "${TMPDIR:-/tmp}/tower-it.XXXXXX")
pids=""
# our_child PID: PID is still a child of this script. A process already
# waited for has given its id back to the system, and with tests running
# in parallel the id may belong to another test's process by now.
our_child() {
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) } # past the command name, which may hold spaces
  set -- $st
  [ "$2" = "$$" ]
}
cleanup() {
  for p in $pids; do our_child "$p" && kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
finish() { [ "$failures" -eq 0 ] && exit 0; echo "$failures failure(s)"; exit 1; }

# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

# lines FILE: number of lines (0 when missing)
lines() { if [ -f "$1" ]; then wc -l < "$1" | tr -d ' '; else echo 0; fi; }

# has_lines FILE N: FILE has at least N lines (for wait_for)
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

# wait_for SECONDS COMMAND...: polls every 50ms until the command succeeds
wait_for() {
  t=$1; shift
  end=$(( $(date +%s%N) + t * 1000000000 ))
  while [ "$(date +%s%N)" -lt "$end" ]; do
    "$@" && return 0
    sleep 0.05
  done
  "$@"
}

# start_tower CONF LOG: runs the daemon in the background, sets $tpid
start_tower() {
  "$TOWER" --config "$1" >"$2" 2>&1 &
  tpid=$!
  pids="$pids $tpid"
  wait_for 5 grep -q "started" "$2" || fail "tower did not start: $(cat "$2")"
}

# stop_tower SIGNAL: signals $tpid and waits; sets $trc and $tsecs
stop_tower() {
  t0=$(date +%s%N)
  kill -"$1" "$tpid"
  wait "$tpid"
  trc=$?
  tsecs=$(( ($(date +%s%N) - t0) / 1000000 ))
}
