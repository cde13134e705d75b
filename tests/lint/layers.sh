#!/bin/sh
# core/ is built in layers (core/README.md): a file includes the internal
# headers of its own layer or of a lower one, never of a higher one, so
# that the data formats never depend on the plugin runtime, the runtime
# never on the agent, and so on. This test reads every #include "..." in
# core/ and fails, naming file:line, on an include that goes up.
. "$top_srcdir/tests/integration/lib.sh"

# layer FILE: 0 primitives, 1 configuration, 2 data formats, 3 plugin
# runtime, 4 agent; "?" for a file this map does not know (a failure:
# add it here and to core/README.md).
layer() {
  case "$1" in
    format/*) echo 2 ;;
    buf.c|buf_internal.h|clock.c|clock.h|closest.c|closest.h|glob.c|globs.h|log.c|log_internal.h|\
    redact.c|secrets.c|secrets.h|units.c|units.h|metric.c|metric_internal.h|metric_shape.c|metric_shape.h|version.c) echo 0 ;;
    conf.c|conf.h|conf_*.c|conf_*.h|config_*.c|config_*.h|options.c|options.h|diag.c|diag.h) echo 1 ;;
    loader.c|loader.h|instance.c|acc.c|buffer.h|buffer_mem.c|buffer_disk.c|delivery.c|delivery.h|select.c|select.h|input.c|output.c|pipeline.c|pipeline.h|aggregate.c|\
    reload.c|stats.c|sample.c|sample.h|suggest.c|suggest.h) echo 3 ;;
    agent.c|agent.h|interrupt.c|interrupt.h|pidfile.c|pidfile.h|notify.c|notify.h|watchdog.c|watchdog.h|cli.c|cli.h|main.c) echo 4 ;;
    *) echo "?" ;;
  esac
}

core="$top_srcdir/core"
for f in $(cd "$core" && ls *.c *.h format/*.c format/*.h); do
  lf=$(layer "$f")
  [ "$lf" = "?" ] && { fail "core/$f is in no layer: add it to tests/lint/layers.sh and core/README.md"; continue; }
  grep -n '^#include "' "$core/$f" | while IFS=: read -r line text; do
    h=$(echo "$text" | sed 's/^#include "\(.*\)"/\1/')
    [ "$h" = config.h ] && continue # autoconf's, not core's config.h
    [ -f "$core/format/$h" ] && h="format/$h"
    [ -f "$core/$h" ] || continue # not a core header (libc, SDK)
    lh=$(layer "$h")
    if [ "$lh" = "?" ] || [ "$lh" -gt "$lf" ]; then
      echo "FAIL: core/$f:$line includes $h (layer $lh) from layer $lf"
    fi
  done
done > "$work/violations"
cat "$work/violations"
n=$(grep -c '^FAIL' "$work/violations")
[ "$n" = 0 ] && ok "every include in core/ stays in its layer or goes down" || failures=$((failures + n))
finish
