#!/bin/sh
# debian/ against the build tree, cheap enough for every `make check`:
# - the version comes from one place: debian/changelog's top entry and NEWS
#   say configure.ac's AC_INIT version (this build's PACKAGE_VERSION);
# - every plugin this tree built is in debian/plugins.map exactly once, for
#   a package debian/control declares (a new plugin needs its line there);
# - `make install` leaves no .la file in the plugin directory and puts each
#   plugin's README under $(docdir)/plugins/<kind>/<name>/, and `make
#   uninstall` takes both away again.
. "$top_srcdir/tests/integration/lib.sh"

version=$("$TOWER" --version | awk '{ print $2; exit }')
[ -n "$version" ] || fail "tower --version printed no version: $("$TOWER" --version 2>&1)"
changelog=$(sed -n '1s/^tower (\([^)]*\)).*/\1/p' "$top_srcdir/debian/changelog")
[ "$changelog" = "$version" ] && ok "debian/changelog is at $version" \
  || fail "debian/changelog's top entry is \"$changelog\", configure.ac says $version: add a changelog entry for $version (dch -v $version)"
news=$(sed -n '1s/^tower \([^ ]*\)$/\1/p' "$top_srcdir/NEWS")
[ "$news" = "$version" ] && ok "NEWS starts with $version" \
  || fail "NEWS starts with \"$(head -1 "$top_srcdir/NEWS")\", configure.ac says $version"

map="$top_srcdir/debian/plugins.map"
entries=$(sed -e 's/#.*//' "$map" | awk 'NF')
built=$(cd "$top_builddir/plugin-dir" && ls */*.so | sed 's/\.so$//')
[ -n "$built" ] || fail "no plugin in $top_builddir/plugin-dir"
for p in $built; do
  n=$(echo "$entries" | awk -v p="$p" '$1 == p { n++ } END { print n + 0 }')
  pkg=$(echo "$entries" | awk -v p="$p" '$1 == p { print $2; exit }')
  if [ "$n" -ne 1 ]; then
    fail "$p is listed $n times in debian/plugins.map: give it one line \"$p <package>\" (debian/README.source says which package)"
  elif ! grep -q "^Package: $pkg\$" "$top_srcdir/debian/control"; then
    fail "debian/plugins.map puts $p in $pkg, which debian/control does not declare"
  fi
done
ok "the $(echo "$built" | wc -l) plugins built here are mapped to packages"

root="$work/root"
make -s -C "$top_builddir" install DESTDIR="$root" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "make install"; finish; }
plugindir="$root$(pkg-config --variable=plugindir "$top_builddir/tower.pc")"
docdir=$(find "$root" -type d -path '*/doc/tower' | head -1)
la=$(find "$plugindir" -name '*.la')
[ -z "$la" ] && ok "no .la file in the plugin directory" || fail "make install left .la files: $la"
for p in $built; do
  [ -f "$plugindir/$p.so" ] || fail "$p.so not installed in $plugindir"
  cmp -s "$docdir/plugins/$p/README.md" "$top_srcdir/plugins/$p/README.md" \
    || fail "$p's README is not at $docdir/plugins/$p/README.md"
done
ok "every plugin and its README installed"
make -s -C "$top_builddir" uninstall DESTDIR="$root" >"$work/uninstall.log" 2>&1 \
  || { cat "$work/uninstall.log"; fail "make uninstall"; }
left=$(find "$root" -type f)
[ -z "$left" ] && ok "make uninstall removes every file" || fail "make uninstall left: $left"
finish
