#!/bin/sh
# Lint: log and error messages say "1 metric", "2 metrics", never
# "metric(s)". Fails, naming file:line, when a C string literal in core/ or
# plugins/ has "(s)", "(es)" or "(ies)" right after a letter; comments and
# code may still use the pattern. Adjacent literals ("... error" "(s)") are
# joined first, as the compiler joins them. A self-check on planted files
# runs first, so a scanner that no longer sees literals fails too.
#
#   plurals.sh [DIR...]   scans DIR... (default: core and plugins of the tree)
set -u
src=${top_srcdir:-$(dirname "$0")/../..}

# scan FILE...: prints file:line: literal for each literal with the pattern.
# A small state machine: code, block comment, line comment, string literal,
# character literal. Literals separated only by blanks and comments are
# joined; the line printed is the one where the pattern sits.
scan() {
  awk '
  function flush(   j, at) {
    if (nseg > 0 && match(joined, /[A-Za-z]\((s|es|ies)\)/)) {
      at = seg_line[1]
      for (j = 1; j <= nseg; j++) if (seg_start[j] <= RSTART + 1) at = seg_line[j]
      printf "%s:%d: \"%s\"\n", file, at, joined
      found = 1
    }
    nseg = 0; joined = ""
  }
  FNR == 1 { flush(); state = "code" }
  {
    line = $0; n = length(line); i = 1
    if (state == "line") state = "code"
    while (i <= n) {
      c = substr(line, i, 1); d = substr(line, i, 2)
      if (state == "code") {
        if (d == "/*") { state = "block"; i += 2; continue }
        if (d == "//") { state = "line"; break }
        if (c == "\"") {
          state = "str"; file = FILENAME; nseg++; seg_start[nseg] = length(joined) + 1; seg_line[nseg] = FNR
          i++; continue
        }
        if (c == "\047") { flush(); state = "chr"; i++; continue }
        if (match(substr(line, i), /^[A-Za-z_][A-Za-z_0-9]*/)) {
          # "%" PRIu64 " messages": the <inttypes.h> macros join literals.
          if (nseg > 0 && substr(line, i, RLENGTH) ~ /^PRI[diouxX]/)
            joined = joined "<" substr(line, i, RLENGTH) ">"
          else
            flush()
          i += RLENGTH; continue
        }
        if (c != " " && c != "\t") flush()
        i++
      } else if (state == "block") {
        if (d == "*/") { state = "code"; i += 2; continue }
        i++
      } else if (state == "str") {
        if (c == "\\") { joined = joined d; i += 2; continue }
        if (c == "\"") { state = "code"; i++; continue }
        joined = joined c; i++
      } else if (state == "chr") {
        if (c == "\\") { i += 2; continue }
        if (c == "\047") state = "code"
        i++
      }
    }
    # A literal or character constant never spans lines (a backslash-newline
    # continuation inside one would be rare enough to read by hand).
    if (state == "str" || state == "chr") state = "code"
  }
  END { flush(); exit found ? 1 : 0 }
  ' "$@"
}

# The scanner must catch a planted message and leave comments, character
# constants and code alone, or the verdict on the tree means nothing.
selfcheck() {
  t=$(mktemp -d "${TMPDIR:-/tmp}/tower-plurals.XXXXXX") || exit 99
  cat > "$t/bad.c" <<'C'
/* one metric(s) in a comment is fine */
static char q = '"'; // and "metric(s)" in a line comment
void f(int s) { g(s); tower_warn(ctx, "%d error"
                                  "(s) in %s", n, "a(s)"); }
static const char *ok = "(s) alone, and 100(s)";
static const char *bad2 = "%zu process(es)";
tower_warn(ctx, "%" PRIu64 " retr(ies)", n); f("%" PRIu64, n, "(s)");
C
  out=$(scan "$t/bad.c"); rc=$?
  rm -rf "$t"
  expect="$t/bad.c:4: \"%d error(s) in %s\"
$t/bad.c:4: \"a(s)\"
$t/bad.c:6: \"%zu process(es)\"
$t/bad.c:7: \"%<PRIu64> retr(ies)\""
  if [ "$rc" -ne 1 ] || [ "$out" != "$expect" ]; then
    echo "FAIL: the scanner itself is wrong on planted input; got (rc $rc):"
    echo "$out"
    echo "expected:"
    echo "$expect"
    exit 1
  fi
  echo "ok: the scanner finds planted \"(s)\" messages and ignores comments"
}

selfcheck
[ $# -gt 0 ] || set -- "$src/core" "$src/plugins"
files=$(find "$@" -name '*.[ch]' -type f | sort)
[ -n "$files" ] || { echo "FAIL: no C files under $*"; exit 1; }
# shellcheck disable=SC2086 # file names in this tree carry no blanks
if out=$(scan $files); then
  echo "ok: no \"(s)\" plurals in the string literals of $(echo "$files" | wc -l) files"
  exit 0
fi
echo "$out" | sed 's/^/FAIL: /'
echo "Say \"1 metric\" and \"2 metrics\": pick the word from the count, e.g."
echo "  \"%zu metric%s\", n, twi_s(n)      in core (core/log_internal.h)"
echo "  \"%zu metric%s\", n, plural_s(n)   in plugins (plugins/common/plural.h)"
exit 1
