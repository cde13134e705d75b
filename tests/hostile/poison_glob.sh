#!/bin/sh
# Poison data for glob matching: metrics whose tag value, name or field key
# is 100 kB of 'a', which a backtracking matcher cannot finish against
# `*a*a*b` (hours), through every place a glob meets metric data: the
# selectors of an input (tagdrop, tagpass, namepass with and without
# namepass_separator, fieldinclude) and of an output (tagdrop, namepass,
# fieldinclude), and the rules of processors.filter. The real tower binary
# reads them from inputs.exec with --once; each run must finish within
# seconds and keep exactly the metrics the patterns say.
. "$top_srcdir/tests/integration/lib.sh"

"$TOWER" plugins 2>/dev/null | grep -q '^input  *exec ' \
  || { echo "FAIL: inputs.exec is not built (tower plugins does not list it)"; exit 1; }
CAT=$(command -v cat)

# The metrics, one per line, told apart by the value of their field v:
#   v=1  big,k=A        v=2  big,k=Ab       v=3  ok,k=small
#   v=4  A,k=n          v=5  Ab,k=n         v=6  f,k=x with a field A=6i
# where A is 100000 'a' (a tag value, a name, a field key).
awk 'BEGIN {
  a = "a"; while (length(a) < 100000) a = a a; a = substr(a, 1, 100000)
  printf "big,k=%s v=1i 1700000000000000001\n", a
  printf "big,k=%sb v=2i 1700000000000000002\n", a
  printf "ok,k=small v=3i 1700000000000000003\n"
  printf "%s,k=n v=4i 1700000000000000004\n", a
  printf "%sb,k=n v=5i 1700000000000000005\n", a
  printf "f,k=x %s=6i,v=7i 1700000000000000006\n", a
}' > "$work/poison.lp"

# vals FILE: the values of v written, in order, as "1 3 4"
vals() { grep -o '[ ,]v=[0-9]*i' "$1" 2>/dev/null | sed 's/.*=\([0-9]*\)i/\1/' | sort -n | tr '\n' ' ' | sed 's/ $//'; }

# scenario NAME INPUT-EXTRA PROCESSORS OUTPUT-EXTRA WANT: one --once run;
# WANT is vals of what the output must hold.
scenario() {
  name=$1
  cat > "$work/$name.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "exec"; commands = (["$CAT", "$work/poison.lp"]); data_format = "influx"; $2 } );
processors = ( $3 );
outputs = ( { plugin = "record"; path = "$work/$name.lp"; $4 } );
CONF
  t0=$(date +%s%N)
  timeout -k 5 60 "$TOWER" --config "$work/$name.conf" --once > "$work/$name.log" 2>&1
  rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  touch "$work/$name.lp"
  [ "$rc" = 0 ] || { fail "$name: exit $rc after $ms ms: $(tail -5 "$work/$name.log")"; return; }
  [ "$ms" -lt 10000 ] && ok "$name: done in $ms ms" || fail "$name: took $ms ms"
  got=$(vals "$work/$name.lp")
  [ "$got" = "$5" ] && ok "$name: kept v = $got" || fail "$name: kept v = '$got', want '$5'"
}

# Input selectors.
scenario in_tagdrop 'tagdrop = { k = ["*a*a*b"]; };' '' '' '1 3 4 5 7'
scenario in_tagpass 'tagpass = { k = ["*a*a*a*a*a*b", "small"]; };' '' '' '2 3'
scenario in_namepass 'namepass = ["*a*a*b", "ok"];' '' '' '3 5'
scenario in_namepass_sep 'namepass = ["*a*a*b", "ok"]; namepass_separator = ".";' '' '' '3 5'
scenario in_namedrop 'namedrop = ["*?*?*?*?*?*?*b"];' '' '' '1 2 3 4 7'
scenario in_fieldinclude 'fieldinclude = ["*a*a*b", "v"];' '' '' '1 2 3 4 5 7'
# Output selectors.
scenario out_tagdrop '' '' 'tagdrop = { k = ["*a*a*a*a*a*b"]; };' '1 3 4 5 7'
scenario out_namepass '' '' 'namepass = ["*a*a*a*a*a*b", "big"];' '1 2 5'
scenario out_fieldinclude '' '' 'fieldinclude = ["*?*?*?*b", "v"];' '1 2 3 4 5 7'
# processors.filter: the first matching rule decides.
scenario filter_drop '' '{ plugin = "filter"; rules = (
    { tags = { k = ["*a*a*a*a*a*b"]; }; action = "drop"; },
    { name = ["*a*a*b"]; action = "drop"; },
    { fields = ["*a*a*a*b"]; action = "drop"; }); }' '' '1 3 4 7'
scenario filter_pass '' '{ plugin = "filter"; default = "drop"; rules = (
    { tags = { k = ["*a*a*b", "[!a]*"]; }; action = "pass"; }); }' '' '2 3 4 5 7'

# What was kept came through whole: the 100 kB tag value and name, and the
# field key that fieldinclude did not remove.
# long FILE REGEX: lines over 100 kB that match REGEX
long() { awk -v re="$2" 'length($0) > 100000 && $0 ~ re { c++ } END { print c + 0 }' "$1"; }
[ "$(long "$work/in_tagdrop.lp" '^big,k=a+ v=1i ')" = 1 ] \
  && ok "the 100 kB tag value arrived whole" || fail "big,k=A is not whole in in_tagdrop.lp"
[ "$(long "$work/in_namepass.lp" '^a+b,k=n v=5i ')" = 1 ] \
  && ok "the 100 kB name arrived whole" || fail "the long name is not whole in in_namepass.lp"
grep -q '^f,k=x v=7i ' "$work/in_fieldinclude.lp" \
  && ok "fieldinclude removed the 100 kB field key at the input" \
  || fail "in_fieldinclude: $(grep -c '=6i' "$work/in_fieldinclude.lp") line(s) with the long field"
grep -q '^f,k=x v=7i ' "$work/out_fieldinclude.lp" \
  && ok "fieldinclude removed the 100 kB field key at the output" \
  || fail "out_fieldinclude: $(grep -c '=6i' "$work/out_fieldinclude.lp") line(s) with the long field"
[ "$(long "$work/filter_drop.lp" '^f,k=x a+=6i,v=7i ')" = 1 ] \
  && ok "filter kept the 100 kB field key its rules did not match" || fail "filter_drop: f is not whole"

finish
