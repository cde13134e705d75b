#!/bin/sh
# The Debian packages end to end, on the machine itself (CI: a fresh Debian
# 12, as root): build them from a clean clone of this repository's HEAD
# (uncommitted changes are not in it), run lintian (no error, no warning),
# install tower and libtower1 alone and then every package, run the installed
# tower, and purge.
#
#   tests/packaging/deb.sh    (scripts/test runs it after distcheck)
#
# It installs packages system-wide: run it where that is fine. Needs root,
# git, dpkg-dev, debhelper, lintian, fakeroot and the build dependencies of
# debian/control.
set -u
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
export top_srcdir
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (dpkg -i)"; exit 77; }
ours=$(sed -n 's/^Package: //p' "$top_srcdir/debian/control")
purge_ours() { dpkg --purge $ours >>"$work/purge.log" 2>&1; }
trap 'purge_ours; cleanup' EXIT
purge_ours

# ---- build from a clone ----
git clone -q "$top_srcdir" "$work/src" || { fail "git clone $top_srcdir"; finish; }
t0=$(date +%s)
# nocheck: scripts/test ran the whole suite before this.
(cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
  >"$work/build.log" 2>&1 || { tail -60 "$work/build.log"; fail "dpkg-buildpackage -us -uc -b"; finish; }
ok "dpkg-buildpackage -us -uc -b in $(( $(date +%s) - t0 ))s"
debs=$(ls "$work"/*.deb | grep -v -- '-dbgsym_')
for d in $debs; do
  echo "   $(basename "$d"): installed size $(dpkg-deb -f "$d" Installed-Size) KiB"
done
deb() { ls "$work/$1"_*.deb; }

# ---- lintian ----
if lintian --fail-on error,warning "$work"/*.changes >"$work/lintian.log" 2>&1; then
  ok "lintian: no error or warning"
else
  cat "$work/lintian.log"; fail "lintian"
fi

# ---- the daemon package pulls in no plugin library ----
# tower and libtower1 may need only the base system's libraries: any other
# belongs to a plugin package (debian/README.source). libsystemd0 (sd_notify)
# is there on every Debian system: apt itself needs it.
base_libs='^(libc\.so\.6|libm\.so\.6|libtower\.so\.1|libconfig\.so\.9|libz\.so\.1|libgnutls\.so\.30|libpcre2-8\.so\.0|libsystemd\.so\.0)$'
for p in tower libtower1; do
  dpkg-deb -x "$(deb $p)" "$work/x-$p"
  find "$work/x-$p" -type f -name '*.so*' -o -type f -perm -u+x | while read -r f; do
    readelf -d "$f" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | grep -Ev "$base_libs" \
      | sed "s|^|${f#"$work/x-$p"} needs |"
  done >"$work/extra-libs-$p"
  [ -s "$work/extra-libs-$p" ] && fail "$p needs libraries outside the base system: $(cat "$work/extra-libs-$p")" \
    || ok "$p needs no library beyond libc, libconfig, zlib, GnuTLS, PCRE2 and libsystemd"
done

# ---- files before installing ----
# What may change on purge: logs, caches and package databases, and the
# files of dependencies apt installs (they belong to other packages).
snapshot() {
  find /etc /usr /var /opt -xdev \( -path /var/cache -o -path /var/log -o -path /var/lib/dpkg \
    -o -path /var/lib/apt -o -path /var/tmp -o -path /var/backups -o -path /var/lib/systemd \
    -o -path /var/lib/ucf -o -path /var/mail \) -prune -o -print 2>/dev/null | sort
}
snapshot >"$work/before"

# ---- tower and libtower1 alone ----
install_debs() {
  dpkg -i "$@" >>"$work/install.log" 2>&1 || \
    DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq >>"$work/install.log" 2>&1
}
plugins_check() { # plugins_check WHAT: every installed .so listed by tower plugins, none failing
  tower plugins >"$work/plugins.out" 2>"$work/plugins.err" || fail "$1: tower plugins exits $?: $(cat "$work/plugins.err")"
  [ -s "$work/plugins.err" ] && fail "$1: tower plugins complains: $(cat "$work/plugins.err")"
  grep -q '(failed)' "$work/plugins.out" && fail "$1: a plugin fails to load: $(grep '(failed)' "$work/plugins.out")"
  n=0
  for so in /usr/lib/*/tower/*/*.so; do
    kind=$(basename "$(dirname "$so")"); name=$(basename "$so" .so)
    awk -v k="${kind%s}" -v n="$name" '$1 == k && $2 == n { f = 1 } END { exit !f }' "$work/plugins.out" \
      || fail "$1: tower plugins does not list $kind.$name"
    n=$((n + 1))
  done
  ok "$1: tower plugins lists the $n installed plugins, none failing"
}
install_debs "$(deb tower)" "$(deb libtower1)"
dpkg -s tower >/dev/null 2>&1 && ok "tower and libtower1 installed" || { cat "$work/install.log"; fail "dpkg -i tower libtower1"; finish; }
for p in $ours; do
  case $p in tower | libtower1) ;; *) dpkg -s "$p" >/dev/null 2>&1 && fail "installing tower also installed $p" ;; esac
done
case $(tower --version) in "tower $(sed -n '1s/^tower (\([^)]*\)).*/\1/p' "$top_srcdir/debian/changelog") "*) ok "tower --version: $(tower --version)" ;;
  *) fail "tower --version: $(tower --version 2>&1)" ;; esac
plugins_check "tower alone"
tower --config /etc/tower/tower.conf --config-directory /etc/tower/tower.d --config-check >"$work/cc.out" 2>&1 \
  && ok "the default configuration passes --config-check with tower alone" || fail "--config-check: $(cat "$work/cc.out")"
id tower >/dev/null 2>&1 && ok "system user tower exists" || fail "no tower user"
[ "$(stat -c %U:%a /var/lib/tower)" = tower:750 ] && ok "/var/lib/tower is tower's, 0750" \
  || fail "/var/lib/tower: $(stat -c %U:%a /var/lib/tower 2>&1)"
dpkg-query -W -f='${Conffiles}\n' tower | grep -q '/etc/tower/tower.conf ' \
  && ok "/etc/tower/tower.conf is a conffile" || fail "/etc/tower/tower.conf is not a conffile"

# ---- run it as the tower user with the default configuration ----
# (Where systemd runs and the package has a unit, the service started on
# install would hold the CSV directory's lock: stop it first.)
[ -d /run/systemd/system ] && systemctl stop tower.service >/dev/null 2>&1
(cd / && exec setpriv --reuid tower --regid tower --init-groups \
  tower --config /etc/tower/tower.conf --config-directory /etc/tower/tower.d) >"$work/run.log" 2>&1 &
tpid=$!
pids="$pids $tpid"
# The first gather is at the next 10s boundary, its flush at the one after.
wait_for 30 test -s /var/lib/tower/csv/cpu.csv \
  && ok "tower (as user tower) wrote /var/lib/tower/csv/cpu.csv" || fail "no /var/lib/tower/csv/cpu.csv: $(cat "$work/run.log")"
kill -TERM "$tpid"; wait "$tpid"; rc=$?
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || fail "tower exited $rc on SIGTERM: $(cat "$work/run.log")"
[ "$(stat -c %U /var/lib/tower/csv/cpu.csv 2>/dev/null)" = tower ] && ok "its files are tower's" \
  || fail "cpu.csv owner: $(stat -c %U /var/lib/tower/csv/cpu.csv 2>&1)"
grep -q ' E! ' "$work/run.log" && fail "errors in the log: $(grep ' E! ' "$work/run.log")"

# ---- every package ----
install_debs $debs
for p in $ours; do dpkg -s "$p" >/dev/null 2>&1 || fail "$p not installed: $(tail -20 "$work/install.log")"; done
ok "every package installed"
plugins_check "every package"
# The unit as installed, with the installed binary.
unit=$(dpkg -L tower | grep '/tower\.service$' | head -1)
if [ -z "$unit" ]; then
  fail "the tower package has no tower.service"
elif out=$(systemd-analyze verify --man=no "$unit" 2>&1) && [ -z "$out" ]; then
  ok "systemd-analyze verify $unit"
else
  fail "systemd-analyze verify $unit: $out"
fi
missing=""
for so in /usr/lib/*/tower/*/*.so; do
  plugin=$(basename "$(dirname "$so")")/$(basename "$so" .so)
  # (dh_compress gzips those larger than 4 kB, as Debian policy asks.)
  ls /usr/share/doc/*/plugins/"$plugin"/README.md* >/dev/null 2>&1 || missing="$missing $plugin"
done
[ -z "$missing" ] && ok "every plugin's README is in /usr/share/doc/<package>/plugins/" \
  || fail "no README installed for:$missing"
[ -s /usr/share/tower/tower.conf.sample ] && ok "/usr/share/tower/tower.conf.sample installed" \
  || fail "no /usr/share/tower/tower.conf.sample"
tower --config /etc/tower/tower.conf --config-check >"$work/cc2.out" 2>&1 \
  && ok "--config-check with every package" || fail "--config-check: $(cat "$work/cc2.out")"

# ---- purge ----
purge_ours
for p in $ours; do dpkg -s "$p" >/dev/null 2>&1 && fail "$p still installed after dpkg --purge"; done
snapshot >"$work/after"
comm -13 "$work/before" "$work/after" >"$work/new"
left=""
while read -r f; do
  dpkg -S "$f" >/dev/null 2>&1 || left="$left $f"
done <"$work/new"
[ -z "$left" ] && ok "dpkg --purge leaves no file behind" || fail "left after dpkg --purge:$left"
finish
