#!/bin/sh
# The tower command line: version, help, plugins, sample-config, config-check,
# --test, --once exit status.
. "$top_srcdir/tests/integration/lib.sh"

out=$("$TOWER" --version) && echo "$out" | grep -q '^tower [0-9]' && ok "--version: $out" || fail "--version"
"$TOWER" --help | grep -q -- '--config-check' && ok "--help" || fail "--help"
"$TOWER" --no-such-flag >/dev/null 2>&1; [ $? -eq 2 ] && ok "bad flag exits 2" || fail "bad flag exit status"

# usage ERROR-FRAGMENT ARGS...: a usage error is one line on stderr naming the
# problem and the help to read, nothing on stdout, exit status 2.
usage() {
  want=$1; shift
  "$TOWER" "$@" > "$work/u.out" 2> "$work/u.err"; rc=$?
  if [ "$rc" = 2 ] && [ ! -s "$work/u.out" ] && [ "$(wc -l < "$work/u.err")" = 1 ] \
      && grep -qF -- "$want" "$work/u.err"; then
    ok "tower $*: $(cat "$work/u.err")"
  else
    fail "tower $*: rc=$rc stdout=$(head -c 200 "$work/u.out") stderr=$(cat "$work/u.err")"
  fi
}
usage "--test and --once cannot be used together; try tower --help" --test --once
usage "--once and --config-check cannot be used together" --once --config-check
usage 'unknown command "frobnicate"' frobnicate
usage "unknown option --no-such-flag; try tower --help" --no-such-flag
usage "--config needs a value" --config
usage '--test-wait "5x" is not a duration' --test-wait 5x
usage 'unexpected argument "extra"; try tower plugins --help' plugins extra
usage "--test does not apply to the plugins command" --test plugins
usage "--once does not apply to the sample-config command" sample-config --once inputs.lines
# Options after a subcommand work; each subcommand has its own help.
"$TOWER" plugins --plugin-dir "$work/nowhere" > /dev/null 2> "$work/pd.err"; rc=$?
[ $rc = 1 ] && grep -q "$work/nowhere does not exist" "$work/pd.err" && ok "tower plugins --plugin-dir DIR is used" \
  || fail "plugins --plugin-dir: rc=$rc $(cat "$work/pd.err")"
"$TOWER" plugins --help | grep -q '^Usage: tower plugins' && ok "tower plugins --help" || fail "plugins --help"
"$TOWER" sample-config --help | grep -q '^Usage: tower sample-config' && ok "tower sample-config --help" \
  || fail "sample-config --help"

"$TOWER" plugins > "$work/plugins.txt"
for p in "input      lines" "output     record" "processor  mark"; do
  grep -q "^$p" "$work/plugins.txt" && ok "plugins lists '$p'" || fail "plugins misses '$p': $(cat "$work/plugins.txt")"
done

# A generated sample for chosen plugins is a valid configuration once the
# required options have values.
"$TOWER" sample-config inputs.lines outputs.record > "$work/sample.conf" || fail "sample-config"
grep -q 'plugin = "lines";' "$work/sample.conf" && ok "sample has the lines block" || fail "sample block"
grep -q '# interval = "10s";' "$work/sample.conf" && ok "sample shows agent defaults" || fail "agent defaults"
sed -e 's|lines = \[""\];|lines = ["m v=1i"];|' -e "s|path = \"\";|path = \"$work/s.lp\";|" \
  "$work/sample.conf" > "$work/sample2.conf"
"$TOWER" --config "$work/sample2.conf" --config-check > "$work/check.out" 2>&1 \
  && ok "filled sample passes --config-check" || fail "filled sample rejected: $(cat "$work/check.out")"
# The full sample (every block commented out) is syntactically valid.
"$TOWER" sample-config > "$work/all.conf"
"$TOWER" --config "$work/all.conf" --config-check > "$work/all.out" 2>&1
grep -q "no inputs configured" "$work/all.out" && ok "full sample parses" || fail "full sample: $(cat "$work/all.out")"

# Invalid configuration: exit 1 and file:line.
printf 'inputs = ( { plugin = "lines"; lines = ["m v=1"]; intervl = "1s"; } );\noutputs = ( { plugin = "record"; path = "/dev/null"; } );\n' > "$work/bad.conf"
"$TOWER" --config "$work/bad.conf" --config-check > "$work/bad.out" 2>&1; rc=$?
[ $rc -eq 1 ] && ok "invalid config exits 1" || fail "invalid config exit $rc"
grep -q "bad.conf:1: inputs.lines: unknown option \"intervl\"; did you mean \"interval\"?" "$work/bad.out" \
  && ok "error names file, line, plugin, suggestion" || fail "message: $(cat "$work/bad.out")"

# What a plugin refuses in init is caught by --config-check too.
printf 'inputs = ( { plugin = "lines"; lines = ["m v=1"]; init_fail = true; } );\noutputs = ( { plugin = "record"; path = "/dev/null"; } );\n' > "$work/init.conf"
"$TOWER" --config "$work/init.conf" --config-check > "$work/init.out" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "init.conf:1: init_fail is set" "$work/init.out" && grep -q "1 plugin refused its configuration" "$work/init.out" \
  && ok "--config-check runs plugin init" || fail "--config-check missed an init error: rc=$rc $(cat "$work/init.out")"

# --test prints line protocol and writes no output.
cat > "$work/t.conf" <<CONF
agent = { hostname = "h"; };
inputs = ( { plugin = "lines"; lines = ["m,a=b v=1i 1700000000000000000"]; } );
outputs = ( { plugin = "record"; path = "$work/never.lp"; } );
CONF
got=$("$TOWER" --config "$work/t.conf" --test 2>/dev/null)
[ "$got" = "m,a=b,host=h v=1i 1700000000000000000" ] && ok "--test prints line protocol" || fail "--test printed '$got'"
[ ! -e "$work/never.lp" ] && ok "--test writes no output" || fail "--test wrote to an output"

# --once writes and reports failed writes through its exit status.
sed "s|never.lp\"|once.lp\"|" "$work/t.conf" > "$work/once.conf"
"$TOWER" --config "$work/once.conf" --once 2>/dev/null; rc=$?
[ $rc -eq 0 ] && [ "$(lines "$work/once.lp")" = 1 ] && ok "--once writes" || fail "--once rc=$rc lines=$(lines "$work/once.lp")"
sed "s|path = \"$work/never.lp\";|path = \"$work/x.lp\"; fail_writes = -1;|" "$work/t.conf" > "$work/fail.conf"
"$TOWER" --config "$work/fail.conf" --once > "$work/fail.out" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "1 metric could not be written" "$work/fail.out" && ok "--once exits 1 when a write fails" \
  || fail "--once with failing output: rc=$rc $(cat "$work/fail.out")"

# Two blocks of one plugin with the same alias are refused, with the line.
cat > "$work/twins.conf" <<CONF
inputs = ( { plugin = "lines"; lines = ["m v=1i"]; } );
outputs = ( { plugin = "record"; path = "$work/t1.lp"; alias = "a"; },
            { plugin = "record"; path = "$work/t2.lp";
              alias = "a"; } );
CONF
"$TOWER" --config "$work/twins.conf" --config-check > "$work/twins.out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q 'twins.conf:4: outputs.record:a is configured twice' "$work/twins.out" \
  && ok "a repeated alias is refused with file:line" || fail "twins: rc=$rc $(cat "$work/twins.out")"

# Every error of a configuration is reported, however many share a format.
{ echo 'inputs = ('
  for i in 1 2 3 4 5 6 7 8; do echo "  { plugin = \"lines\"; lines = [\"m v=1i\"]; wrong$i = 1; },"; done
  echo '  { plugin = "lines"; lines = ["m v=1i"]; } );'
  echo "outputs = ( { plugin = \"record\"; path = \"$work/many.lp\"; } );"; } > "$work/many.conf"
"$TOWER" --config "$work/many.conf" --config-check > "$work/many.out" 2>&1
n=$(grep -c 'unknown option "wrong' "$work/many.out")
[ "$n" = 8 ] && ok "all 8 errors of a file are reported" || fail "$n of 8 errors reported: $(cat "$work/many.out")"

# One-shot runs end on SIGINT/SIGTERM with the status of a process killed by
# it (130, 143), promptly, and --once still writes what was gathered.
cat > "$work/slow.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "lines"; lines = ["m v=1i 1700000000000000000"]; },
           { plugin = "exec"; commands = (["/bin/sleep", "30"]); timeout = "60s"; } );
outputs = ( { plugin = "record"; path = "$work/slow.lp"; } );
CONF
# interrupt SIGNAL EXPECTED-STATUS ARGS...: runs tower, signals it after 1 s
interrupt() {
  sig=$1 want=$2; shift 2
  t0=$(date +%s%N)
  "$TOWER" "$@" > "$work/int.out" 2>&1 &
  p=$!
  sleep 1
  kill -"$sig" "$p"
  wait "$p"; rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$rc" = "$want" ] && [ "$ms" -lt 4000 ] && ok "$* ended by SIG$sig: exit $rc after $ms ms" \
    || fail "$* and SIG$sig: exit $rc after $ms ms: $(cat "$work/int.out")"
}
interrupt INT 130 --config "$work/slow.conf" --test
interrupt TERM 143 --config "$work/slow.conf" --once
[ "$(lines "$work/slow.lp")" = 1 ] && ok "interrupted --once wrote what it had gathered" \
  || fail "interrupted --once wrote $(lines "$work/slow.lp") metrics"
cat > "$work/wait.conf" <<CONF
inputs = ( { plugin = "ticker"; } );
CONF
interrupt TERM 143 --config "$work/wait.conf" --test --test-wait 30s

# A file in the plugin directory that is not a tower plugin.
mkdir -p "$work/plugins/inputs"
echo "not a plugin" > "$work/plugins/inputs/junk.so"
TOWER_PLUGIN_DIR="$work/plugins:$TOWER_PLUGIN_DIR" "$TOWER" plugins > "$work/junk.out" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "(failed).*cannot load $work/plugins/inputs/junk.so" "$work/junk.out" \
  && ok "a broken plugin file is reported" || fail "junk plugin: rc=$rc $(cat "$work/junk.out")"

finish
