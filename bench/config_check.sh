#!/bin/sh
# The CPU `tower --config-check` takes with every plugin of this build in
# one configuration (each plugin's sample block, required options filled
# in), beside its floors: the same check with one input and one output, and
# a bare program that only dlopen()s the same plugin files (what loading
# them costs, whatever tower does). Medians of RUNS runs (default 30) of
# user+system CPU, from perf stat when perf works here, else getrusage
# through /usr/bin/time.
#
#   make bench-config-check            (or: top_builddir=... top_srcdir=... sh bench/config_check.sh)
set -eu
: "${top_builddir:?}" "${top_srcdir:?}"
RUNS=${RUNS:-30}
work=$(mktemp -d "${TMPDIR:-/tmp}/tower-bench-cc.XXXXXX")
trap 'rm -rf "$work"' EXIT
tower="$top_builddir/tower"
pdir="$top_builddir/plugin-dir"

# Every plugin of the build, as kind.name (`tower plugins` prints "input cpu ...").
names=$("$tower" plugins --plugin-dir "$pdir" 2>/dev/null | awk 'NR > 1 && NF { print $1 "s." $2 }')
"$tower" sample-config --plugin-dir "$pdir" $names >"$work/sample.conf"

# Values for the options a sample leaves empty (marked "# required") and a
# few a plugin needs to do anything; none reaches the network at a check.
awk -v dir="$work" '
  /^  # [a-z]+\.[a-z_0-9]+ / { plugin = $2 }
  function set(opt, val) { if ($0 ~ "^    " opt " = .*# required$") { print "    " opt " = " val ";"; return 1 } return 0 }
  {
    if (plugin == "inputs.dynamodb" && set("tables", "[\"orders\"]")) next
    if (plugin == "inputs.prometheus" && set("urls", "[\"http://127.0.0.1:9/metrics\"]")) next
    if (plugin == "inputs.socket_listener" && set("service_address", "\"tcp://127.0.0.1:8094\"")) next
    if (plugin == "inputs.x509_cert" && set("sources", "[\"https://example.org:443\"]")) next
    if (plugin == "processors.tag_limit" && set("limit", "3")) next
    if (plugin == "outputs.csv" && set("directory", "\"" dir "\"")) next
    if (plugin == "outputs.prometheus_remote_write" && set("url", "\"http://127.0.0.1:9/api/v1/write\"")) next
    print
    if ($0 !~ /^    plugin = /) next
    if (plugin == "inputs.cloudwatch") print "    namespaces = [\"AWS/EC2\"]; region = \"eu-west-1\";"
    if (plugin == "inputs.dynamodb") print "    region = \"eu-west-1\";"
    if (plugin == "inputs.exec") print "    commands = ( [\"/bin/true\"] );"
    if (plugin == "inputs.procstat") print "    exe = \"tower\";"
    if (plugin == "processors.converter") print "    fields = { float = [\"*\"]; };"
    if (plugin == "processors.lua") print "    source = \"function process(metric) return metric end\";"
    if (plugin == "aggregators.histogram") print "    config = ( { buckets = [1.0, 2.0]; measurement_name = \"cpu\"; } );"
  }' "$work/sample.conf" >"$work/all.conf"
printf 'inputs = ( { plugin = "cpu"; } );\noutputs = ( { plugin = "file"; } );\n' >"$work/one.conf"

if ! "$tower" --config "$work/all.conf" --plugin-dir "$pdir" --config-check >"$work/check.out" 2>&1; then
  cat "$work/check.out"
  echo "config_check.sh: the all-plugin configuration does not pass --config-check" >&2
  exit 1
fi

# The libtool wrapper would run a shell each time: the real binary, with
# the build's libtower.
bin="$top_builddir/.libs/tower"
[ -x "$bin" ] || bin="$tower"
export LD_LIBRARY_PATH="$top_builddir/core/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# A program that dlopen()s its arguments as tower's loader does.
cat >"$work/dlopen.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!dlopen(argv[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) {
      fprintf(stderr, "%s\n", dlerror());
      return 1;
    }
  return 0;
}
EOF
${CC:-cc} -O2 -o "$work/dlopen" "$work/dlopen.c" -ldl

# cpu_ms CMD...: the median CPU milliseconds of RUNS runs.
cpu_ms() {
  i=0
  while [ $i -lt "$RUNS" ]; do
    /usr/bin/time -f '%U %S' -o "$work/t" "$@" >/dev/null 2>&1 || true
    awk '{ printf "%.2f\n", ($1 + $2) * 1000 }' "$work/t"
    i=$((i + 1))
  done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
if command -v perf >/dev/null 2>&1 && perf stat -x, -e task-clock true >/dev/null 2>&1; then
  cpu_ms() {
    perf stat -x, -r "$RUNS" -e task-clock "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ { printf "%.1f", $1 }'
  }
  how="perf stat -r $RUNS, task-clock (mean)"
else
  how="/usr/bin/time, median of $RUNS"
fi

n=$(echo $names | wc -w)
sos=$(ls "$pdir"/*/*.so)
echo "tower --config-check, CPU ms ($how):"
printf '  %-52s %6s\n' "$n plugins in one configuration" "$(cpu_ms "$bin" --config "$work/all.conf" --plugin-dir "$pdir" --config-check)"
printf '  %-52s %6s\n' "inputs.cpu and outputs.file" "$(cpu_ms "$bin" --config "$work/one.conf" --plugin-dir "$pdir" --config-check)"
printf '  %-52s %6s\n' "dlopen() of the $n plugin files, nothing else" "$(cpu_ms "$work/dlopen" "$top_builddir/core/.libs/libtower.so.1" $sos)"
