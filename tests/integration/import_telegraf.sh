#!/bin/sh
# tower import-telegraf: Telegraf configurations (Telegraf's default one, the
# sample configuration of every plugin tower has, and cases of our own under
# tests/fixtures/telegraf/) converted and checked by the real tower binary
# (--config-check, --test), with the mapped values asserted.
. "$top_srcdir/tests/integration/lib.sh"

IMPORT="$top_srcdir/tools/tower-import-telegraf.py"
FIX="$top_srcdir/tests/fixtures/telegraf"
python3 -c 'import tomllib' 2>/dev/null || { echo "SKIP: python3 with tomllib (3.11+) is missing"; exit 77; }

# convert NAME ARGS...: runs the converter; $work/NAME.conf, .err, .rc
convert() {
  n=$1; shift
  python3 "$IMPORT" "$@" >"$work/$n.conf" 2>"$work/$n.err"
  echo $? >"$work/$n.rc"
}
rc_is() { [ "$(cat "$work/$1.rc")" = "$2" ]; }
# has NAME TEXT: the converted configuration holds TEXT (fixed string)
has() { grep -qF -- "$2" "$work/$1.conf"; }
config_check() { "$TOWER" --config-check -c "$work/$1.conf" >"$work/$1.check" 2>&1; }
# with_sink NAME: --config-check with an input and an output around it (and
# the variables the samples refer to: tower refuses unset ones)
with_sink() {
  INFLUX_PASSWORD=p INFLUX_TOKEN=t "$TOWER" --config-check -c "$work/$1.conf" -c "$FIX/sink.conf" \
    >"$work/$1.check" 2>&1
}

# ---- Telegraf's default configuration ------------------------------------
convert default "$FIX/telegraf.conf"
check "default: exit 0 (everything carried over)" rc_is default 0
check "default: passes tower --config-check" config_check default
for s in 'interval = "10s";' 'round_interval = true;' 'metric_batch_size = 1000;' \
  'metric_buffer_limit = 10000;' 'flush_interval = "10s";' 'precision = "0s";' \
  'omit_hostname = false;' \
  '{ plugin = "cpu"; percpu = true; totalcpu = true; collect_cpu_time = false; report_active = false; core_tags = false; }' \
  'ignore_fs = ["tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs"];' \
  '{ plugin = "diskio"; }' '{ plugin = "kernel"; }' '{ plugin = "mem"; }' \
  '{ plugin = "processes"; }' '{ plugin = "swap"; }' '{ plugin = "system"; }' \
  '{ plugin = "influxdb"; }'; do
  check "default: $s" has default "$s"
done
check "default: 8 inputs and 1 output" grep -q "(8 inputs, 0 processors, 1 output)" "$work/default.check"

# ---- the sample configuration of every plugin ----------------------------
# Left out (exit 2): starlark. The other samples set only options tower
# takes, or leave others at Telegraf's defaults (dropped without loss).
left="processors.starlark"
# (The plugins of this tree, not the test fixtures of tests/plugin-dir.)
built=$("$TOWER" plugins --plugin-dir "$top_builddir/plugin-dir" 2>/dev/null |
  awk 'NR > 1 { print $1 "s." $2 }')
for f in "$FIX"/plugins/*.conf; do
  p=$(basename "$f" .conf)
  convert "$p" "$f"
  want=0
  case " $(echo $left) " in *" $p "*) want=2 ;; esac
  check "$p: exit $want" rc_is "$p" "$want"
  # The plugin tower runs it as: the first plugin = "..." of the result.
  tp=$(sed -n 's/.*{ plugin = "\([a-z_0-9]*\)".*/\1/p' "$work/$p.conf" | head -n 1)
  [ -n "$tp" ] || continue
  kind=${p%%.*}
  if echo "$built" | grep -qx "$kind.$tp"; then
    check "$p: passes tower --config-check" with_sink "$p"
  else # not built in this tree: --config-check must say which plugin is missing
    if with_sink "$p"; then fail "$p: --config-check passed without $kind.$tp"; else
      check "$p: $kind.$tp not built, and reported" grep -E -q \
        "plugin \"$tp\"|unknown top-level setting \"$kind\"" "$work/$p.check"
    fi
  fi
done
check "influxdb_v2 -> influxdb v2 API" has outputs.influxdb_v2 \
  '{ plugin = "influxdb"; api = "v2"; urls = ["http://127.0.0.1:8086"]; token = "$INFLUX_TOKEN"; organization = "my-org"; bucket = "telegraf"; timeout = "5s";'
check "influxdb_v2: rate_limit = \"0MB\" (no limit) dropped" grep -q "rate_limit = \"0MB\": tower always" \
  "$work/outputs.influxdb_v2.conf"
check "diskio: udev properties in name_templates kept literal" has inputs.diskio \
  'name_templates = ["$$ID_FS_LABEL", "$$DM_VG_NAME/$$DM_LV_NAME"];'
check "influxdb: password env reference kept" has outputs.influxdb 'password = "${INFLUX_PASSWORD}";'
check "prometheus_client -> prometheus" has outputs.prometheus_client \
  '{ plugin = "prometheus"; listen = ":9273"; path = "/metrics"; expiration_interval = "60s";'
check "influxdb_v2_listener -> influxdb_listener" has inputs.influxdb_v2_listener \
  '{ plugin = "influxdb_listener"; service_address = ":8086"; max_body_size = "32MiB"; bucket_tag = "bucket";'
check "http prometheusremotewrite -> prometheus_remote_write" has outputs.http \
  '{ plugin = "prometheus_remote_write"; url = "http://127.0.0.1:9090/api/v1/write"; }'
check "regex: tags -> tag_values, \${1} -> \$\${1}" has processors.regex \
  'tag_values = ({ key = "resp_code"; pattern = "^(\\d)\\d\\d$"; replacement = "$${1}xx"; });'
check "regex: named group \${method} -> \$\${method}" has processors.regex 'replacement = "$${method}";'
check "converter: tags -> tag_conversions" has processors.converter 'tag_conversions = { measurement = [];'
check "filter: [[rule]] -> rules" has processors.filter \
  'rules = ({ name = ["system", "swap"]; tags = { host = ["web*"]; }; action = "drop"; });'
check "enum: numeric keys -> pairs" has processors.enum 'value_mappings = (("200", "ok"), ("404", "not found"))'
check "exec: log_stderr dropped" sh -c "! grep -q 'log_stderr =' '$work/inputs.exec.conf'"
check "starlark: advice to use lua" grep -q "NOT CARRIED OVER.*processors.lua" "$work/processors.starlark.conf"

# ---- the tables list exactly the options of the plugins built here ----------
# shellcheck disable=SC2086 # one word per plugin
"$TOWER" sample-config --plugin-dir "$top_builddir/plugin-dir" $built >"$work/sample.conf" 2>/dev/null
check "tables match the plugins' option tables" sh -c \
  "python3 '$top_srcdir/tests/integration/import_telegraf_tables.py' '$top_srcdir/tools' \
     <'$work/sample.conf' >'$work/tables.out' || { cat '$work/tables.out'; false; }"

# ---- renamed options and common options ------------------------------------
convert mapped "$FIX/cases/mapped.conf"
check "mapped: exit 0" rc_is mapped 0
for s in 'interval = "15s";' 'flush_interval = "1m30s";' 'log_level = "debug";' \
  'interval = "5s"; alias = "cpu-fast"; name_prefix = "host_"; fieldinclude = ["usage_*"]; fieldexclude = ["usage_guest*"]; taginclude = ["cpu", "host"]; tags = { role = "web"; }; tagdrop = { cpu = ["cpu1*"]; };' \
  '{ plugin = "disk"; mount_points = ["/"]; }' \
  'access_key_id = "AKIDEXAMPLE"; secret_access_key = "${AWS_SECRET}"; shared_credentials_file = "/etc/tower/aws";' \
  'metric_buffer_limit = 50000; buffer_strategy = "disk";' \
  'http_headers = { X-Scope-OrgID = "tenant-1"; }; buffer_strategy = "disk";'; do
  check "mapped: $s" has mapped "$s"
done
# Processors keep the file's order (tower runs them so, then by order).
check "mapped: processors in file order" sh -c \
  "grep -n 'plugin = \"' '$work/mapped.conf' | grep -A1 regex | grep -q converter"

# ---- what cannot be carried over -------------------------------------------
convert left "$FIX/cases/left_out.conf"
check "left out: exit 2" rc_is left 2
for s in "agent.flush_interval" "agent.logfile_rotation_max_size" "global_tags.dc.name" \
  "[[inputs.nginx]]" "no_such_option = 1" "topic_regexps" "[[processors.starlark]]" \
  "metric_version = 2"; do
  check "left out: $s commented" grep -qF "# NOT CARRIED OVER: $s" "$work/left.conf"
  check "left out: $s on stderr" grep -qF "$(echo "$s" | tr -d '[]' | sed 's/ = .*//')" "$work/left.err"
done
check "left out: the rest passes --config-check" config_check left

# ---- environment references survive ------------------------------------------
convert env "$FIX/cases/env.conf"
check "env: exit 0" rc_is env 0
check "env: references kept" has env 'dc = "${IMPORT_DC}";'
IMPORT_DC=seoul IMPORT_ZONE=z9 "$TOWER" --test -c "$work/env.conf" >"$work/env.out" 2>"$work/env.log"
check "env: tower substitutes them (dc=seoul zone=z9 rack=r1)" \
  grep -q '^mem,.*dc=seoul,.*rack=r1,zone=z9 ' "$work/env.out"
check "env: Telegraf's \$\$ is a literal \$" grep -q 'price=5\$' "$work/env.out"

# ---- a telegraf.d directory -----------------------------------------------------
convert dir "$FIX/telegraf.d"
check "dir: exit 0" rc_is dir 0
check "dir: a later file's agent.interval wins" has dir 'interval = "30s";'
check "dir: the earlier file's other settings stay" has dir 'hostname = "edge-1";'
check "dir: global tags merged" sh -c "grep -q 'dc = \"seoul\";' '$work/dir.conf' && grep -q 'rack = \"2b\";' '$work/dir.conf'"
check "dir: README.txt not read" sh -c "! grep -q this_is_not_toml '$work/dir.conf' '$work/dir.err'"
check "dir: inputs in file order" sh -c \
  "grep -o 'plugin = \"[a-z]*\"' '$work/dir.conf' | tr '\n' ' ' | grep -q 'cpu.*mem.*filter.*prometheus'"
check "dir: passes tower --config-check" config_check dir
check "dir: 2 inputs, 1 processor, 1 output" grep -q "(2 inputs, 1 processor, 1 output)" "$work/dir.check"
# The same as giving the files one by one, in name order.
convert files "$FIX"/telegraf.d/10-agent.conf "$FIX"/telegraf.d/20-inputs.conf "$FIX"/telegraf.d/30-outputs.conf
check "dir: same as its files in name order" cmp -s "$work/dir.conf" "$work/files.conf"

python3 "$IMPORT" -o "$work/out.conf" "$FIX/telegraf.d" >"$work/out.stdout" 2>&1
check "-o FILE: writes FILE, prints nothing" sh -c \
  "cmp -s '$work/out.conf' '$work/dir.conf' && test ! -s '$work/out.stdout'"

# ---- errors ---------------------------------------------------------------------
convert syntax "$FIX/cases/syntax_error.conf"
check "syntax error: exit 1" rc_is syntax 1
check "syntax error: names file:line" grep -q "syntax_error.conf:6: TOML syntax error" "$work/syntax.err"
check "syntax error: nothing on stdout" test ! -s "$work/syntax.conf"
convert missing "$work/no-such.conf"
check "unreadable file: exit 1 naming it" sh -c "grep -q 'no-such.conf: cannot read' '$work/missing.err'"
check "unreadable file: exit 1" rc_is missing 1

# ---- tower import-telegraf runs the program --------------------------------------
TOWER_IMPORT_TELEGRAF="$IMPORT" "$TOWER" import-telegraf "$FIX/telegraf.conf" >"$work/cli.conf" 2>&1
check "tower import-telegraf: exit 0" test $? -eq 0
check "tower import-telegraf: same output" cmp -s "$work/cli.conf" "$work/default.conf"
TOWER_IMPORT_TELEGRAF="$IMPORT" "$TOWER" import-telegraf "$FIX/cases/left_out.conf" >/dev/null 2>&1
check "tower import-telegraf: exit status passed on" test $? -eq 2
TOWER_IMPORT_TELEGRAF="$work/nothing" "$TOWER" import-telegraf x >/dev/null 2>"$work/cli.err"
check "tower import-telegraf: a missing program is an error naming it" \
  grep -q "nothing is missing" "$work/cli.err"
printf '#!/nonexistent/python3\n' >"$work/nopython"
chmod +x "$work/nopython"
TOWER_IMPORT_TELEGRAF="$work/nopython" "$TOWER" import-telegraf x >/dev/null 2>"$work/cli.err"
check "tower import-telegraf: a missing python3 names the package" \
  grep -q "install the python3 package" "$work/cli.err"
"$TOWER" --test import-telegraf x >/dev/null 2>"$work/cli.err"
check "tower --test import-telegraf: usage error" grep -q "does not apply to the import-telegraf" "$work/cli.err"
finish
