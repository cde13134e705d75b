#!/bin/sh
# inputs.dynamodb against dynalite (npm package dynalite@3: DynamoDB's API
# in node, in memory; it checks that requests are signed, not the
# signature, which tests/plugins/test_dynamodb.c covers), with the shipped
# example examples/dynamodb-to-csv.conf, unchanged, pointed at it through
# its environment variables:
#  - four tables created and loaded through the API (curl --aws-sigv4);
#    zone-count-dynamodb holds items of every attribute type;
#  - --once: every CSV file has the exact header and rows (DynamoDB's number
#    normalization, maps flattened, lists and sets as JSON, B as base64);
#  - items changed, --once again: snapshot files hold the new items only,
#    the append file grows with a second timestamp, headers unchanged;
#  - the daemon with a 1 s interval (a copy of the example): each snapshot
#    follows the table from one gather to the next, the append file grows;
#  - pagination (page_size = 7 against dynalite's real LastEvaluatedKey)
#    and a parallel scan (segments = 3) give every item exactly once;
#  - a filter expression with values and names, evaluated by dynalite;
#  - a table that does not exist: the error names it, the others are
#    written.
# dynalite is installed with npm into a cache directory when missing
# (node and npm from Debian when they are missing and we are root).
# Nothing is skipped: a missing tool is a failure.
. "$top_srcdir/tests/integration/lib.sh"

"$TOWER" plugins 2>/dev/null | grep -q '^input  *dynamodb ' \
  || { echo "FAIL: inputs.dynamodb is not built (tower plugins does not list it)"; exit 1; }
command -v curl >/dev/null 2>&1 || { echo "FAIL: curl is missing: apt-get install curl"; exit 1; }

# ---- dynalite ---------------------------------------------------------------------------
# The same place scripts/lib.sh's need_dynalite installs into.
dyn_dir=${TOWER_DYNALITE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tower/dynalite}
dynalite=${DYNALITE:-$dyn_dir/node_modules/dynalite/cli.js}
if [ ! -f "$dynalite" ]; then
  if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing nodejs and npm (Debian packages) for dynalite"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm \
        >"$work/apt.log" 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
             apt-get install -y -qq --no-install-recommends nodejs npm >"$work/apt.log" 2>&1; } \
        || { echo "FAIL: apt-get install nodejs npm failed: $(tail -5 "$work/apt.log")"; exit 1; }
    else
      echo "FAIL: node and npm are missing: apt-get install nodejs npm (scripts/test installs them)"
      exit 1
    fi
  fi
  echo "installing dynalite@3 into $dyn_dir"
  mkdir -p "$dyn_dir" && (cd "$dyn_dir" && flock "$dyn_dir" npm install --no-audit --no-fund \
    --silent dynalite@3 >"$work/npm.log" 2>&1) \
    || { echo "FAIL: npm install dynalite@3 failed: $(tail -5 "$work/npm.log")"; exit 1; }
fi

free_port() {
  while :; do
    p=$(shuf -i 20000-60000 -n 1)
    grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$p"; return; }
  done
}

port=$(free_port)
endpoint="http://127.0.0.1:$port"
node "$dynalite" --port "$port" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 \
  >"$work/dynalite.log" 2>&1 &
pids="$pids $!"

# ddb OPERATION JSON: one signed DynamoDB API call; prints the answer.
ddb() {
  curl -s --aws-sigv4 "aws:amz:us-east-1:dynamodb" --user "AKIDDYNALITE:dynalite-secret" \
    -H "Content-Type: application/x-amz-json-1.0" -H "X-Amz-Target: DynamoDB_20120810.$1" \
    -d "$2" "$endpoint/"
}
wait_for 20 sh -c "curl -s -o /dev/null '$endpoint/'" \
  || { fail "dynalite did not start: $(cat "$work/dynalite.log")"; finish; }
ok "dynalite $(node -e "console.log(require('$dyn_dir/node_modules/dynalite/package.json').version)" 2>/dev/null) on port $port"

# same DESCRIPTION GOT WANT
same() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1:
--- got:
$2
--- want:
$3"; fi
}

create() {
  out=$(ddb CreateTable "{\"TableName\":\"$1\",\"AttributeDefinitions\":[{\"AttributeName\":\"$2\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"$2\",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}")
  case $out in *'"TableStatus"'*) ;; *) fail "CreateTable $1: $out" ;; esac
}
put() {
  out=$(ddb PutItem "{\"TableName\":\"$1\",\"Item\":$2}")
  [ "$out" = "{}" ] || fail "PutItem $1 $2: $out"
}
delete() {
  out=$(ddb DeleteItem "{\"TableName\":\"$1\",\"Key\":$2}")
  [ "$out" = "{}" ] || fail "DeleteItem $1 $2: $out"
}

create zone-count-dynamodb zone
create pickup-zone-dynamodb zone
create flag-dynamodb id
create taxi-destination-dynamodb trip

put zone-count-dynamodb '{"zone":{"S":"z1"},"trips":{"N":"42"},"fare":{"N":"12.50"},"big":{"N":"123456789012345678901234567890"},"active":{"BOOL":true},"note":{"NULL":true},"name":{"S":"Zone, \"One\""},"geo":{"M":{"lat":{"N":"37.5"},"lon":{"N":"127.0"},"city":{"S":"Seoul"}}},"hours":{"L":[{"N":"1"},{"S":"two"},{"BOOL":false},{"NULL":true},{"M":{"k":{"S":"v"}}}]},"tags":{"SS":["a","b"]},"ids":{"NS":["1","2.5"]},"blob":{"B":"AAEC"},"blobs":{"BS":["AAE=","Ag=="]}}'
put zone-count-dynamodb '{"zone":{"S":"z2"},"trips":{"N":"7"},"active":{"BOOL":false}}'
put zone-count-dynamodb '{"zone":{"S":"z3"},"trips":{"N":"-3"},"fare":{"N":"0.001"}}'
i=0
while [ $i -lt 25 ]; do
  put pickup-zone-dynamodb "{\"zone\":{\"S\":\"p$i\"},\"pickups\":{\"N\":\"$((i * 3))\"}}"
  i=$((i + 1))
done
put flag-dynamodb '{"id":{"S":"f1"},"on":{"BOOL":true}}'
put flag-dynamodb '{"id":{"S":"f2"},"on":{"BOOL":false}}'
put taxi-destination-dynamodb '{"trip":{"S":"t1"},"dest":{"S":"airport"},"km":{"N":"31.4"}}'

# ---- the example, --once ------------------------------------------------------------------
csv="$work/csv"
example="$top_srcdir/examples/dynamodb-to-csv.conf"
# once NAME [CONFIG]: runs tower --once with the example's environment.
once() {
  DYNAMODB_ENDPOINT_URL=$endpoint AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDDYNALITE \
    AWS_SECRET_ACCESS_KEY=dynalite-secret TOWER_CSV_DIR=$csv \
    "$TOWER" --once --config "${2:-$example}" >"$work/$1.log" 2>&1
  orc=$?
}
# rows FILE: the data rows without the timestamp column, sorted
rows() { tail -n +2 "$1" | sed 's/^[^,]*,//' | sort; }

once first
[ "$orc" -eq 0 ] && ok "example --once" || fail "example --once (exit $orc): $(cat "$work/first.log")"
grep -q "AWS credentials: the environment (AWS_ACCESS_KEY_ID), access key \*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*LITE" "$work/first.log" \
  && ok "the log names the credential source" || fail "credential source not logged: $(cat "$work/first.log")"
grep -q "dynalite-secret" "$work/first.log" && fail "the secret key reached the log"

zc_header="timestamp,active,big,blob,blobs,fare,geo_city,geo_lat,geo_lon,hours,ids,name,tags,trips,zone"
same "zone-count header" "$(head -1 "$csv/zone-count-dynamodb.csv")" "$zc_header"
same "zone-count rows: every attribute type" "$(rows "$csv/zone-count-dynamodb.csv")" \
',,,,0.001,,,,,,,,-3,z3
false,,,,,,,,,,,,7,z2
true,1.2345678901234568e+29,AAEC,"[""AAE="",""Ag==""]",12.5,Seoul,37.5,127,"[1,""two"",false,null,{""k"":""v""}]","[1,2.5]","Zone, ""One""","[""a"",""b""]",42,z1'
same "pickup-zone: 25 rows" "$(rows "$csv/pickup-zone-dynamodb.csv" | wc -l | tr -d ' ')" 25
same "pickup-zone header" "$(head -1 "$csv/pickup-zone-dynamodb.csv")" "timestamp,pickups,zone"
grep -q ',36,p12$' "$csv/pickup-zone-dynamodb.csv" && ok "pickup-zone p12 row" || fail "no p12 row: $(cat "$csv/pickup-zone-dynamodb.csv")"
same "flag header" "$(head -1 "$csv/flag-dynamodb.csv")" "timestamp,id,on"
same "flag rows" "$(rows "$csv/flag-dynamodb.csv")" "f1,true
f2,false"
same "taxi-destination" "$(cat "$csv/taxi-destination-dynamodb.csv" | sed 's/^[^,]*,//')" "dest,km,trip
airport,31.4,t1"
ts1=$(sed -n 2p "$csv/flag-dynamodb.csv" | cut -d, -f1)
case $ts1 in 20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z) ok "rfc3339 timestamp $ts1" ;;
  *) fail "timestamp column: $ts1" ;; esac

# ---- changed items, --once again --------------------------------------------------------------
delete zone-count-dynamodb '{"zone":{"S":"z1"}}'
put zone-count-dynamodb '{"zone":{"S":"z2"},"trips":{"N":"8"},"active":{"BOOL":true}}'
put zone-count-dynamodb '{"zone":{"S":"z4"},"trips":{"N":"1"}}'
put flag-dynamodb '{"id":{"S":"f3"},"on":{"BOOL":true}}'
sleep 1.1 # the next timestamp (whole seconds) differs
once second
[ "$orc" -eq 0 ] && ok "second --once" || fail "second --once (exit $orc): $(cat "$work/second.log")"
same "zone-count header stable across runs" "$(head -1 "$csv/zone-count-dynamodb.csv")" "$zc_header"
same "zone-count snapshot replaced" "$(rows "$csv/zone-count-dynamodb.csv")" \
',,,,,,,,,,,,1,z4
,,,,0.001,,,,,,,,-3,z3
true,,,,,,,,,,,,8,z2'
same "flag appended: 2 + 3 rows" "$(rows "$csv/flag-dynamodb.csv")" "f1,true
f1,true
f2,false
f2,false
f3,true"
same "flag: two gather timestamps" "$(tail -n +2 "$csv/flag-dynamodb.csv" | cut -d, -f1 | sort -u | wc -l | tr -d ' ')" 2
same "flag header written once" "$(grep -c '^timestamp,' "$csv/flag-dynamodb.csv")" 1
ls "$csv"/*.tmp >/dev/null 2>&1 && fail "temporary files left: $(ls "$csv")"

# ---- options against real DynamoDB semantics --------------------------------------------------
# variant NAME OPTIONS: a copy of the example with OPTIONS added to the input
variant() {
  sed "s|{ plugin = \"dynamodb\";|{ plugin = \"dynamodb\"; $2|" "$example" > "$work/$1.conf"
}
variant paged 'page_size = 7; log_level = "debug";'
csv_saved=$csv; csv="$work/csv-paged"
once paged "$work/paged.conf"
grep -q "table pickup-zone-dynamodb: 25 items in 4 pages" "$work/paged.log" \
  && ok "page_size 7: 25 items in 4 pages (LastEvaluatedKey followed)" \
  || fail "pagination: $(grep pickup "$work/paged.log")"
same "paged rows" "$(rows "$csv/pickup-zone-dynamodb.csv" | sort -u | wc -l | tr -d ' ')" 25

variant segmented 'segments = 3; page_size = 2;'
csv="$work/csv-segmented"
once segmented "$work/segmented.conf"
same "segments 3: every item once" "$(rows "$csv/pickup-zone-dynamodb.csv" | sort -u | wc -l | tr -d ' ')/$(rows "$csv/pickup-zone-dynamodb.csv" | wc -l | tr -d ' ')" "25/25"

variant filtered 'filter_expression = "#p >= :min AND begins_with(#z, :pre)"; expression_attribute_values = { min = 60; pre = "p2"; }; expression_attribute_names = { p = "pickups"; z = "zone"; };'
csv="$work/csv-filtered"
once filtered "$work/filtered.conf"
same "filter_expression evaluated by dynalite" "$(rows "$csv/pickup-zone-dynamodb.csv")" "60,p20
63,p21
66,p22
69,p23
72,p24"

variant missing 'tables = ["no-such-table", "flag-dynamodb"];'
sed -i 's|^    tables = \["zone-count-dynamodb".*||; s|^              "taxi-destination-dynamodb"\];||' "$work/missing.conf"
csv="$work/csv-missing"
once missing "$work/missing.conf"
grep -q "scan of table no-such-table failed after 0 pages: ResourceNotFoundException: Requested resource not found (HTTP 400): there is no table no-such-table in region us-east-1 at $endpoint" "$work/missing.log" \
  && ok "a missing table is named" || fail "missing table: $(cat "$work/missing.log")"
[ -f "$csv/flag-dynamodb.csv" ] && ok "the other table is written" || fail "flag-dynamodb.csv missing"
csv=$csv_saved

# ---- the daemon, 1 s interval ----------------------------------------------------------------
sed 's|interval = "30s";|interval = "1s";|; s|flush_interval = "5s";|flush_interval = "200ms";|; s|timeout = "25s";|timeout = "900ms";|' \
  "$example" > "$work/daemon.conf"
dcsv="$work/csv-daemon"
DYNAMODB_ENDPOINT_URL=$endpoint AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDDYNALITE \
  AWS_SECRET_ACCESS_KEY=dynalite-secret TOWER_CSV_DIR=$dcsv start_tower "$work/daemon.conf" "$work/daemon.log"
has_z() { grep -q ",$1\$" "$dcsv/zone-count-dynamodb.csv" 2>/dev/null; }
wait_for 10 has_z z4 && ok "daemon: first snapshot" || fail "daemon: no snapshot: $(cat "$work/daemon.log")"
header1=$(head -1 "$dcsv/zone-count-dynamodb.csv")
flags1=$(lines "$dcsv/flag-dynamodb.csv")
put zone-count-dynamodb '{"zone":{"S":"z5"},"trips":{"N":"5"}}'
delete zone-count-dynamodb '{"zone":{"S":"z4"}}'
gone_z4() { has_z z5 && ! has_z z4; }
wait_for 10 gone_z4 && ok "daemon: the snapshot follows the table (z5 in, z4 out)" \
  || fail "daemon snapshot: $(cat "$dcsv/zone-count-dynamodb.csv")"
wait_for 10 has_lines "$dcsv/flag-dynamodb.csv" $((flags1 + 6)) \
  && ok "daemon: the append file grows every gather" || fail "daemon append: $(cat "$dcsv/flag-dynamodb.csv")"
same "daemon: zone-count header kept" "$(head -1 "$dcsv/zone-count-dynamodb.csv")" "$header1"
stop_tower TERM
[ "$trc" -eq 0 ] && ok "daemon stops cleanly" || fail "daemon exit $trc: $(tail -5 "$work/daemon.log")"
grep -q "E!" "$work/daemon.log" && fail "daemon logged errors: $(grep 'E!' "$work/daemon.log")"

finish
