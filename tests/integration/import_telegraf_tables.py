"""Compares the option lists of tools/telegraf_map.py with the option tables
of the plugins built here (`tower sample-config kind.name`), so that a table
cannot drift from the plugin it maps to. Prints one line per difference.

Usage: python3 import_telegraf_tables.py TOOLS_DIR  (sample-config on stdin
for every built plugin, as `tower sample-config kind.name...` prints it)."""
import re
import sys

sys.path.insert(0, sys.argv[1])
import telegraf_map as M  # noqa: E402

# Built plugins without a Telegraf twin of their name.
NO_TWIN = {("inputs", "kafka_lag"), ("outputs", "csv"), ("processors", "lua"),
           ("outputs", "prometheus_remote_write")}
# Options sample-config cannot show (their type is "any setting").
UNSHOWN = {("inputs", "exec"): {"commands"},
           ("aggregators", "quantile"): {"quantiles"},
           ("inputs", "dynamodb"): {"expression_attribute_values"}}

built, kind, cur = {}, None, None
for line in sys.stdin:
    m = re.match(r"^(inputs|processors|aggregators|outputs) = \(", line)
    if m:
        kind = m.group(1)
        continue
    m = re.match(r'^    plugin = "([a-z_0-9]+)";', line)
    if m:
        cur = built.setdefault((kind, m.group(1)), set())
        continue
    m = re.match(r"^    (?:# )?([a-z_0-9]+) = ", line)
    if m and cur is not None:
        cur.add(m.group(1))

tables = {}
for kind, plugins in M.PLUGINS.items():
    for name, t in plugins.items():
        if "tower" in t and t.get("options") is not None:
            tables.setdefault((kind, t["tower"]), set()).update(t["options"])

bad = 0
for key, opts in sorted(built.items()):
    if key in NO_TWIN:
        continue
    if key not in tables:
        print("%s.%s is built but has no table with its options" % key)
        bad += 1
        continue
    for o in sorted(opts - tables[key]):
        print("%s.%s: option %s missing from the table" % (key + (o,)))
        bad += 1
    for o in sorted(tables[key] - opts - UNSHOWN.get(key, set())):
        print("%s.%s: the table lists %s, which the plugin does not take" % (key + (o,)))
        bad += 1
sys.exit(1 if bad else 0)
