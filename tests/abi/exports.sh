#!/bin/sh
# Every plugin .so exports exactly one symbol, tower_plugin_entry; libtower
# exports only the SDK (tower_*) and the daemon's private twi_* functions.
set -u
fail=0
check() { # file, allowed-regex
  extra=$(nm -D --defined-only "$1" | awk '$2 != "A" {print $3}' | grep -Ev "$2" || true)
  if [ -n "$extra" ]; then
    echo "FAIL: $1 exports more than it should:"; echo "$extra" | sed 's/^/  /'; fail=1
  else
    echo "ok: $1"
  fi
}
n=0
for so in "$top_builddir"/plugin-dir/*/*.so "$top_builddir"/tests/plugin-dir/*/*.so \
          "$top_builddir"/tests/abi/.libs/good.so "$top_builddir"/tests/abi/.libs/abi_1_0.so; do
  [ -e "$so" ] || continue
  check "$so" '^tower_plugin_entry$'
  n=$((n + 1))
done
[ "$n" -ge 3 ] || { echo "FAIL: expected at least 3 plugins to check, found $n"; fail=1; }
check "$top_builddir/core/.libs/libtower.so" '^(tower|twi)_'
# The fixture built against the ABI 1.0 headers binds only to symbols of the
# TOWER_1 node, so it runs on any libtower.so.1, 1.0 included.
v10="$top_builddir/tests/abi/.libs/abi_1_0.so"
newer=$(objdump -T "$v10" | awk '/\*UND\*/ && $NF ~ /^tower_/ && $(NF-1) != "(TOWER_1)" {print $(NF-1), $NF}')
if [ ! -e "$v10" ]; then
  echo "FAIL: $v10 is missing (make check builds it)"; fail=1
elif [ -n "$newer" ]; then
  echo "FAIL: $v10 needs symbols newer than TOWER_1:"; echo "$newer" | sed 's/^/  /'; fail=1
else
  echo "ok: $v10 needs only TOWER_1 symbols ($(objdump -T "$v10" | grep -c '(TOWER_1) *tower_') of them)"
fi
# The soname carries the ABI major.
soname=$(objdump -p "$top_builddir/core/.libs/libtower.so" | awk '/SONAME/ {print $2}')
case "$soname" in
  libtower.so.1) echo "ok: soname $soname" ;;
  *) echo "FAIL: soname is '$soname', expected libtower.so.1"; fail=1 ;;
esac
exit $fail
