#!/bin/sh
# inputs.influxdb_listener with real peers: a "central" tower daemon runs
# the listener and writes what it accepts on to a real influxd 1.6 (Debian
# package influxdb, started here on free loopback ports) with its own
# outputs.influxdb; then
#  - an "edge" tower (tower --once, outputs.influxdb, basic auth) writes
#    every escaping case of line protocol and every field type through it:
#    each point is read back from influxd exactly as written;
#  - the influx CLI (Debian package influxdb-client) pings, creates a
#    database, lists it, and writes with INSERT, in -execute mode and in
#    its interactive shell (`use db` checks SHOW DATABASES);
#  - curl sends a gzip body to the 1.x API and a body to the 2.x API with a
#    token (and a wrong token: 401);
#  - a body with bad lines keeps the good ones, answered 400 in influxd's
#    words;
#  - response_after = "delivery": the answer waits for the output's write;
#  - HTTPS with client certificates: an edge tower's outputs.influxdb with
#    its certificate gets through, curl without one or with one from
#    another CA gets 403.
# Nothing is skipped: a missing influxd, influx or curl is a failure.
. "$top_srcdir/tests/integration/lib.sh"

. "$top_srcdir/tests/influxdb/lib.sh"
for tool in "$INFLUXD" influx curl script gzip openssl; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing: apt-get install influxdb influxdb-client curl util-linux gzip openssl (scripts/test installs them)"
    exit 1
  }
done
"$TOWER" plugins 2>/dev/null | grep -q '^input  *influxdb_listener ' \
  || { echo "FAIL: inputs.influxdb_listener is not built (tower plugins does not list it)"; exit 1; }

# ---- influxd ------------------------------------------------------------------------
start_influxd influxd

# iq DB QUERY: influxd's JSON answer (times in ns)
iq() {
  curl -s -G "$api/query" --data-urlencode "db=$1" --data-urlencode "epoch=ns" --data-urlencode "q=$2"
}
same() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1:
   got: $2
  want: $3"; fi
}
# count DB MEASUREMENT: its points stored in influxd (empty: none)
count() {
  iq "$1" "SELECT count(*) FROM \"$2\"" | sed -n 's/.*"values":\[\[[^,]*,\([0-9]*\).*/\1/p'
}
count_is() { [ "$(count "$1" "$2")" = "$3" ]; }

# ---- the central tower: listener -> outputs.influxdb -> influxd -------------------
port=$(free_port)
listener="http://127.0.0.1:$port"
cat > "$work/central.conf" <<CONF
agent = { omit_hostname = true; flush_interval = "200ms"; shutdown_timeout = "5s"; };
inputs = ( { plugin = "influxdb_listener"; service_address = "127.0.0.1:$port";
             basic_username = "edge"; basic_password = "\${EDGE_PW}"; token = "\${EDGE_TOKEN}";
             database_tag = "via_db"; bucket_tag = "via_bucket"; } );
outputs = ( { plugin = "influxdb"; urls = ["$api"]; database = "relay"; } );
CONF
EDGE_PW='edge-pw' EDGE_TOKEN='edge-token' start_tower "$work/central.conf" "$work/central.log"
central=$tpid

# ---- every escaping case, from an edge tower's outputs.influxdb --------------------
cat > "$work/edge.lp" <<'LP'
esc\ m\,x,t\ k\,\=1=v\ 1\,\=back\slash f\ k\,\=1=1.5 1700000000000000001
quo"te\x,ta"g=x s="say \"hi\" \\ bye",b=true,b2=false 1700000000000000002
température,ville=Montréal,emoji=🚀 温度=21.5,note="über ✓" 1700000000000000003
types f=1.5,neg=-2.25,big=1.7976931348623157e+308,tiny=5e-324,i=-9223372036854775808i,imax=9223372036854775807i,t=true,s="" 1700000000000000004
LP
cat > "$work/edge.json" <<'JSON'
{"name": "strings", "id": "x", "s": "line1\nline2\ttab \"q\" back\\slash", "time": 1700000000000000005}
JSON
cat > "$work/edge.conf" <<CONF
agent = { omit_hostname = true; };
inputs = (
  { plugin = "exec"; precision = "1ns"; commands = ( ["/bin/cat", "$work/edge.lp"] ); data_format = "influx"; },
  { plugin = "exec"; precision = "1ns"; commands = ( ["/bin/cat", "$work/edge.json"] ); data_format = "json";
    json_name_key = "name"; tag_keys = ["id"]; json_string_fields = ["s"];
    json_time_key = "time"; json_time_format = "unix_ns"; }
);
outputs = ( { plugin = "influxdb"; urls = ["$listener"]; database = "edge";
              username = "edge"; password = "edge-pw"; } );
CONF
"$TOWER" --once --config "$work/edge.conf" > "$work/edge.log" 2>&1 \
  && ok "the edge tower wrote through the listener (CREATE DATABASE, then the write)" \
  || fail "edge: $(cat "$work/edge.log")"
wait_for 10 count_is relay strings 1
same "measurement, tag and field keys with space, comma, equals, backslash" \
  "$(iq relay 'SELECT * FROM "esc m,x"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"esc m,x","columns":["time","f k,=1","t k,=1","via_db"],"values":[[1700000000000000001,1.5,"v 1,=back\\slash","edge"]]}]}]}'
same "quotes and backslashes in names and string values; booleans" \
  "$(iq relay 'SELECT * FROM "quo\"te\\x"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"quo\"te\\x","columns":["time","b","b2","s","ta\"g","via_db"],"values":[[1700000000000000002,true,false,"say \"hi\" \\ bye","x","edge"]]}]}]}'
same "unicode measurement, tags, field keys and values" \
  "$(iq relay 'SELECT * FROM "température"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"température","columns":["time","emoji","note","via_db","ville","温度"],"values":[[1700000000000000003,"🚀","über ✓","edge","Montréal",21.5]]}]}]}'
same "float, integer, boolean and empty string values" \
  "$(iq relay 'SELECT * FROM "types"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"types","columns":["time","big","f","i","imax","neg","s","t","tiny","via_db"],"values":[[1700000000000000004,1.7976931348623157e+308,1.5,-9223372036854775808,9223372036854775807,-2.25,"",true,5e-324,"edge"]]}]}]}'
same "field types kept" \
  "$(iq relay 'SHOW FIELD KEYS FROM "types"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"types","columns":["fieldKey","fieldType"],"values":[["big","float"],["f","float"],["i","integer"],["imax","integer"],["neg","float"],["s","string"],["t","boolean"],["tiny","float"]]}]}]}'
same "string value with newline, tab, quotes and backslash" \
  "$(iq relay 'SELECT * FROM "strings"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"strings","columns":["time","id","s","via_db"],"values":[[1700000000000000005,"x","line1\\nline2\ttab \"q\" back\\slash","edge"]]}]}]}'

# ---- the influx CLI ---------------------------------------------------------------------
cli() { influx -host 127.0.0.1 -port "$port" -username edge -password edge-pw "$@"; }
cli -execute 'CREATE DATABASE clidb' > "$work/cli1.out" 2>&1 && ok "influx: CREATE DATABASE" \
  || fail "influx CREATE DATABASE: $(cat "$work/cli1.out")"
cli -execute 'SHOW DATABASES' > "$work/cli2.out" 2>&1
grep -qx 'clidb' "$work/cli2.out" && grep -qx 'edge' "$work/cli2.out" \
  && ok "influx: SHOW DATABASES lists the databases created and written to" \
  || fail "influx SHOW DATABASES: $(cat "$work/cli2.out")"
cli -database clidb -execute 'INSERT cli,k=v\ 1 value=1,s="x y" 1700000000000000010' > "$work/cli3.out" 2>&1 \
  && ok "influx -execute INSERT" || fail "influx INSERT: $(cat "$work/cli3.out")"
cli -database clidb -precision s -execute 'INSERT cli,k=s value=2 1700000001' > "$work/cli4.out" 2>&1 \
  || fail "influx INSERT -precision s: $(cat "$work/cli4.out")"
# The interactive shell needs a terminal: script(1) gives it one.
(printf 'use clidb\nINSERT shell value=3 1700000000000000011\nexit\n'; sleep 1) \
  | script -qec "influx -host 127.0.0.1 -port $port -username edge -password edge-pw" /dev/null \
  > "$work/cli5.out" 2>&1
grep -q 'Using database clidb' "$work/cli5.out" \
  && ok "influx shell: use clidb (its SHOW DATABASES check passes)" \
  || fail "influx shell: $(cat "$work/cli5.out")"
wait_for 10 count_is relay shell 1
same "influx: the points stored, escaping and precision kept" \
  "$(iq relay 'SELECT * FROM "cli","shell"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"cli","columns":["time","k","s","value","via_db"],"values":[[1700000000000000010,"v 1","x y",1,"clidb"],[1700000001000000000,"s",null,2,"clidb"]]},{"name":"shell","columns":["time","k","s","value","via_db"],"values":[[1700000000000000011,null,null,3,"clidb"]]}]}]}'

# ---- curl: gzip, the 2.x API, bad lines ---------------------------------------------------
printf 'gz v=1i 1700000000\ngz v=2i 1700000001\n' | gzip | curl -s -o /dev/null -w '%{http_code}' \
  -u edge:edge-pw -H 'Content-Encoding: gzip' --data-binary @- "$listener/write?db=gzdb&precision=s" \
  > "$work/gz.code"
same "gzip body: 204" "$(cat "$work/gz.code")" 204
code=$(printf 'v2 v=1i 1700000000000000020\n' | curl -s -o /dev/null -w '%{http_code}' \
  -H 'Authorization: Token edge-token' --data-binary @- "$listener/api/v2/write?org=o&bucket=b1")
same "2.x write with the token: 204" "$code" 204
code=$(printf 'v2 v=2i 1700000000000000021\n' | curl -s -o "$work/v2bad.out" -w '%{http_code}' \
  -H 'Authorization: Token wrong' --data-binary @- "$listener/api/v2/write?org=o&bucket=b1")
same "2.x write with a wrong token: 401" "$code" 401
code=$(printf 'bad v=1 1\nbad v= 2\nbad v=3 3\n' | curl -s -o "$work/bad.out" -w '%{http_code}' \
  -u edge:edge-pw --data-binary @- "$listener/write?db=baddb")
same "bad lines: 400" "$code" 400
same "bad lines: influxd's partial write answer, with the line number" "$(cat "$work/bad.out")" \
  '{"error":"partial write: unable to parse '"'"'bad v= 2'"'"': line 2, column 7: missing value for field \"v\" dropped=0"}'
wait_for 10 count_is relay bad 2
same "gzip, 2.x and partial write: the good points stored" \
  "$(iq relay 'SELECT v, via_db, via_bucket FROM "gz","v2","bad"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"bad","columns":["time","v","via_db","via_bucket"],"values":[[1,1,"baddb",null],[3,3,"baddb",null]]},{"name":"gz","columns":["time","v","via_db","via_bucket"],"values":[[1700000000000000000,1,"gzdb",null],[1700000001000000000,2,"gzdb",null]]},{"name":"v2","columns":["time","v","via_db","via_bucket"],"values":[[1700000000000000020,1,null,"b1"]]}]}]}'

tpid=$central
stop_tower TERM
[ "$trc" = 0 ] && ok "central tower stopped cleanly" || fail "central: exit $trc: $(tail -20 "$work/central.log")"
grep -q 'edge-pw\|edge-token' "$work/central.log" && fail "a credential reached the log" \
  || ok "credentials not logged"
grep -q 'stopped: .* writes, .* metrics accepted, 1 bad line' "$work/central.log" \
  && ok "the stop line counts writes, metrics and bad lines" || fail "central log: $(tail -5 "$work/central.log")"

# ---- response_after = "delivery" -----------------------------------------------------------
port=$(free_port)
cat > "$work/delivery.conf" <<CONF
agent = { omit_hostname = true; flush_interval = "2s"; shutdown_timeout = "5s"; };
inputs = ( { plugin = "influxdb_listener"; service_address = "127.0.0.1:$port";
             response_after = "delivery"; } );
outputs = ( { plugin = "influxdb"; urls = ["$api"]; database = "delivered"; } );
CONF
start_tower "$work/delivery.conf" "$work/delivery.log"
# The first write waits for the next flush; when curl hears 204, influxd has it.
out=$(printf 'dl v=1i 1\n' | curl -s -o /dev/null -w '%{http_code} %{time_total}' --data-binary @- \
  "http://127.0.0.1:$port/write?db=x")
n=$(count delivered dl)
[ "${out%% *}" = 204 ] && [ "$n" = 1 ] \
  && ok "delivery: answered 204 only once influxd stored the point (after ${out#* } s)" \
  || fail "delivery: answer $out, $n points stored: $(tail -5 "$work/delivery.log")"
stop_tower TERM
[ "$trc" = 0 ] && ok "delivery tower stopped cleanly" || fail "delivery: exit $trc: $(tail -20 "$work/delivery.log")"

# ---- HTTPS with client certificates (mutual TLS) -------------------------------------------
(
  cd "$work" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=it-ca
  printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile san.ext
  openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=edge
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
  # a client certificate from a CA the listener does not trust
  openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 -subj /CN=other
) > "$work/openssl.log" 2>&1 || fail "openssl: $(cat "$work/openssl.log")"
port=$(free_port)
cat > "$work/mtls.conf" <<CONF
agent = { omit_hostname = true; flush_interval = "200ms"; shutdown_timeout = "5s"; };
inputs = ( { plugin = "influxdb_listener"; service_address = "127.0.0.1:$port";
             tls_cert = "$work/server.pem"; tls_key = "$work/server.key";
             tls_allowed_cacerts = ["$work/ca.pem"]; } );
outputs = ( { plugin = "influxdb"; urls = ["$api"]; database = "overtls"; } );
CONF
start_tower "$work/mtls.conf" "$work/mtls.log"
cat > "$work/edge-tls.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "exec"; precision = "1ns"; commands = ( ["/bin/cat", "$work/edge.lp"] );
             data_format = "influx"; } );
outputs = ( { plugin = "influxdb"; urls = ["https://127.0.0.1:$port"]; database = "edge";
              tls_ca = "$work/ca.pem"; tls_cert = "$work/client.pem"; tls_key = "$work/client.key"; } );
CONF
"$TOWER" --once --config "$work/edge-tls.conf" > "$work/edge-tls.log" 2>&1 \
  && ok "mutual TLS: an edge tower with its client certificate wrote through the listener" \
  || fail "edge over TLS: $(cat "$work/edge-tls.log")"
wait_for 10 count_is overtls types 1
same "mutual TLS: the points stored as written" \
  "$(iq overtls 'SELECT * FROM "esc m,x"')" \
  '{"results":[{"statement_id":0,"series":[{"name":"esc m,x","columns":["time","f k,=1","t k,=1"],"values":[[1700000000000000001,1.5,"v 1,=back\\slash"]]}]}]}'
code=$(printf 'nocert v=1i 1\n' | curl -s -o /dev/null -w '%{http_code}' --cacert "$work/ca.pem" \
  --data-binary @- "https://127.0.0.1:$port/write?db=x")
same "mutual TLS: no client certificate, 403" "$code" 403
code=$(printf 'other v=1i 1\n' | curl -s -o /dev/null -w '%{http_code}' --cacert "$work/ca.pem" \
  --cert "$work/other.pem" --key "$work/other.key" --data-binary @- "https://127.0.0.1:$port/write?db=x")
same "mutual TLS: a certificate from another CA, 403" "$code" 403
stop_tower TERM
[ "$trc" = 0 ] && ok "TLS tower stopped cleanly" || fail "TLS: exit $trc: $(tail -20 "$work/mtls.log")"
[ "$(count overtls nocert)$(count overtls other)" = "" ] \
  && ok "mutual TLS: nothing from refused clients stored" || fail "a refused client's point was stored"

finish
