/* libFuzzer target: the configuration loader, through the daemon's entry
 * points. Each input is written as a tower.conf in a work directory and
 *   1. loaded with twi_conf_load() (libconfig, @include, ${VAR}
 *      substitution; core/conf.c): a refusal must say which file (and
 *      line) is wrong;
 *   2. built with twi_pipeline_build() (the agent block, global_tags, every
 *      plugin block validated against its option tables; config_view.c,
 *      options.c), against the fixture plugin "fuzz" of every kind
 *      (fuzz_plugin.c: every option type, bounds, defaults, nested groups):
 *      a pipeline comes back exactly when no error was reported, and every
 *      error names the file it is about;
 *   3. when it builds, initialized in --config-check mode
 *      (twi_pipeline_check()): the fixture reads every option back through
 *      the SDK and aborts when a validated value breaks its table;
 *   4. built again with each plugin's `password` (a secret) replaced by as
 *      many 'x': the messages must not change, or the secret shows in them;
 * and the whole input also goes, as one string, through twi_env_subst()
 * and the duration and size parsers (core/units.c), which are compared
 * with a plain reading of their grammar.
 *
 * The work directory holds fragments to @include. An @include of anything
 * else (an absolute path, "..", escapes) is skipped: a fuzzed path could
 * name /dev/zero or a FIFO.
 *
 * `make check` replays tests/fuzz/corpus/config/ through this file with
 * tests/fuzz/replay.c; `make fuzz` builds the libFuzzer binary and
 * `make fuzz-run` runs it (tests/fuzz/README.md). FUZZ_PLUGIN_SO_DIR (set
 * at build time) holds fuzz_input.so, fuzz_processor.so and fuzz_output.so.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tower/config.h>

#include "conf.h"
#include "diag.h"
#include "log_internal.h"
#include "pipeline.h"

#define FUZZ_TARGET "fuzz_config"
#include "fuzz_util.h"

#ifndef FUZZ_PLUGIN_SO_DIR
#error "FUZZ_PLUGIN_SO_DIR must name the directory of the fuzz_*.so fixtures"
#endif

/* ---- the work directory -------------------------------------------------- */

/* Fragments for @include: whole settings, and members of a plugin block. */
static const struct {
  const char *name, *text;
} fragments[] = {
    {"agent.conf",
     "agent = { interval = \"5s\"; flush_interval = \"${TOWER_FUZZ_DURATION}\"; };\n"},
    {"inputs.conf", "inputs = ( { plugin = \"fuzz\"; timeout = \"1s\";\n"
                    "  patterns = [\"cpu*\", \"{mem,swap}\"]; } );\n"},
    {"conf.d/block.conf", "plugin = \"fuzz\";\nmax_body = \"64KiB\";\n"},
    {"conf.d/servers.conf", "servers = ( { host = \"a\"; port = 1; },\n"
                            "  { host = \"${TOWER_FUZZ_HOST}\"; match = \"x*\"; } );\n"},
    {"bad.conf", "outputs = ( { plugin = \"fuzz\";\n  timeout = ; } );\n"},
};
#define NFRAGMENTS (sizeof fragments / sizeof *fragments)

static const char *const kinds[] = {"inputs", "processors", "outputs"};
static const char *const so_names[] = {"fuzz_input.so", "fuzz_processor.so", "fuzz_output.so"};

static char workdir[512], conf_path[600], plugin_dir[600];

static void path_in(char *buf, size_t len, const char *a, const char *b) {
  if ((size_t)snprintf(buf, len, "%s/%s", a, b) >= len)
    die("path too long: %s/%s", a, b);
}

static void write_file(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
    die("cannot write %s", path);
}

static void cleanup(void) {
  char p[700];
  for (size_t i = 0; i < NFRAGMENTS; i++) {
    path_in(p, sizeof p, workdir, fragments[i].name);
    unlink(p);
  }
  for (size_t k = 0; k < 3; k++) {
    char d[650];
    path_in(d, sizeof d, plugin_dir, kinds[k]);
    path_in(p, sizeof p, d, "fuzz.so");
    unlink(p);
    rmdir(d);
  }
  rmdir(plugin_dir);
  path_in(p, sizeof p, workdir, "conf.d");
  rmdir(p);
  unlink(conf_path);
  rmdir(workdir);
}

static void setup(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(workdir, sizeof workdir, "%s/tower-fuzz-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(workdir))
    die("mkdtemp %s: %s", workdir, strerror(errno));
  atexit(cleanup);
  char p[700];
  path_in(p, sizeof p, workdir, "conf.d");
  path_in(plugin_dir, sizeof plugin_dir, workdir, "plugins");
  if (mkdir(p, 0700) || mkdir(plugin_dir, 0700))
    die("mkdir in %s: %s", workdir, strerror(errno));
  for (size_t i = 0; i < NFRAGMENTS; i++) {
    path_in(p, sizeof p, workdir, fragments[i].name);
    write_file(p, fragments[i].text, strlen(fragments[i].text));
  }
  /* The loader wants <dir>/<kind>s/<name>.so, named like the plugin. */
  for (size_t k = 0; k < 3; k++) {
    char d[650], so[700];
    path_in(d, sizeof d, plugin_dir, kinds[k]);
    path_in(p, sizeof p, d, "fuzz.so");
    path_in(so, sizeof so, FUZZ_PLUGIN_SO_DIR, so_names[k]);
    if (mkdir(d, 0700) || symlink(so, p))
      die("cannot lay out %s: %s", p, strerror(errno));
  }
  path_in(conf_path, sizeof conf_path, workdir, "tower.conf");
  setenv("TOWER_FUZZ_HOST", "db.example:5432", 1);
  setenv("TOWER_FUZZ_EMPTY", "", 1);
  setenv("TOWER_FUZZ_DURATION", "250ms", 1);
  setenv("TOWER_FUZZ_GLOB", "cpu_[a-z]*", 1);
  /* Plugins log their refusals; the fuzzer wants no output. */
  if (twi_log_set_file("/dev/null"))
    die("cannot silence the log");
}

/* ---- @include ------------------------------------------------------------ */

static bool safe_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || c == '/';
}

/* An @include'd name the fuzzer may read: a fragment of the work directory
 * (or nothing there). libconfig 1.5 exits the process -- flex's "input in
 * flex scanner failed" -- on an @include of a directory: reported, not
 * tower's to catch here. */
static bool include_ok(const char *name) {
  size_t n = strlen(name);
  char path[900];
  struct stat st;
  if (n < 5 || name[0] == '/' || strstr(name, "..") || strcmp(name + n - 5, ".conf") != 0)
    return false;
  path_in(path, sizeof path, workdir, name);
  return stat(path, &st) != 0 || S_ISREG(st.st_mode);
}

/* True when every '@' starts `@include "name"` with a plain name that
 * include_ok() takes. */
static bool includes_safe(const char *s, size_t n) {
  for (const char *at = memchr(s, '@', n); at; at = memchr(at + 1, '@', n - (size_t)(at + 1 - s))) {
    size_t i = (size_t)(at - s), j;
    if (n - i < 8 || strncasecmp(at, "@include", 8) != 0)
      return false;
    for (j = i + 8; j < n && (s[j] == ' ' || s[j] == '\t'); j++)
      ;
    if (j == i + 8 || j >= n || s[j] != '"')
      return false;
    size_t start = ++j;
    while (j < n && s[j] != '"' && safe_path_char(s[j]))
      j++;
    char name[300];
    if (j >= n || s[j] != '"' || j - start >= sizeof name)
      return false;
    memcpy(name, s + start, j - start);
    name[j - start] = '\0';
    if (!include_ok(name))
      return false;
  }
  return true;
}

/* ---- checks --------------------------------------------------------------- */

/* Known and reported messages that name no file: pipeline.c reports a
 * retry_backoff_min above the default retry_backoff_max at the unset
 * retry_backoff_max (NULL). Remove an entry once its message has a place. */
static const char *const unlocated[] = {
    "agent: retry_backoff_max is below retry_backoff_min",
};

/* Every line of a refusal starts with a file of the work directory. */
static void expect_located(const char *text, const char *what) {
  size_t wl = strlen(workdir);
  for (const char *line = text; line && *line;) {
    bool known = false;
    if (strncmp(line, "warning: ", 9) == 0)
      line += 9;
    for (size_t i = 0; i < sizeof unlocated / sizeof *unlocated; i++)
      known |= strncmp(line, unlocated[i], strlen(unlocated[i])) == 0;
    if (!known && strncmp(line, workdir, wl) != 0)
      die("%s does not name the file: %.200s", what, line);
    line = strchr(line, '\n');
    line = line ? line + 1 : NULL;
  }
}

/* Whether a string of the tree holds a line break. Messages quote values
 * as they are (the loader's "\"%s\" is not a plugin name", config_view's
 * patterns and choices), so such a value breaks a message over two lines,
 * and the second names no file. Known and reported; until values are
 * escaped in messages, only the first line of such a text is checked. */
static bool has_line_break(const config_setting_t *s) {
  if (config_setting_type(s) == CONFIG_TYPE_STRING)
    return strpbrk(config_setting_get_string(s), "\r\n") != NULL;
  for (int i = 0; config_setting_is_aggregate(s) && i < config_setting_length(s); i++)
    if (has_line_break(config_setting_get_elem(s, (unsigned)i)))
      return true;
  return false;
}

/* Replaces the value of every plugin block's `password` with as many 'x';
 * returns how many it replaced. */
static int hide_passwords(twi_conf *conf) {
  int n = 0;
  for (size_t k = 0; k < 3; k++) {
    config_setting_t *list = config_setting_get_member(twi_conf_root(conf), kinds[k]);
    for (int i = 0; list && config_setting_is_aggregate(list) && i < config_setting_length(list);
         i++) {
      config_setting_t *block = config_setting_get_elem(list, (unsigned)i);
      config_setting_t *pw =
          config_setting_is_group(block) ? config_setting_get_member(block, "password") : NULL;
      if (!pw || config_setting_type(pw) != CONFIG_TYPE_STRING)
        continue;
      size_t len = strlen(config_setting_get_string(pw));
      char *x = malloc(len + 1);
      if (!x)
        die("out of memory");
      memset(x, 'x', len);
      x[len] = '\0';
      if (!config_setting_set_string(pw, x))
        die("cannot replace a password");
      free(x);
      n++;
    }
  }
  return n;
}

static void check_pipeline(twi_conf *conf) {
  twi_diag d = {0};
  twi_pipeline *pl = twi_pipeline_build(conf, plugin_dir, TWI_ONCE, &d);
  if (!pl != (d.errors > 0))
    die("pipeline %s with %u errors:\n%s", pl ? "built" : "refused", d.errors,
        d.text ? d.text : "");
  if (has_line_break(twi_conf_root(conf))) {
    char *first = d.text ? strndup(d.text, strcspn(d.text, "\n")) : NULL;
    expect_located(first, "a configuration error");
    free(first);
  } else {
    expect_located(d.text, "a configuration error");
  }
  if (pl) {
    twi_pipeline_check(pl);
    twi_pipeline_free(pl);
  }
  if (hide_passwords(conf)) {
    twi_diag again = {0};
    twi_pipeline_free(twi_pipeline_build(conf, plugin_dir, TWI_ONCE, &again));
    if (again.errors != d.errors || again.warnings != d.warnings ||
        strcmp(again.text ? again.text : "", d.text ? d.text : "") != 0)
      die("the messages depend on a secret:\n%s---\n%s", d.text ? d.text : "",
          again.text ? again.text : "");
    twi_diag_free(&again);
  }
  twi_diag_free(&d);
}

/* Known and reported: an output allocates its whole batch array when it is
 * built (output.c), and metric_batch_size has no upper bound (options.c),
 * so a large value asks malloc for gigabytes before anything checks it.
 * Such files are not built here until the size is bounded. */
static bool huge_batch(const config_setting_t *root) {
  const config_setting_t *agent = config_setting_get_member(root, "agent");
  const config_setting_t *outs = config_setting_get_member(root, "outputs");
  const config_setting_t *b = agent ? config_setting_get_member(agent, "metric_batch_size") : NULL;
  if (b && config_setting_get_int64(b) > 10000000)
    return true;
  for (int i = 0; outs && config_setting_is_aggregate(outs) && i < config_setting_length(outs);
       i++) {
    const config_setting_t *o = config_setting_get_elem(outs, (unsigned)i);
    b = config_setting_is_group(o) ? config_setting_get_member(o, "metric_batch_size") : NULL;
    if (b && config_setting_get_int64(b) > 10000000)
      return true;
  }
  return false;
}

static void check_load(const char *data, size_t size) {
  char err[2048] = "";
  write_file(conf_path, data, size);
  twi_conf *conf = twi_conf_load(conf_path, err, sizeof err);
  if (!conf) {
    if (!*err)
      die("refused without a message");
    expect_located(err, "a load error");
    return;
  }
  if (!huge_batch(twi_conf_root(conf)))
    check_pipeline(conf);
  twi_conf_unref(conf);
}

/* twi_env_subst on the whole text: text without "$" comes back as it is
 * ($VAR, ${VAR} and the $$ escape all start with one); a refusal says why. */
static void check_subst(const char *text) {
  char err[512] = "";
  char *out = twi_env_subst(text, err, sizeof err);
  if (!out && !*err)
    die("substitution refused without a message");
  if (out && !strchr(text, '$') && strcmp(out, text) != 0)
    die("substitution changed text without $: \"%s\" -> \"%s\"", text, out);
  free(out);
}

/* ---- units ---------------------------------------------------------------- */

typedef struct unit {
  const char *name;
  double scale;
} unit;

static const unit duration_units[] = {{"ns", 1},     {"us", 1e3},    {"\xc2\xb5s", 1e3},
                                      {"ms", 1e6},   {"s", 1e9},     {"m", 60e9},
                                      {"h", 3600e9}, {"d", 86400e9}, {NULL, 0}};
static const unit size_units[] = {{"B", 1},
                                  {"k", 1e3},
                                  {"K", 1e3},
                                  {"kB", 1e3},
                                  {"KB", 1e3},
                                  {"M", 1e6},
                                  {"MB", 1e6},
                                  {"G", 1e9},
                                  {"GB", 1e9},
                                  {"T", 1e12},
                                  {"TB", 1e12},
                                  {"Ki", 1024.0},
                                  {"KiB", 1024.0},
                                  {"Mi", 1048576.0},
                                  {"MiB", 1048576.0},
                                  {"Gi", 1073741824.0},
                                  {"GiB", 1073741824.0},
                                  {"Ti", 1099511627776.0},
                                  {"TiB", 1099511627776.0},
                                  {NULL, 0}};

/* A plain reading of "<decimal><unit>" at *p: digits with at most one '.'
 * (not alone), then the longest unit that follows (none: *scale 0).
 * Returns the number, -1 when there is none, -2 for 40 characters or more
 * (strtod's business, not the grammar's). */
static double ref_number_unit(const char **p, const unit *units, double *scale) {
  size_t n = strspn(*p, "0123456789.");
  const char *dot = memchr(*p, '.', n);
  *scale = 0;
  if (n >= 40)
    return -2;
  if (n == 0 || (dot && (n == 1 || memchr(dot + 1, '.', n - (size_t)(dot + 1 - *p)))))
    return -1;
  char num[40];
  memcpy(num, *p, n);
  num[n] = '\0';
  *p += n;
  size_t best = 0;
  for (const unit *u = units; u->name; u++)
    if (strlen(u->name) > best && strncmp(*p, u->name, strlen(u->name)) == 0) {
      best = strlen(u->name);
      *scale = u->scale;
    }
  *p += best;
  return strtod(num, NULL);
}

/* Durations: one or more number-unit pairs, or "0". */
static void check_duration(const char *text) {
  int64_t ns = -1;
  int rc = tower_parse_duration(text, &ns);
  double total = 0, scale, v;
  const char *p = text;
  bool valid = *p != '\0';
  while (valid && *p) {
    if ((v = ref_number_unit(&p, duration_units, &scale)) == -2)
      return;
    valid = v >= 0 && scale > 0;
    total += valid ? v * scale : 0;
  }
  if (strcmp(text, "0") == 0)
    valid = true;
  if (!valid            ? rc == 0
      : total >= 9.2e18 ? rc != -ERANGE
                        : rc != 0 || fabs((double)ns - total) > 0.5 + total * 1e-15)
    die("duration \"%s\": rc %d, %lld ns; the grammar says %s, about %.17g ns", text, rc,
        (long long)ns, valid ? "valid" : "invalid", total);
}

/* Sizes: a number, with an optional unit (and a B after Ki, Mi...). */
static void check_size(const char *text) {
  uint64_t bytes = 0;
  int rc = tower_parse_size(text, &bytes);
  double scale;
  const char *p = text;
  double v = ref_number_unit(&p, size_units, &scale);
  if (v == -2)
    return;
  bool valid = v >= 0 && !*p;
  v *= scale > 0 ? scale : 1;
  /* 2^64 bytes and more do not fit; a fraction of one byte is no size */
  bool range = v >= 0x1p64 || (v > 0 && v < 1);
  if (!valid  ? rc == 0
      : range ? rc != -ERANGE
              : rc != 0 || fabs((double)bytes - v) > 0.5 + v * 1e-15)
    die("size \"%s\": rc %d, %llu bytes; the grammar says %s, about %.17g bytes", text, rc,
        (unsigned long long)bytes, valid ? "valid" : "invalid", v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  if (!ready) {
    setup();
    ready = true;
  }
  if (size > 16384)
    return 0;
  char *text = malloc(size + 1);
  if (!text)
    die("out of memory");
  memcpy(text, data, size);
  text[size] = '\0';
  check_subst(text);
  check_duration(text);
  check_size(text);
  if (includes_safe(text, size))
    check_load(text, size);
  free(text);
  return 0;
}
