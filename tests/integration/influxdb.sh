#!/bin/sh
# outputs.influxdb against a real InfluxDB 1.x (Debian package influxdb,
# /usr/bin/influxd), each server started here with its own config and
# directories on free loopback ports (HTTP and the RPC bind-address), and
# read back through /query:
#  - every escaping edge case (measurement, tag and field keys with spaces,
#    commas, equals, quotes, backslashes; string values with quotes,
#    backslashes, a newline and a tab; unicode) and every field type, with
#    and without influx_uint_support, compared exactly;
#  - precision = "s" writes seconds;
#  - a field type conflict: only the bad point is lost, counted as rejected;
#  - a missing database with skip_database_creation: a clear error;
#  - a wrong password (auth-enabled server): a clear error naming the URL
#    without credentials, the metrics kept in the buffer and written once
#    the password matches;
#  - the server stopped mid-run and restarted under a running daemon:
#    every metric gathered (recorded by a `record` output too) is stored.
# Nothing is skipped: a missing influxd or curl is a failure.
. "$top_srcdir/tests/integration/lib.sh"

. "$top_srcdir/tests/influxdb/lib.sh"
"$TOWER" plugins 2>/dev/null | grep -q '^output  *influxdb ' \
  || { echo "FAIL: outputs.influxdb is not built (tower plugins does not list it)"; exit 1; }

# iq API DB QUERY [CURL-ARGS...]: the JSON answer (times in ns)
iq() {
  a=$1; db=$2; q=$3; shift 3
  curl -s -G "$a/query" --data-urlencode "db=$db" --data-urlencode "epoch=ns" \
    --data-urlencode "q=$q" "$@"
}

# count API DB MEASUREMENT [CURL-ARGS...]: its number of points (empty: none)
count() {
  a=$1; db=$2; m=$3; shift 3
  iq "$a" "$db" "SELECT count(v) FROM \"$m\"" "$@" | sed -n 's/.*"values":\[\[[^,]*,\([0-9]*\)\]\].*/\1/p'
}

# same DESCRIPTION GOT WANT
same() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1:
   got: $2
  want: $3"; fi
}

# once NAME CONFIG-BODY: runs tower --once; sets $orc and leaves the log in $work/NAME.log
once() {
  printf '%s\n' "$2" > "$work/$1.conf"
  "$TOWER" --once --config "$work/$1.conf" > "$work/$1.log" 2>&1
  orc=$?
}

start_influxd plain false
plain=$api

# ---- escaping and field types ---------------------------------------------------
# Line protocol (read by inputs.exec from a file, so nothing is escaped twice)
# and JSON (for string values with a newline and a tab, which line protocol
# input cannot carry).
cat > "$work/edge.lp" <<'LP'
esc\ m\,x,t\ k\,\=1=v\ 1\,\=back\slash f\ k\,\=1=1.5 1700000000000000001
quo"te\x,ta"g=x s="say \"hi\" \\ bye",b=true,b2=false 1700000000000000002
température,ville=Montréal,emoji=🚀 温度=21.5,note="über ✓" 1700000000000000003
types f=1.5,neg=-2.25,big=1.7976931348623157e+308,tiny=5e-324,i=-9223372036854775808i,imax=9223372036854775807i,u=18446744073709551615u,t=true,s="" 1700000000000000004
LP
cat > "$work/edge.json" <<'JSON'
{"name": "strings", "id": "x", "s": "line1\nline2\ttab \"q\" back\\slash", "time": 1700000000000000005}
JSON
edge_inputs="
  { plugin = \"exec\"; precision = \"1ns\"; commands = ( [\"/bin/cat\", \"$work/edge.lp\"] );
    data_format = \"influx\"; },
  { plugin = \"exec\"; precision = \"1ns\"; commands = ( [\"/bin/cat\", \"$work/edge.json\"] ); data_format = \"json\";
    json_name_key = \"name\"; tag_keys = [\"id\"]; json_string_fields = [\"s\"];
    json_time_key = \"time\"; json_time_format = \"unix_ns\"; }"
once edge "agent = { omit_hostname = true; };
inputs = ( $edge_inputs );
outputs = ( { plugin = \"influxdb\"; urls = [\"$plain\"]; database = \"edge\"; } );"
[ "$orc" = 0 ] && ok "tower --once wrote the edge cases" || fail "edge: exit $orc: $(cat "$work/edge.log")"

same "measurement, tag and field keys with space, comma, equals, backslash" \
  "$(iq "$plain" edge 'SELECT * FROM "esc m,x"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"esc m,x","columns":["time","f k,=1","t k,=1"],"values":[[1700000000000000001,1.5,"v 1,=back\\slash"]]}]}]}'
same "quotes and backslashes in names and string values; booleans" \
  "$(iq "$plain" edge 'SELECT * FROM "quo\"te\\x"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"quo\"te\\x","columns":["time","b","b2","s","ta\"g"],"values":[[1700000000000000002,true,false,"say \"hi\" \\ bye","x"]]}]}]}'
same "unicode measurement, tags, field keys and values" \
  "$(iq "$plain" edge 'SELECT * FROM "température"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"température","columns":["time","emoji","note","ville","温度"],"values":[[1700000000000000003,"🚀","über ✓","Montréal",21.5]]}]}]}'
same "float, integer and clipped unsigned values" \
  "$(iq "$plain" edge 'SELECT * FROM "types"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"types","columns":["time","big","f","i","imax","neg","s","t","tiny","u"],"values":[[1700000000000000004,1.7976931348623157e+308,1.5,-9223372036854775808,9223372036854775807,-2.25,"",true,5e-324,9223372036854775807]]}]}]}'
same "field types (uint without influx_uint_support is an integer)" \
  "$(iq "$plain" edge 'SHOW FIELD KEYS FROM "types"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"types","columns":["fieldKey","fieldType"],"values":[["big","float"],["f","float"],["i","integer"],["imax","integer"],["neg","float"],["s","string"],["t","boolean"],["tiny","float"],["u","integer"]]}]}]}'
# A newline in a string value is written as the two characters \n (as
# Telegraf does); a tab is written as it is.
same "string value with newline, tab, quotes and backslash" \
  "$(iq "$plain" edge 'SELECT * FROM "strings"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"strings","columns":["time","id","s"],"values":[[1700000000000000005,"x","line1\\nline2\ttab \"q\" back\\slash"]]}]}]}'
grep -q ' E! ' "$work/edge.log" && fail "errors logged: $(cat "$work/edge.log")" || ok "no errors logged"

# influx_uint_support: servers with unsigned support store it; InfluxDB 1.x
# OSS (built without it) refuses that one point, which is counted and named.
printf 'uints u=18446744073709551615u,i=1i 1700000000000000006\nuints i=2i 1700000000000000007\n' > "$work/uint.lp"
once uint "agent = { omit_hostname = true; };
inputs = ( { plugin = \"exec\"; precision = \"1ns\"; commands = ( [\"/bin/cat\", \"$work/uint.lp\"] ); data_format = \"influx\"; } );
outputs = ( { plugin = \"influxdb\"; urls = [\"$plain\"]; database = \"uint\"; influx_uint_support = true; } );"
types=$(iq "$plain" uint 'SHOW FIELD KEYS FROM "uints"')
case "$types" in
*'["u","unsigned"]'*)
  same "influx_uint_support: unsigned stored" "$(iq "$plain" uint 'SELECT u FROM "uints"')" \
    '{"results":[{"statement_id":0,"series":[{"name":"uints","columns":["time","u"],"values":[[1700000000000000006,18446744073709551615]]}]}]}' ;;
*)
  same "influx_uint_support on a server without unsigned: the other point stored" \
    "$(iq "$plain" uint 'SELECT * FROM "uints"')" \
    '{"results":[{"statement_id":0,"series":[{"name":"uints","columns":["time","i"],"values":[[1700000000000000007,2]]}]}]}'
  grep -q "1 of 2 metrics refused by $plain (database \"uint\") and lost: HTTP 400: partial write: unable to parse 'uints i=1i,u=18446744073709551615u 1700000000000000006': invalid number dropped=0 (the others were stored)" "$work/uint.log" \
    && ok "the unsigned point is counted as refused, with the server's reason" \
    || fail "uint log: $(cat "$work/uint.log")" ;;
esac

# ---- precision ----------------------------------------------------------------------
once prec "agent = { omit_hostname = true; };
inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [\"prec v=1 1700000000999999999\"]; } );
outputs = ( { plugin = \"influxdb\"; urls = [\"$plain\"]; database = \"prec\"; precision = \"s\"; content_encoding = \"identity\"; } );"
same "precision = \"s\": seconds written and read as such" \
  "$(iq "$plain" prec 'SELECT * FROM "prec"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"prec","columns":["time","v"],"values":[[1700000000000000000,1]]}]}]}'

# ---- a field type conflict: only the bad point is lost ------------------------------
# InfluxDB 1.6 refuses such a batch whole when the field is new in the
# shard ("field type conflict", 400); 1.8 stores the rest ("partial write").
# Either way the good points are stored and the bad one is counted.
once conflict "agent = { omit_hostname = true; };
inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [\"conflict v=1 1\", \"conflict v=\\\"text\\\" 2\", \"conflict v=3 3\", \"other w=1i 4\"]; } );
outputs = ( { plugin = \"influxdb\"; urls = [\"$plain\"]; database = \"conflict\"; } );"
same "conflict: the good points are stored" \
  "$(iq "$plain" conflict 'SELECT * FROM "conflict","other"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"conflict","columns":["time","v","w"],"values":[[1,1,null],[3,3,null]]},{"name":"other","columns":["time","v","w"],"values":[[4,null,1]]}]}]}'
grep -q "1 of 4 metrics refused by $plain (database \"conflict\") and lost: HTTP 400: .*field type conflict" "$work/conflict.log" \
  && ok "conflict: the one bad point is counted and the server's reason logged" \
  || fail "conflict log: $(cat "$work/conflict.log")"
[ "$orc" = 1 ] && ok "conflict: --once exits 1 (a metric was not written)" || fail "conflict: exit $orc"

# ---- a missing database with skip_database_creation ---------------------------------
once missing "agent = { omit_hostname = true; };
inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );
outputs = ( { plugin = \"influxdb\"; urls = [\"$plain\"]; database = \"nosuch\"; skip_database_creation = true; } );"
[ "$orc" = 1 ] && ok "missing database: --once exits 1" || fail "missing database: exit $orc"
grep -q "write to $plain (database \"nosuch\") refused: HTTP 404: database not found: \"nosuch\"; create the database (CREATE DATABASE), or unset skip_database_creation" "$work/missing.log" \
  && ok "missing database: the error says what to do" || fail "missing database log: $(cat "$work/missing.log")"
case "$(iq "$plain" nosuch 'SHOW DATABASES')" in
*nosuch*) fail "skip_database_creation created the database" ;;
*) ok "skip_database_creation: no CREATE DATABASE sent" ;;
esac

# ---- wrong password: clear error, metrics kept, written once it matches -------------
start_influxd auth true
authapi=$api
curl -s -XPOST "$authapi/query" --data-urlencode "q=CREATE USER admin WITH PASSWORD 'right-pw' WITH ALL PRIVILEGES" > /dev/null
cat > "$work/auth.conf" <<CONF
agent = { interval = "200ms"; flush_interval = "200ms"; omit_hostname = true;
          retry_backoff_min = "100ms"; retry_backoff_max = "500ms"; shutdown_timeout = "5s"; };
inputs = ( { plugin = "lines"; lines = ["authm v=1i"]; } );
outputs = ( { plugin = "influxdb"; urls = ["$authapi"]; database = "authdb";
              username = "admin"; password = "\${INFLUX_PW}"; } );
CONF
INFLUX_PW='wrong-pw' start_tower "$work/auth.conf" "$work/auth.log"
wait_for 10 grep -q "refused: HTTP 401" "$work/auth.log"
grep -q "write to $authapi (database \"authdb\") refused: HTTP 401: authorization failed; check username and password (the metrics stay in the buffer and are retried)" "$work/auth.log" \
  && ok "wrong password: the error names the URL and what to check" || fail "wrong password log: $(cat "$work/auth.log")"
grep -q "wrong-pw" "$work/auth.log" && fail "the password reached the log" || ok "password not logged"
wait_for 5 grep -q "metrics kept in the buffer" "$work/auth.log" \
  && ok "wrong password: metrics kept in the buffer" || fail "buffer: $(cat "$work/auth.log")"
sleep 1
kept=$(sed -n 's/.*write failed; \([0-9]*\) metrics kept in the buffer.*/\1/p' "$work/auth.log" | tail -1)
# The server now takes the configured password: the buffer is written.
curl -s -XPOST -u admin:right-pw "$authapi/query" --data-urlencode "q=SET PASSWORD FOR admin = 'wrong-pw'" > /dev/null
authcount() { count "$authapi" authdb authm -u admin:wrong-pw; }
authcount_ge() { n=$(authcount); [ "${n:-0}" -ge "$1" ]; }
wait_for 10 authcount_ge "${kept:-1}"
n=$(authcount)
[ "${kept:-0}" -ge 3 ] && [ "${n:-0}" -ge "$kept" ] \
  && ok "after the password matches, the $kept metrics kept in the buffer are written ($n in all)" \
  || fail "auth: ${kept:-no} kept, ${n:-no} points: $(tail -5 "$work/auth.log")"
stop_tower TERM
stop_influxd auth

# ---- the server stops and comes back under a running daemon: nothing lost ----------
cat > "$work/daemon.conf" <<CONF
agent = { interval = "100ms"; flush_interval = "200ms"; omit_hostname = true;
          metric_buffer_limit = 100000; retry_backoff_min = "100ms"; retry_backoff_max = "500ms";
          shutdown_timeout = "10s"; };
inputs = ( { plugin = "lines"; lines = ["beat v=1i"]; } );
outputs = (
  { plugin = "influxdb"; urls = ["$plain"]; database = "daemon"; timeout = "2s"; },
  { plugin = "record"; path = "$work/daemon.lp"; }
);
CONF
beats() { count "$plain" daemon beat; }
beats_ge() { n=$(beats); [ "${n:-0}" -ge "$1" ]; }
start_tower "$work/daemon.conf" "$work/daemon.log"
wait_for 10 beats_ge 3
before=$(beats)
[ "${before:-0}" -ge 3 ] && ok "daemon: $before points written while the server is up" || fail "daemon: nothing written: $(cat "$work/daemon.log")"
stop_influxd plain
sleep 2
grep -q "write to $plain (database \"daemon\") failed: " "$work/daemon.log" \
  && ok "daemon: the outage is logged with the URL" || fail "daemon: no outage error: $(tail -5 "$work/daemon.log")"
start_influxd plain false
kill -USR1 "$tpid"
sleep 1
stop_tower TERM
[ "$trc" = 0 ] && ok "daemon: stopped cleanly" || fail "daemon: exit $trc: $(tail -20 "$work/daemon.log")"
stored=$(beats)
recorded=$(lines "$work/daemon.lp")
[ -n "$stored" ] && [ "$stored" = "$recorded" ] && [ "$stored" -gt "$before" ] \
  && ok "daemon: all $recorded metrics gathered are stored across the restart" \
  || fail "daemon: $stored stored, $recorded recorded: $(grep -v ' D! ' "$work/daemon.log" | tail -20)"
grep -q "lost\|dropped" "$work/daemon.log" && fail "daemon: losses logged: $(grep 'lost\|dropped' "$work/daemon.log")" \
  || ok "daemon: no loss logged"
stop_influxd plain

finish
