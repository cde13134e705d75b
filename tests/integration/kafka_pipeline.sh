#!/bin/sh
# The whole Kafka pipeline, end to end, with real servers:
#
#   tower A: inputs cpu + exec  -> outputs.kafka  (and record: what A sent)
#                                     |
#                     Kafka (tests/kafka/mock_kafka, 3 brokers)
#                                     |
#   tower B: inputs.kafka_consumer -> outputs.influxdb -> influxd (Debian's)
#
# The points InfluxDB holds must be exactly what A produced: same count,
# same measurements, tags, fields, values and timestamps. The comparison
# goes field by field with numbers compared as doubles, via InfluxDB's CSV
# answer to SELECT * ... GROUP BY *.
# Nothing is skipped: a missing influxd, curl or mock cluster is a failure.
. "$top_srcdir/tests/integration/lib.sh"

. "$top_srcdir/tests/kafka/lib.sh"
. "$top_srcdir/tests/influxdb/lib.sh"
for tool in "$INFLUXD" curl; do
  command -v "$tool" >/dev/null 2>&1 \
    || { echo "FAIL: $tool is missing: apt-get install influxdb curl (scripts/test installs them)"; exit 1; }
done
for p in "input  *kafka_consumer" "input  *exec" "input  *cpu" "output  *kafka" "output  *influxdb"; do
  "$TOWER" plugins 2>/dev/null | grep -q "^$p " \
    || { echo "FAIL: plugin '$p' is not built (tower plugins does not list it)"; exit 1; }
done

# ---- Kafka --------------------------------------------------------------
start_mock -b 3 -t metrics:3

# ---- InfluxDB, on its own ports and directories --------------------------
start_influxd influx
ok "influxd ready at $api"

# ---- tower B: Kafka -> InfluxDB -----------------------------------------
cat > "$work/b.conf" <<CONF
agent = { interval = "1s"; flush_interval = "200ms"; omit_hostname = true; };
inputs = (
  { plugin = "kafka_consumer"; brokers = ["$B"]; topics = ["metrics"];
    consumer_group = "pipeline"; data_format = "influx"; }
);
outputs = (
  { plugin = "influxdb"; urls = ["$api"]; database = "pipeline"; },
  { plugin = "record"; path = "$work/b.lp"; }
);
CONF
"$TOWER" --config "$work/b.conf" > "$work/b.log" 2>&1 &
bpid=$!
pids="$pids $bpid"
wait_for 30 grep -q "assigned [0-9]* partition" "$work/b.log" && ok "tower B joined the group" \
  || fail "tower B: $(grep -E 'E!|W!' "$work/b.log" | tail -5)"

# ---- tower A: cpu + exec -> Kafka ---------------------------------------
cat > "$work/check.sh" <<'EOF'
#!/bin/sh
echo 'check_http,url=http://app.internal/health up=0i,status_code=503i,error="HTTP_503"'
echo 'check_http,url=http://db.internal/health up=1i,status_code=200i,response_time=0.25,ok=true'
echo 'queue,name=jobs depth=17i,oldest_age=1.5e-07,size=-3i'
EOF
chmod +x "$work/check.sh"
cat > "$work/a.conf" <<CONF
agent = { interval = "500ms"; flush_interval = "200ms"; hostname = "edge1"; };
inputs = (
  { plugin = "cpu"; percpu = true; totalcpu = true; },
  { plugin = "exec"; commands = ( ["$work/check.sh"] ); data_format = "influx"; }
);
outputs = (
  { plugin = "kafka"; brokers = ["$B"]; topic = "metrics"; data_format = "influx"; },
  { plugin = "record"; path = "$work/a.lp"; }
);
CONF
start_tower "$work/a.conf" "$work/a.log"
sleep 4
stop_tower TERM
[ "$trc" = 0 ] && ok "tower A stopped cleanly" || fail "tower A exit $trc: $(grep -E 'E!|W!' "$work/a.log")"
na=$(lines "$work/a.lp")
[ "$na" -gt 20 ] && ok "tower A produced $na metrics" || fail "tower A produced only $na metrics"
grep -q '^cpu,cpu=cpu-total,host=edge1 ' "$work/a.lp" && grep -q '^check_http,' "$work/a.lp" \
  && ok "A has cpu and exec metrics" || fail "A: $(head -3 "$work/a.lp")"

# B consumes all of it, then stops: the final flush writes to InfluxDB.
wait_for 30 has_lines "$work/b.lp" "$na" || fail "tower B got $(lines "$work/b.lp") of $na"
sleep 0.5
# shellcheck disable=SC2034 # stop_tower (lib.sh) signals $tpid
tpid=$bpid
stop_tower TERM
[ "$trc" = 0 ] && ok "tower B stopped cleanly" || fail "tower B exit $trc: $(grep -E 'E!|W!' "$work/b.log")"
grep -q 'E!' "$work/b.log" && fail "tower B logged errors: $(grep 'E!' "$work/b.log" | head -3)" \
  || ok "tower B logged no error"

# ---- compare ------------------------------------------------------------
# Canonical form, one line per field: "measurement,tags time field=value",
# numbers as %.17g of their double, integers without their i suffix,
# strings without quotes (the test data has no commas, spaces or quotes in
# values).
num='^-?[0-9.]+([eE][-+]?[0-9]+)?$'
awk -v num="$num" '
  function norm(v) {
    if (v ~ /^-?[0-9]+[iu]$/) return substr(v, 1, length(v) - 1) + 0
    if (v ~ num) return sprintf("%.17g", v + 0)
    gsub(/"/, "", v)
    return v
  }
  { n = split($2, f, ",")
    for (i = 1; i <= n; i++) { eq = index(f[i], "="); print $1, $3, substr(f[i], 1, eq - 1) "=" norm(substr(f[i], eq + 1)) } }
' "$work/a.lp" | sort > "$work/a.canon"

curl -s -G "$api/query" -H 'Accept: application/csv' --data-urlencode 'db=pipeline' \
  --data-urlencode 'epoch=ns' --data-urlencode 'q=SELECT * FROM /.*/ GROUP BY *' > "$work/influx.csv"
# The tags column is quoted when it holds commas: make them ';' first.
sed -E ':a; s/^([^,]*,"[^",]*),/\1;/; ta; s/^([^,]*),"([^"]*)"/\1,\2/' "$work/influx.csv" \
  | awk -F, -v num="$num" '
  function norm(v) {
    if (v ~ /^-?[0-9]+$/) return v + 0
    if (v ~ num) return sprintf("%.17g", v + 0)
    return v
  }
  $1 == "name" && $2 == "tags" { for (i = 4; i <= NF; i++) col[i] = $i; next }
  { tags = $2; gsub(/;/, ",", tags); key = $1 (tags == "" ? "" : "," tags)
    points++
    for (i = 4; i <= NF; i++) if ($i != "") print key, $3, col[i] "=" norm($i) }
  END { print points > "/dev/stderr" }
' 2> "$work/influx.points" | sort > "$work/influx.canon"
ni=$(cat "$work/influx.points")
[ "$ni" = "$na" ] && ok "InfluxDB holds $ni points, as many as A produced" \
  || fail "InfluxDB holds $ni points, A produced $na"
if cmp -s "$work/a.canon" "$work/influx.canon"; then
  ok "every point, tag, field value and timestamp in InfluxDB equals what A produced ($(lines "$work/a.canon") field values)"
else
  fail "content differs (< A, > InfluxDB): $(diff "$work/a.canon" "$work/influx.canon" | head -10)"
fi
grep -q '^check_http,host=edge1,url=http://app.internal/health .* error=HTTP_503$' "$work/influx.canon" \
  && ok "string field kept" || fail "string field: $(grep error= "$work/influx.canon" | head -2)"
[ -n "${KC_KEEP:-}" ] && cp -r "$work" "$KC_KEEP"
finish
