#!/bin/sh
# examples/host.conf's alert rules: promtool checks them and runs their unit
# tests (examples/prometheus/host.rules.test.yml), and every series they use
# is one tower's host inputs expose through outputs.prometheus. (That
# host.conf passes --config-check is tests/integration/examples.sh's.)
. "$top_srcdir/tests/integration/lib.sh"

PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
[ -x "$PROMTOOL" ] || { echo "FAIL: $PROMTOOL is missing: apt-get install prometheus"; exit 1; }
ex="$top_srcdir/examples/prometheus"

"$PROMTOOL" check rules "$ex/host.rules.yml" > "$work/check.out" 2>&1 \
  && ok "promtool check rules host.rules.yml" || fail "$(cat "$work/check.out")"
(cd "$ex" && "$PROMTOOL" test rules host.rules.test.yml) > "$work/test.out" 2>&1 \
  && ok "promtool test rules host.rules.test.yml" || fail "$(cat "$work/test.out")"

# The series the rules read come out of a real tower with host.conf's
# inputs (each gathered once, printed in Prometheus text).
cat > "$work/host.conf" <<CONF
agent = { interval = "1s"; };
inputs = ( { plugin = "disk"; }, { plugin = "mem"; }, { plugin = "system"; },
           { plugin = "net"; interfaces = ["*"]; }, { plugin = "procstat"; pattern = "no-such-process-xyz"; } );
outputs = ( { plugin = "prometheus"; listen = "127.0.0.1:0"; } );
CONF
"$TOWER" --config "$work/host.conf" --test > "$work/test.lp" 2> "$work/test.err" \
  || fail "tower --test: $(cat "$work/test.err")"
for series in disk:free disk:used_percent mem:available_percent system:load5 system:n_cpus \
    net:bytes_recv procstat_lookup:running; do
  m=${series%%:*} f=${series#*:}
  grep -q "^$m,.* .*\\b$f=" "$work/test.lp" && ok "tower exposes ${m}_$f" \
    || fail "no ${m}_$f in: $(cut -c1-100 "$work/test.lp" | head -20)"
done
finish
