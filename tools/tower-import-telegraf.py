#!/usr/bin/python3
"""tower import-telegraf: print the tower configuration of a Telegraf one.

Reads Telegraf configuration files (TOML) and telegraf.d directories (every
*.conf in name order, as Telegraf's --config-directory) and prints the
equivalent tower configuration (libconfig) on stdout. What cannot be carried
over is written as a comment saying why and what to use instead, and named
on stderr.

Exit status: 0 everything was carried over; 2 something was left out (see the
comments marked "NOT CARRIED OVER"); 1 an error (unreadable file, TOML
syntax error, bad usage), with nothing printed on stdout.

The mapping tables (one per plugin) are data, in telegraf_map.py next to this
script or in tower's data directory.
"""

import os
import re
import sys

# Installed, the make rule replaces this with tower's data directory, where
# telegraf_map.py is installed; from the source tree it sits next to us.
_DATADIR = "@pkgdatadir@"
for _d in (_DATADIR, os.path.dirname(os.path.realpath(__file__))):
    if not _d.startswith("@") and os.path.isfile(os.path.join(_d, "telegraf_map.py")):
        sys.path.insert(0, _d)
        break

try:
    import tomllib
except ImportError:  # Python before 3.11
    sys.stderr.write("tower-import-telegraf: needs Python 3.11 or later (tomllib); "
                     "this is Python %d.%d\n" % sys.version_info[:2])
    sys.exit(1)

sys.dont_write_bytecode = True  # no __pycache__ in the data directory
try:
    import telegraf_map as M  # noqa: E402  (after the path set-up above)
except ImportError:
    sys.stderr.write("tower-import-telegraf: its tables, telegraf_map.py, are neither in %s "
                     "nor next to the program; reinstall tower\n" % _DATADIR)
    sys.exit(1)

EXIT_OK, EXIT_ERROR, EXIT_LEFT_OUT = 0, 1, 2
LEFT_OUT = "NOT CARRIED OVER"
PROG = "tower-import-telegraf"

USAGE = """Usage: tower import-telegraf [-o FILE] FILE|DIR...

Prints the tower configuration equivalent to a Telegraf configuration.
FILE is a telegraf.conf (TOML); DIR is a telegraf.d directory, whose *.conf
files are read in name order (as telegraf --config-directory). Later files
override agent settings and global tags of earlier ones; plugins add up.

  -o, --output FILE   write the configuration to FILE instead of stdout
  -h, --help          this help

What cannot be carried over is a comment marked "%s" in the output,
saying why and what to use instead, and is listed on stderr.
Exit status: 0 all carried over, 2 something left out, 1 an error.
Check the result with: tower --config-check -c FILE
""" % LEFT_OUT


class Failure(Exception):
    """An error that ends the run: the message names the file (and line)."""


# ---- reading Telegraf's files ----------------------------------------------

def config_files(args):
    """The files to read, in Telegraf's order: each FILE, each DIR's *.conf."""
    files = []
    for arg in args:
        if os.path.isdir(arg):
            names = sorted(n for n in os.listdir(arg) if n.endswith(".conf"))
            files.extend(os.path.join(arg, n) for n in names
                         if os.path.isfile(os.path.join(arg, n)))
        else:
            files.append(arg)
    return files


# An unquoted environment reference as a whole value (Telegraf substitutes
# the text before parsing TOML, so `interval = $INTERVAL` is valid there).
_BARE_ENV = re.compile(r"^(\s*[A-Za-z0-9_.\"'-]+\s*=\s*)"
                       r"(\$\{[A-Za-z_][A-Za-z0-9_]*(?:[:]?[-?][^}]*)?\}|\$[A-Za-z_][A-Za-z0-9_]*)"
                       r"(\s*(?:#.*)?)$")
BARE_ENV_MARK = "\x00"  # written \u0000 in TOML: no Telegraf string holds one


def quote_bare_env(text):
    """Turns `key = $VAR` into a marked string, so that TOML parses it."""
    out = []
    for line in text.split("\n"):
        m = _BARE_ENV.match(line)
        if m:
            line = '%s"\\u0000%s"%s' % (m.group(1), m.group(2), m.group(3))
        out.append(line)
    return "\n".join(out)


def _error_line(message):
    m = re.search(r"line (\d+)", message)
    return m.group(1) if m else "?"


def read_toml(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise Failure("%s: cannot read: %s" % (path, e.strerror or e))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise Failure("%s:%d: not UTF-8 text (TOML files are UTF-8)" % (path, line))
    try:
        return tomllib.loads(quote_bare_env(text)), text
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        raise Failure("%s:%s: TOML syntax error: %s; fix the file (telegraf would refuse it "
                      "too)" % (path, _error_line(msg), re.sub(r" \(at line.*\)$", "", msg)))


def plugin_lines(text):
    """The line of each [[kind.name]] header, in order, per kind.name."""
    lines = {}
    for n, line in enumerate(text.split("\n"), 1):
        m = re.match(r"\s*\[\[\s*(inputs|processors|aggregators|outputs)\.([A-Za-z0-9_]+)\s*\]\]",
                     line)
        if m:
            lines.setdefault((m.group(1), m.group(2)), []).append(n)
    return lines


# ---- values --------------------------------------------------------------

_ENV_BRACED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?-|:?\?)[^}]*)?\}")


def env_string(s):
    """A Telegraf string as tower reads it: the same environment references.

    Both substitute $VAR, ${VAR}, ${VAR:-default} and ${VAR:?message}, and
    read $$NAME and $${ as a literal $. They differ in the rest: Telegraf
    turns every other $$ into $ and keeps a ${ that is no reference, where
    tower keeps the $$ and refuses the ${; so those are rewritten."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if nxt == "$":
            after = s[i + 2] if i + 2 < len(s) else ""
            out.append("$$" if after == "{" or after == "_" or after.isalpha() else "$")
            i += 2
        elif nxt == "{":
            m = _ENV_BRACED.match(s, i)
            out.append(m.group(0) if m else "$${")
            i = m.end() if m else i + 2
        else:
            out.append("$")
            i += 1
    return "".join(out)


def lc_string(s):
    """A libconfig string literal."""
    out = ['"']
    for c in s:
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 0x20:
            out.append("\\x%02x" % ord(c))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


_NAME = re.compile(r"^[A-Za-z*][-A-Za-z0-9_*]*$")


def valid_name(key):
    return bool(_NAME.match(key))


class Unrepresentable(Exception):
    """A TOML value libconfig cannot hold (the message says what)."""


def lc_value(v):
    """A TOML value as libconfig text."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if not -2**63 <= v < 2**63:
            raise Unrepresentable("integer %d does not fit in 64 bits" % v)
        return str(v) + ("L" if not -2**31 <= v < 2**31 else "")
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise Unrepresentable("libconfig has no NaN or infinity")
        r = repr(v)
        return r if ("." in r or "e" in r) else r + ".0"
    if isinstance(v, str):
        if BARE_ENV_MARK in v:
            raise Unrepresentable("an unquoted environment reference (%s): tower substitutes "
                                  "variables in strings only; write the value here"
                                  % v.replace(BARE_ENV_MARK, ""))
        return lc_string(env_string(v))
    if isinstance(v, dict):
        return lc_group(v)
    if isinstance(v, tuple):  # always a libconfig list, whatever it holds
        return "(" + ", ".join(lc_value(x) for x in v) + ")"
    if isinstance(v, list):
        return lc_list(v)
    # dates and times: TOML only; Telegraf options take none.
    raise Unrepresentable("a TOML date or time")


def lc_group(d):
    parts = []
    for k, v in d.items():
        if not valid_name(k):
            raise Unrepresentable("key \"%s\" is not a libconfig setting name (letters, digits, "
                                  "-, _ and *, starting with a letter)" % k)
        parts.append("%s = %s;" % (k, lc_value(v)))
    return "{ " + " ".join(parts) + " }" if parts else "{ }"


def lc_list(items):
    # libconfig arrays hold scalars of one type; anything else is a list.
    scalar = all(isinstance(x, (str, bool, int, float)) and not isinstance(x, dict) for x in items)
    kinds = {type(x) for x in items}
    if scalar and len(kinds) <= 1:
        return "[" + ", ".join(lc_value(x) for x in items) + "]"
    return "(" + ", ".join(lc_value(x) for x in items) + ")"


def duration(v):
    """Telegraf reads an integer or float duration as seconds."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return v
    return "%ss" % (repr(v) if isinstance(v, float) else v)


# ---- one plugin -----------------------------------------------------------

class Notes:
    """What was left out, for the comments, stderr and the exit status."""

    def __init__(self):
        self.left_out = []

    def lose(self, where, what):
        self.left_out.append("%s: %s" % (where, what))


class Block:
    """One converted block: settings and comments, in order."""

    def __init__(self):
        self.settings = []  # (key, text)
        self.comments = []

    def set(self, key, text):
        self.settings = [(k, t) for k, t in self.settings if k != key]
        self.settings.append((key, text))

    def note(self, text):
        self.comments.append(text)


def skip_option(block, notes, where, table, key, value):
    """Handles an option tower does not take; True when it did."""
    unsupported = dict(M.COMMON_UNSUPPORTED, **table.get("unsupported", {}))
    if key in table.get("same", {}) and table["same"][key] == value:
        block.note("%s = %s: tower always behaves so; dropped" % (key, _show(value)))
    elif key in table.get("ignored", {}):
        block.note("%s: dropped: %s" % (key, table["ignored"][key]))
    elif key in unsupported and _empty(value):
        block.note("%s = %s: empty, Telegraf's default; dropped" % (key, _show(value)))
    elif key in unsupported:
        block.note("%s: %s = %s: %s" % (LEFT_OUT, key, _show(value), unsupported[key]))
        notes.lose(where, "%s: %s" % (key, unsupported[key]))
    else:
        return False
    return True


def tower_value(table, key, value):
    """The value as tower reads it (None: nothing left)."""
    if M.is_duration(key, table):
        value = duration(value)
    rewrite = table.get("rewrite", {}).get(key)
    return M.REWRITES[rewrite](value) if rewrite else value


def convert_option(block, notes, where, table, kind, key, value):
    """Adds one Telegraf option of a plugin to the block."""
    if skip_option(block, notes, where, table, key, value):
        return
    tower_key = dict(M.COMMON_RENAMES, **table.get("rename", {})).get(key, key)
    known = table.get("options")
    if known is not None and tower_key not in known + M.COMMON_OPTIONS[kind]:
        block.note("%s: %s = %s: tower's %s has no such option (see tower sample-config %s.%s)"
                   % (LEFT_OUT, key, _show(value), table["tower"], kind, table["tower"]))
        notes.lose(where, "%s: no such option in tower" % key)
        return
    value = tower_value(table, tower_key, value)
    if value is None:
        block.note("%s: nothing left to carry over; dropped" % key)
        return
    try:
        text = lc_value(value)
    except Unrepresentable as e:
        block.note("%s: %s: %s" % (LEFT_OUT, key, e))
        notes.lose(where, "%s: %s" % (key, e))
        return
    if tower_key != key:
        block.note("%s is %s in tower" % (key, tower_key))
    block.set(tower_key, text)


def _empty(v):
    return v in ("", [], {}) or v is False


def _show(v):
    try:
        return lc_value(v)
    except Unrepresentable:
        return repr(v)


def convert_plugin(kind, name, options, where, notes, agent):
    """A plugin block as (comments, text or None); None when left out."""
    table = M.PLUGINS[kind].get(name)
    if table is None:
        why = M.MISSING.get((kind, name), "tower has no %s.%s plugin; remove it or keep Telegraf "
                            "for it" % (kind, name))
        notes.lose(where, "%s.%s: %s" % (kind, name, why))
        return ["%s: [[%s.%s]] (%s): %s" % (LEFT_OUT, kind, name, where, why)], None
    if "when" in table:  # a Telegraf plugin that maps only in one configuration
        target = table["when"](options)
        if isinstance(target, str):  # the reason it does not map
            notes.lose(where, "%s.%s: %s" % (kind, name, target))
            return ["%s: [[%s.%s]] (%s): %s" % (LEFT_OUT, kind, name, where, target)], None
        table = target
    out_kind = table.get("kind", kind)
    block = Block()
    block.set("plugin", lc_string(table["tower"]))
    for key, text in table.get("set", {}).items():
        block.set(key, text)
    for key, value in options.items():
        if key in table.get("consumed", ()):
            continue
        convert_option(block, notes, "%s %s.%s" % (where, kind, name), table, out_kind, key,
                       value)
    if out_kind == "outputs":
        for key, value in agent.output_defaults.items():
            if key not in dict(block.settings):
                block.set(key, lc_value(value))
    header = "[[%s.%s]] (%s)" % (kind, name, where)
    if (kind, table["tower"]) != (kind, name) or out_kind != kind:
        header += " -> %s.%s" % (out_kind, table["tower"])
    for n in table.get("notes", ()):
        block.note(n)
    return [header] + block.comments, (out_kind, block)


# ---- the agent block -------------------------------------------------------

class Agent:
    def __init__(self):
        self.settings = {}       # tower key -> (value text, where)
        self.comments = []
        self.tags = {}           # key -> (value text, where)
        self.output_defaults = {}  # agent options tower sets per output

    def add(self, key, value, where, notes):
        spec = M.AGENT.get(key)
        if spec is None:
            why = "tower's agent has no such setting"
            self.comments.append("%s: agent.%s (%s): %s" % (LEFT_OUT, key, where, why))
            notes.lose(where, "agent.%s: %s" % (key, why))
            return
        kind, arg = spec
        if kind == "same" or kind == "duration":
            v = duration(value) if kind == "duration" else value
            if kind == "duration" and v == "":
                return  # Telegraf's "" is the default, as tower's
            self._set(arg or key, v, where, notes)
        elif kind == "default_only":
            default, why = arg
            if value != default:
                self.comments.append("%s: agent.%s = %s (%s): %s"
                                     % (LEFT_OUT, key, _show(value), where, why))
                notes.lose(where, "agent.%s: %s" % (key, why))
        elif kind == "log_level":
            if value is True:
                self._set("log_level", arg, where, notes)
        elif kind == "per_output":
            self.output_defaults[arg or key] = value
            self.comments.append("agent.%s (%s) is set on every output in tower" % (key, where))
        elif kind == "drop":
            self.comments.append("agent.%s (%s): %s" % (key, where, arg))

    def _set(self, key, value, where, notes):
        try:
            text = lc_value(value)
        except Unrepresentable as e:
            self.comments.append("%s: agent.%s (%s): %s" % (LEFT_OUT, key, where, e))
            notes.lose(where, "agent.%s: %s" % (key, e))
            return
        if key in self.settings:
            self.comments.append("agent.%s of %s overrides %s's (a later file wins)"
                                 % (key, where, self.settings[key][1]))
        self.settings[key] = (text, where)

    def add_tag(self, key, value, where, notes):
        try:
            if not valid_name(key):
                raise Unrepresentable("key \"%s\" is not a libconfig setting name" % key)
            text = lc_value(str(value) if not isinstance(value, str) else value)
        except Unrepresentable as e:
            self.comments.append("%s: global_tags.%s (%s): %s; add the tag with a processor"
                                 % (LEFT_OUT, key, where, e))
            notes.lose(where, "global_tags.%s: %s" % (key, e))
            return
        self.tags[key] = (text, where)


# ---- the whole configuration --------------------------------------------------

KINDS = ("inputs", "processors", "aggregators", "outputs")


def convert(files):
    notes, agent = Notes(), Agent()
    plugins = []  # (comments, (kind, block) or None), in file order
    parsed = [(path,) + read_toml(path) for path in files]
    # Agent settings first: per-output ones reach every output of every file.
    for path, doc, _ in parsed:
        for key, value in doc.get("agent", {}).items():
            agent.add(key, value, path, notes)
        for key, value in doc.get("global_tags", {}).items():
            agent.add_tag(key, value, path, notes)
    for path, doc, text in parsed:
        plugins.extend(convert_file(path, doc, text, notes, agent))
    return render(files, agent, plugins), notes


def convert_file(path, doc, text, notes, agent):
    """The plugins of one file, in the order written (processors run so)."""
    lines = plugin_lines(text)
    seen, found = {}, []
    for top in doc:
        if top in ("agent", "global_tags"):
            continue
        if top not in KINDS:
            why = "not a Telegraf section (agent, global_tags, inputs, processors, " \
                  "aggregators, outputs)"
            found.append((0, (["%s: [%s] (%s): %s" % (LEFT_OUT, top, path, why)], None)))
            notes.lose(path, "[%s]: %s" % (top, why))
            continue
        for name, instances in doc[top].items():
            for opts in instances if isinstance(instances, list) else [instances]:
                i = seen.get((top, name), 0)
                seen[(top, name)] = i + 1
                at = lines.get((top, name), [])
                line = at[i] if i < len(at) else 0
                where = "%s:%s" % (path, line) if line else path
                found.append((line, convert_plugin(top, name, opts, where, notes, agent)))
    return [p for _, p in sorted(found, key=lambda x: x[0])]


def render(files, agent, plugins):
    out = ["# tower configuration converted from Telegraf's by tower import-telegraf:",
           "#   " + " ".join(files),
           "# Check it with: tower --config-check -c FILE", ""]
    for c in agent.comments:
        out.append("# " + c)
    if agent.settings:
        out.append("agent = {")
        out.extend("  %s = %s;" % (k, v) for k, (v, _) in agent.settings.items())
        out.append("};")
    if agent.tags:
        out.append("global_tags = {")
        out.extend("  %s = %s;" % (k, v) for k, (v, _) in agent.tags.items())
        out.append("};")
    for kind in KINDS:
        blocks = [(c, b) for c, b in plugins if (b and b[0] == kind) or
                  (not b and _header_kind(c) == kind)]
        if not blocks:
            continue
        out.append("")
        live = sum(1 for _, b in blocks if b)
        if not live:
            out.extend("# " + line for c, _ in blocks for line in c)
            continue
        out.append("%s = (" % kind)
        n = 0
        for comments, b in blocks:
            out.extend("  # " + line for line in comments)
            if b:
                n += 1
                body = " ".join("%s = %s;" % (k, t) for k, t in b[1].settings)
                out.append("  { %s }%s" % (body, "," if n < live else ""))
        out.append(");")
    return "\n".join(out) + "\n"


def _header_kind(comments):
    m = re.search(r"\[\[(\w+)\.", comments[0]) if comments else None
    return m.group(1) if m else "inputs"


def main(argv):
    args, output = [], None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return EXIT_OK
        if a in ("-o", "--output"):
            if i + 1 >= len(argv):
                sys.stderr.write("%s: %s needs a file name; try --help\n" % (PROG, a))
                return EXIT_ERROR
            output = argv[i + 1]
            i += 2
            continue
        if a.startswith("-") and a != "-":
            sys.stderr.write("%s: unknown option %s; try --help\n" % (PROG, a))
            return EXIT_ERROR
        args.append(a)
        i += 1
    if not args:
        sys.stderr.write("%s: give a telegraf.conf or telegraf.d directory; try --help\n" % PROG)
        return EXIT_ERROR
    try:
        files = config_files(args)
        if not files:
            raise Failure("%s: no *.conf file to read" % " ".join(args))
        text, notes = convert(files)
    except Failure as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        return EXIT_ERROR
    if output:
        try:
            with open(output, "w") as f:
                f.write(text)
        except OSError as e:
            sys.stderr.write("%s: cannot write %s: %s\n" % (PROG, output, e.strerror))
            return EXIT_ERROR
    else:
        sys.stdout.write(text)
    for item in notes.left_out:
        sys.stderr.write("%s: not carried over: %s\n" % (PROG, item))
    if notes.left_out:
        n = len(notes.left_out)
        sys.stderr.write("%s: %d setting%s not carried over; see the \"%s\" comments\n"
                         % (PROG, n, "" if n == 1 else "s", LEFT_OUT))
        return EXIT_LEFT_OUT
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
