#!/bin/sh
# The SDK as a third party sees it: install tower into a temporary root,
# take the example plugins from the installed doc directory, build and
# install them with exactly the commands their READMEs document (make with
# PKG_CONFIG_PATH on its command line, nothing in the environment), and run
# the installed tower with them: inputs.loadavg into outputs.jsonl, whose
# file is checked with jq.
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
for f in README.md examples/loadavg/README.md examples/loadavg/Makefile examples/loadavg/loadavg.c \
  examples/jsonl/README.md examples/jsonl/Makefile examples/jsonl/jsonl.c; do
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
unset MAKEFLAGS MFLAGS MAKELEVEL # not a sub-make of make check's
plugins="$work/plugins"
for ex in loadavg jsonl; do
  cp -r "$sdkdoc/examples/$ex" "$work/$ex"
  chmod -R u+w "$work/$ex"
  make -C "$work/$ex" PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$root" >"$work/$ex.log" 2>&1 \
    && ok "$ex built: make PKG_CONFIG_PATH=... PKG_CONFIG_SYSROOT_DIR=..." \
    || { cat "$work/$ex.log"; fail "$ex build"; finish; }
  grep -Eq '\.c:[0-9]+:[0-9]+: warning:' "$work/$ex.log" && fail "$ex builds with warnings: $(cat "$work/$ex.log")"
  syms=$(nm -D --defined-only "$work/$ex/$ex.so" | awk '$2 != "A" {print $3}')
  [ "$syms" = "tower_plugin_entry" ] && ok "$ex exports only tower_plugin_entry" || fail "$ex exports: $syms"
  make -C "$work/$ex" install PLUGINDIR="$plugins" >>"$work/$ex.log" 2>&1 \
    && ok "$ex installed: make install PLUGINDIR=$plugins" || { cat "$work/$ex.log"; fail "$ex install"; }
done
[ -x "$plugins/inputs/loadavg.so" ] && [ -x "$plugins/outputs/jsonl.so" ] \
  && ok "examples in $plugins/{inputs,outputs}" || fail "examples not installed: $(find "$plugins")"

export LD_LIBRARY_PATH="$root$libdir"
tower="$root$bindir/tower"
cat > "$work/tower.conf" <<CONF
agent = { hostname = "sdk-test"; };
inputs = ( { plugin = "loadavg"; per_cpu = true; } );
CONF
out=$("$tower" --plugin-dir "$plugins" --config "$work/tower.conf" --test 2>"$work/run.log")
echo "$out" | grep -Eq '^system,host=sdk-test load1=[0-9.e+-]+,load15=[0-9.e+-]+,load1_per_cpu=[0-9.e+-]+,load5=[0-9.e+-]+,n_cpus=[0-9]+i,n_processes=[0-9]+i,n_running=[0-9]+i [0-9]+$' \
  && ok "installed tower runs the input example: $out" || fail "tower --test printed '$out' $(cat "$work/run.log")"
"$tower" --plugin-dir "$plugins" sample-config inputs.loadavg | grep -q '# per_cpu = false;' \
  && ok "sample-config documents the input example's options" || fail "sample-config for loadavg"
"$tower" --plugin-dir "$plugins" sample-config outputs.jsonl | grep -q '# path = "stdout";' \
  && ok "sample-config documents the output example's options" || fail "sample-config for jsonl"

# jsonl_conf PATH: loadavg into jsonl writing to PATH.
jsonl_conf() {
  cat > "$work/jsonl.conf" <<CONF
agent = { hostname = "sdk-test"; };
inputs = ( { plugin = "loadavg"; } );
outputs = ( { plugin = "jsonl"; path = "$1"; } );
CONF
}
run_once() { "$tower" --plugin-dir "$plugins" --config "$work/jsonl.conf" --once 2>"$work/once.log"; }

# The line, read back with jq: the loadavg metric as Telegraf's json layout,
# n_cpus as getconf counts them, the timestamp in seconds of now.
check_line() {
  cpus=$(getconf _NPROCESSORS_ONLN)
  now=$(date +%s)
  printf '%s\n' "$1" | jq -e --argjson cpus "$cpus" --argjson now "$now" \
    '.name == "system" and .tags == {"host": "sdk-test"} and .fields.n_cpus == $cpus
     and (.fields.load1 | type) == "number" and (.fields | length) == 6
     and (.timestamp - $now | fabs) < 60' >/dev/null
}

jsonl_conf "$work/out.jsonl"
run_once && run_once && ok "tower --once writes through the output example twice" \
  || fail "tower --once: $(cat "$work/once.log")"
[ "$(lines "$work/out.jsonl")" = 2 ] && check_line "$(head -1 "$work/out.jsonl")" \
  && check_line "$(tail -1 "$work/out.jsonl")" \
  && ok "out.jsonl holds two JSON lines as documented: $(head -1 "$work/out.jsonl")" \
  || fail "out.jsonl: $(cat "$work/out.jsonl")"
[ "$(stat -c %a "$work/out.jsonl")" = "$(printf '%o' $((0644 & ~$(umask))))" ] \
  && ok "created with mode 0644 minus the umask" || fail "mode $(stat -c %a "$work/out.jsonl")"

jsonl_conf stdout
line=$(run_once) && check_line "$line" && ok "path = \"stdout\" writes the line to stdout" \
  || fail "stdout: '$line' $(cat "$work/once.log")"

# --config-check creates nothing; a directory that does not exist fails
# init at start with the file:line of the option.
jsonl_conf "$work/new.jsonl"
"$tower" --plugin-dir "$plugins" --config "$work/jsonl.conf" --config-check >/dev/null 2>&1 \
  && [ ! -e "$work/new.jsonl" ] && ok "--config-check passes without creating the file" \
  || fail "--config-check created $work/new.jsonl or failed"
jsonl_conf "$work/missing/out.jsonl"
! run_once && grep -q "jsonl.conf:3: .*cannot open $work/missing/out.jsonl: No such file or directory" "$work/once.log" \
  && ok "a missing directory: $(grep 'cannot open' "$work/once.log" | head -1)" \
  || fail "missing directory: $(cat "$work/once.log")"

# A failed write is retried, not lost: --once exits 1 and says why.
jsonl_conf /dev/full
! run_once && grep -q "cannot write to /dev/full: No space left on device; will retry" "$work/once.log" \
  && ok "a full device: the write is kept for a retry and tower --once exits 1" \
  || fail "/dev/full: $(cat "$work/once.log")"

# A write cut short half way (the file size limit) leaves no torn line: the
# file keeps exactly what it had. SIGXFSZ is ignored so that write(2) fails
# with EFBIG instead of the signal killing tower.
jsonl_conf "$work/limited.jsonl"
head -c 1000 /dev/zero | tr '\0' x > "$work/limited.jsonl"
echo >> "$work/limited.jsonl"
cp "$work/limited.jsonl" "$work/limited.before"
(trap '' XFSZ; prlimit --fsize=1024 "$tower" --plugin-dir "$plugins" --config "$work/jsonl.conf" \
  --once 2>"$work/once.log") && fail "the size limit did not make the write fail"
grep -q "cannot write to $work/limited.jsonl: File too large" "$work/once.log" \
  && cmp -s "$work/limited.jsonl" "$work/limited.before" \
  && ok "a write that fails half way is cut back: no torn line" \
  || fail "size limit: $(cat "$work/once.log"); file: $(tail -c 200 "$work/limited.jsonl")"
finish
