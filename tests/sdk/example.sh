#!/bin/sh
# The SDK as a third party sees it: install tower into a temporary root,
# take the example plugin from the installed doc directory, build and
# install it with exactly the commands its README documents (make with
# PKG_CONFIG_PATH on its command line, nothing in the environment), and run
# the installed tower --test with it.
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

# The SDK guide and the examples, under the doc directory.
sdkdoc=$(dirname "$(find "$root" -path '*/doc/*/sdk/README.md' | head -1)")
for f in README.md examples/loadavg/README.md examples/loadavg/Makefile examples/loadavg/loadavg.c; do
  cmp -s "$sdkdoc/$f" "$top_srcdir/sdk/$f" && ok "installed doc sdk/$f" || fail "doc sdk/$f missing in $sdkdoc"
done

# The public headers compile with the C library alone, in C and C++.
inc="$root$(pkg-config --variable=includedir "$top_builddir/tower.pc")"
printf '#include <tower/tower.h>\nint main(void) { return tower_version() == 0; }\n' > "$work/h.c"
${CC:-cc} -std=c99 -Wall -Wextra -Werror -pedantic -I"$inc" -c "$work/h.c" -o "$work/h.o" \
  && ok "headers compile as strict C99" || fail "headers do not compile as C99"
if command -v c++ >/dev/null 2>&1; then
  c++ -Wall -Wextra -Werror -I"$inc" -x c++ -c "$work/h.c" -o "$work/hpp.o" \
    && ok "headers compile as C++" || fail "headers do not compile as C++"
fi

# Build and install each example as its README says: the staged-root form
# of `make PKG_CONFIG_PATH=...`, and `make install PLUGINDIR=...`. Nothing
# reaches pkg-config through the environment, so the Makefile must pass the
# command line's variables on itself.
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
plugins="$work/plugins"
for ex in loadavg; do
  cp -r "$sdkdoc/examples/$ex" "$work/$ex"
  chmod -R u+w "$work/$ex"
  make -C "$work/$ex" PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$root" >"$work/$ex.log" 2>&1 \
    && ok "$ex built: make PKG_CONFIG_PATH=... PKG_CONFIG_SYSROOT_DIR=..." \
    || { cat "$work/$ex.log"; fail "$ex build"; finish; }
  grep -q 'warning:' "$work/$ex.log" && fail "$ex builds with warnings: $(cat "$work/$ex.log")"
  syms=$(nm -D --defined-only "$work/$ex/$ex.so" | awk '$2 != "A" {print $3}')
  [ "$syms" = "tower_plugin_entry" ] && ok "$ex exports only tower_plugin_entry" || fail "$ex exports: $syms"
  make -C "$work/$ex" install PLUGINDIR="$plugins" >>"$work/$ex.log" 2>&1 \
    && ok "$ex installed: make install PLUGINDIR=$plugins" || { cat "$work/$ex.log"; fail "$ex install"; }
done
[ -x "$plugins/inputs/loadavg.so" ] && ok "example in $plugins/inputs" \
  || fail "example not installed: $(find "$plugins")"

export LD_LIBRARY_PATH="$root$libdir"
tower="$root$bindir/tower"
cat > "$work/tower.conf" <<CONF
agent = { hostname = "sdk-test"; };
inputs = ( { plugin = "loadavg"; per_cpu = true; } );
CONF
out=$("$tower" --plugin-dir "$plugins" --config "$work/tower.conf" --test 2>"$work/run.log")
echo "$out" | grep -Eq '^system,host=sdk-test load1=[0-9.e+-]+,load15=[0-9.e+-]+,load1_per_cpu=[0-9.e+-]+,load5=[0-9.e+-]+,n_cpus=[0-9]+i,n_processes=[0-9]+i,n_running=[0-9]+i [0-9]+$' \
  && ok "installed tower runs the example: $out" || fail "tower --test printed '$out' $(cat "$work/run.log")"
"$tower" --plugin-dir "$plugins" sample-config inputs.loadavg | grep -q '# per_cpu = false;' \
  && ok "sample-config documents the example's options" || fail "sample-config for loadavg"
finish
