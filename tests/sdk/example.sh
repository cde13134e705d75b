#!/bin/sh
# The SDK as a third party sees it: install tower into a temporary root,
# build sdk/examples/loadavg with nothing but its Makefile and pkg-config,
# and run the installed tower --test with the plugin loaded.
. "$top_srcdir/tests/integration/lib.sh"

root="$work/root"
make -s -C "$top_builddir" install DESTDIR="$root" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "make install"; finish; }
ok "make install DESTDIR=$root"

# Where the .pc file went, from the build's own tower.pc.
libdir=$(pkg-config --variable=libdir "$top_builddir/tower.pc")
bindir=$(dirname "$libdir")/bin
pcdir="$root$libdir/pkgconfig"
for f in "$pcdir/tower.pc" "$root$bindir/tower" "$root$(pkg-config --variable=includedir "$top_builddir/tower.pc")/tower/tower.h"; do
  [ -e "$f" ] && ok "installed $f" || fail "missing $f"
done
so=$(ls "$root$libdir"/libtower.so.1* 2>/dev/null | head -1)
[ -n "$so" ] && ok "versioned library $(basename "$so")" || fail "no libtower.so.1*"
[ -e "$root$(pkg-config --variable=plugindir "$top_builddir/tower.pc")/inputs/cpu.so" ] \
  && ok "plugins installed in the plugin directory" || echo "note: cpu plugin not built"

# The public headers compile with the C library alone, in C and C++.
inc="$root$(pkg-config --variable=includedir "$top_builddir/tower.pc")"
printf '#include <tower/tower.h>\nint main(void) { return tower_version() == 0; }\n' > "$work/h.c"
${CC:-cc} -std=c99 -Wall -Wextra -Werror -pedantic -I"$inc" -c "$work/h.c" -o "$work/h.o" \
  && ok "headers compile as strict C99" || fail "headers do not compile as C99"
if command -v c++ >/dev/null 2>&1; then
  c++ -Wall -Wextra -Werror -I"$inc" -x c++ -c "$work/h.c" -o "$work/hpp.o" \
    && ok "headers compile as C++" || fail "headers do not compile as C++"
fi

# Build the example out of tree, through pkg-config only.
cp -r "$top_srcdir/sdk/examples/loadavg" "$work/loadavg"
chmod -R u+w "$work/loadavg"
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$root"
make -s -C "$work/loadavg" >"$work/build.log" 2>&1 && ok "example built with pkg-config" \
  || { cat "$work/build.log"; fail "example build"; finish; }
syms=$(nm -D --defined-only "$work/loadavg/loadavg.so" | awk '$2 != "A" {print $3}')
[ "$syms" = "tower_plugin_entry" ] && ok "example exports only tower_plugin_entry" || fail "exports: $syms"

mkdir -p "$work/plugins/inputs"
cp "$work/loadavg/loadavg.so" "$work/plugins/inputs/"
cat > "$work/tower.conf" <<CONF
agent = { hostname = "sdk-test"; };
inputs = ( { plugin = "loadavg"; per_cpu = true; } );
CONF
export LD_LIBRARY_PATH="$root$libdir"
out=$("$root$bindir/tower" --plugin-dir "$work/plugins" --config "$work/tower.conf" --test 2>"$work/run.log")
echo "$out" | grep -Eq '^system,host=sdk-test load1=[0-9.e+-]+,load15=[0-9.e+-]+,load1_per_cpu=[0-9.e+-]+,load5=[0-9.e+-]+,n_cpus=[0-9]+i,n_processes=[0-9]+i,n_running=[0-9]+i [0-9]+$' \
  && ok "installed tower runs the example: $out" || fail "tower --test printed '$out' $(cat "$work/run.log")"
"$root$bindir/tower" --plugin-dir "$work/plugins" sample-config inputs.loadavg | grep -q '# per_cpu = false;' \
  && ok "sample-config documents the example's options" || fail "sample-config for the example"
finish
