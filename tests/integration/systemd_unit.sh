#!/bin/sh
# systemd/tower.service: systemd-analyze verify accepts it with this
# build's binary in ExecStart (and refuses it with a missing one, so the
# check can fail), the settings the agent's sd_notify support relies on
# are there, and systemd-analyze security --offline rates its exposure in
# the "OK" band or better. (The protocol itself: tests/core/test_notify.)
. "$top_srcdir/tests/integration/lib.sh"

sa=$(command -v systemd-analyze) || { echo "SKIP: systemd-analyze not installed (Debian: systemd)"; exit 77; }
unit="$top_srcdir/systemd/tower.service"
mkdir "$work/good" "$work/bad"
sed "s|^ExecStart=/usr/bin/tower |ExecStart=$TOWER |" "$unit" > "$work/good/tower.service"
grep -q "^ExecStart=$TOWER " "$work/good/tower.service" || fail "ExecStart=/usr/bin/tower not found in the unit"
sed "s|^ExecStart=/usr/bin/tower |ExecStart=$work/missing/tower |" "$unit" > "$work/bad/tower.service"

# --man=no: the man pages are in the tree (checked below), not installed.
if out=$("$sa" verify --man=no "$work/good/tower.service" 2>&1) && [ -z "$out" ]; then
  ok "systemd-analyze verify accepts the unit"
else
  fail "systemd-analyze verify: $out"
fi
"$sa" verify --man=no "$work/bad/tower.service" > "$work/bad.out" 2>&1 \
  && fail "verify accepted a missing binary" || ok "verify refuses a unit whose binary is missing"
for page in $(sed -n 's/^Documentation=//p' "$unit"); do
  f=$(echo "$page" | sed -n 's/^man:\(.*\)(\([0-9]\))$/\1.\2/p')
  [ -n "$f" ] && [ -f "$top_srcdir/man/$f" ] && ok "Documentation=$page is in man/" || fail "Documentation=$page: no man/$f"
done

for want in 'Type=notify' 'NotifyAccess=main' 'WatchdogSec=' 'ExecReload=/bin/kill -HUP $MAINPID' \
  'User=tower' 'StateDirectory=tower' 'ConfigurationDirectory=tower' 'ProtectSystem=strict' \
  'NoNewPrivileges=yes' 'CapabilityBoundingSet=$' 'SystemCallFilter=@system-service'; do
  grep -q "^$want" "$unit" && ok "the unit sets $want" || fail "the unit lacks $want"
done

# The exposure score: "→ Overall exposure level for tower.service: 1.4 OK 🙂"
"$sa" security --offline=true "$work/good/tower.service" > "$work/security" 2>&1
line=$(grep "Overall exposure level" "$work/security")
score=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
echo "systemd-analyze security: ${score:-?}"
case "$score" in
  *" PERFECT"|*" SAFE"|*" OK") ok "exposure $score" ;;
  *) fail "exposure not in the OK band: ${line:-$(cat "$work/security")}" ;;
esac
finish
