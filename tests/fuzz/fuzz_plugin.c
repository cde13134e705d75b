/* Fuzz fixture plugin "fuzz", built once per kind from this file (with
 * -DFUZZ_INPUT, -DFUZZ_PROCESSOR or -DFUZZ_OUTPUT) for
 * fuzz_config.c. Its option table holds every option type of the SDK, with
 * defaults, bounds, flags and groups nested two deep; the input also takes
 * the parser options and the output the serializer options.
 *
 * fuzz_config builds pipelines of it from fuzzed files and runs init in
 * --config-check mode. init reads every option back through the SDK
 * accessors, the way a plugin does, and aborts when a value the core
 * accepted breaks what the table promised: a bound, an enum choice, a glob
 * that validated but does not compile, a GROUPS element without its view.
 * A plugin must be able to trust validation; this is where that is tested.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#if defined(FUZZ_INPUT)
#define FUZZ_KIND TOWER_INPUT
#define FUZZ_FLAGS TOWER_PLUGIN_PARSER
#elif defined(FUZZ_PROCESSOR)
#define FUZZ_KIND TOWER_PROCESSOR
#define FUZZ_FLAGS 0
#elif defined(FUZZ_OUTPUT)
#define FUZZ_KIND TOWER_OUTPUT
#define FUZZ_FLAGS TOWER_PLUGIN_SERIALIZER
#else
#error "build with -DFUZZ_INPUT, -DFUZZ_PROCESSOR or -DFUZZ_OUTPUT"
#endif

static const tower_option server_options[] = {
    {.name = "host", .type = TOWER_OPT_STRING, .flags = TOWER_OPT_REQUIRED, .help = "host"},
    {.name = "port",
     .type = TOWER_OPT_INT,
     .default_value = "8080",
     .min = "1",
     .max = "65535",
     .help = "port"},
    {.name = "timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "2s",
     .min = "1ms",
     .max = "1m",
     .help = "per server"},
    {.name = "match", .type = TOWER_OPT_STRINGS, .flags = TOWER_OPT_GLOB, .help = "globs"},
    {.name = "labels", .type = TOWER_OPT_TABLE, .help = "labels"},
    TOWER_OPTION_END,
};

static const tower_option endpoint_options[] = {
    {.name = "url", .type = TOWER_OPT_STRING, .flags = TOWER_OPT_REQUIRED, .help = "url"},
    {.name = "weight",
     .type = TOWER_OPT_FLOAT,
     .default_value = "1",
     .min = "0",
     .max = "100",
     .help = "weight"},
    {.name = "servers", .type = TOWER_OPT_GROUPS, .help = "servers", .children = server_options},
    TOWER_OPTION_END,
};

static const tower_option options[] = {
    {.name = "timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "5s",
     .min = "1ms",
     .max = "1h",
     .help = "bounded duration"},
    {.name = "window", .type = TOWER_OPT_DURATION, .help = "duration without default"},
    {.name = "max_body",
     .type = TOWER_OPT_SIZE,
     .default_value = "1MiB",
     .min = "1KiB",
     .max = "1GiB",
     .help = "bounded size"},
    {.name = "chunk", .type = TOWER_OPT_SIZE, .help = "size without default"},
    {.name = "retries",
     .type = TOWER_OPT_INT,
     .default_value = "3",
     .min = "-1",
     .max = "10",
     .help = "bounded integer"},
    {.name = "ratio",
     .type = TOWER_OPT_FLOAT,
     .default_value = "0.5",
     .min = "0",
     .max = "1",
     .help = "bounded float"},
    {.name = "enabled", .type = TOWER_OPT_BOOL, .default_value = "true", .help = "boolean"},
    {.name = "mode",
     .type = TOWER_OPT_ENUM,
     .default_value = "append",
     .choices = "append|snapshot|off",
     .help = "enum"},
    {.name = "label", .type = TOWER_OPT_STRING, .default_value = "x", .help = "string"},
    {.name = "password", .type = TOWER_OPT_STRING, .flags = TOWER_OPT_SECRET, .help = "secret"},
    {.name = "patterns",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .default_value = "cpu*, mem",
     .help = "globs with a default"},
    {.name = "words", .type = TOWER_OPT_STRINGS, .help = "strings"},
    {.name = "headers", .type = TOWER_OPT_TABLE, .help = "table"},
    {.name = "routes",
     .type = TOWER_OPT_STRINGS_TABLE,
     .flags = TOWER_OPT_GLOB,
     .help = "table of globs"},
    {.name = "endpoint", .type = TOWER_OPT_GROUP, .help = "group", .children = endpoint_options},
    {.name = "servers", .type = TOWER_OPT_GROUPS, .help = "groups", .children = server_options},
    {.name = "extra", .type = TOWER_OPT_ANY, .help = "anything"},
    {.name = "old_label", .type = TOWER_OPT_STRING, .flags = TOWER_OPT_DEPRECATED, .help = "label"},
    TOWER_OPTION_END,
};

static void broken(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void broken(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz plugin: validated configuration breaks its table: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

/* ---- one block, against its table ------------------------------------- */

/* Known and reported: validation skips a class whole ("[{]" is a class
 * holding '{'), but glob.c's brace expansion does not, so such a pattern
 * validates and then fails to compile. Until glob.c skips classes when
 * expanding braces, a list with such a pattern is not held to compiling. */
static bool brace_in_class(const char *p) {
  for (; *p; p++) {
    if (*p == '\\' && p[1]) {
      p++;
    } else if (*p == '[') {
      const char *q = p + 1 + (p[1] == '!' || p[1] == '^');
      q += *q == ']';
      size_t n = strcspn(q, "]");
      if (memchr(q, '{', n))
        return true;
      p = q[n] ? q + n : q + n - 1;
    }
  }
  return false;
}

static void check_globs(const tower_config *cfg, const char *key) {
  tower_globs *g = NULL;
  size_t n = tower_config_strings_len(cfg, key);
  if (n == 0)
    return;
  for (size_t i = 0; i < n; i++)
    if (brace_in_class(tower_config_strings_at(cfg, key, i)))
      return;
  if (tower_globs_from_config(cfg, key, &g) != 0 || !g)
    broken("%s: its globs validated but do not compile", key);
  for (size_t i = 0; i < tower_config_strings_len(cfg, key); i++)
    tower_globs_match(g, tower_config_strings_at(cfg, key, i));
  tower_globs_free(g);
}

static void check_strings(const tower_config *cfg, const char *key) {
  size_t n = tower_config_strings_len(cfg, key);
  for (size_t i = 0; i < n; i++)
    if (!tower_config_strings_at(cfg, key, i))
      broken("%s[%zu] of %zu is NULL", key, i, n);
  if (tower_config_strings_at(cfg, key, n))
    broken("%s[%zu] exists past its length", key, n);
}

static void check_table(const tower_config *cfg, const char *key) {
  size_t n = tower_config_table_len(cfg, key);
  for (size_t i = 0; i < n; i++)
    if (!tower_config_table_key(cfg, key, i) || !tower_config_table_value(cfg, key, i))
      broken("%s: entry %zu of %zu has no key or value", key, i, n);
}

/* Options present in both the block's own table and a child table. */
static void check_common(const tower_config *cfg, int64_t tmin, int64_t tmax) {
  int64_t t = tower_config_duration(cfg, "timeout");
  if (t < tmin || t > tmax)
    broken("timeout %lld ns is outside [%lld, %lld]", (long long)t, (long long)tmin,
           (long long)tmax);
}

static void check_server(const tower_setting *s) {
  const tower_config *cfg = tower_setting_config(s);
  if (!cfg)
    broken("a servers element has no view");
  const char *host = tower_config_string(cfg, "host");
  int64_t port = tower_config_int(cfg, "port");
  if (!host)
    broken("servers: the required host is missing");
  if (port < 1 || port > 65535)
    broken("port %lld is outside [1, 65535]", (long long)port);
  check_common(cfg, 1000000, 60000000000);
  check_strings(cfg, "match");
  check_globs(cfg, "match");
  check_table(cfg, "labels");
}

static void check_servers(const tower_setting *s) {
  if (tower_setting_kind(s) == TOWER_SETTING_GROUP) {
    check_server(s);
    return;
  }
  for (size_t i = 0; i < tower_setting_len(s); i++)
    check_server(tower_setting_at(s, i));
}

static void check_endpoint(const tower_setting *s) {
  const tower_config *cfg = tower_setting_config(s);
  if (!cfg)
    broken("endpoint has no view");
  double w = tower_config_float(cfg, "weight");
  if (!tower_config_string(cfg, "url"))
    broken("endpoint: the required url is missing");
  if (!(w >= 0 && w <= 100))
    broken("weight %g is outside [0, 100]", w);
  const tower_setting *servers = tower_config_setting(cfg, "servers");
  if (servers)
    check_servers(servers);
}

static void check_routes(const tower_config *cfg) {
  const tower_setting *routes = tower_config_setting(cfg, "routes");
  for (size_t i = 0; i < tower_setting_len(routes); i++) {
    tower_globs *g = NULL;
    const tower_setting *r = tower_setting_at(routes, i);
    bool known = false;
    for (size_t k = 0; k < (tower_setting_len(r) ? tower_setting_len(r) : 1); k++) {
      const char *p = tower_setting_string(tower_setting_len(r) ? tower_setting_at(r, k) : r);
      known |= p && brace_in_class(p);
    }
    if (known)
      continue;
    if (tower_globs_from_setting(cfg, r, &g) != 0 || !g)
      broken("routes.%s: its globs validated but do not compile", tower_setting_name(r));
    tower_globs_free(g);
  }
}

static void check_scalars(const tower_config *cfg) {
  uint64_t body = tower_config_size(cfg, "max_body");
  int64_t retries = tower_config_int(cfg, "retries");
  double ratio = tower_config_float(cfg, "ratio");
  const char *mode = tower_config_string(cfg, "mode");
  check_common(cfg, 1000000, 3600000000000);
  if (body < 1024 || body > 1073741824)
    broken("max_body %llu is outside [1KiB, 1GiB]", (unsigned long long)body);
  if (retries < -1 || retries > 10)
    broken("retries %lld is outside [-1, 10]", (long long)retries);
  if (!(ratio >= 0 && ratio <= 1))
    broken("ratio %g is outside [0, 1]", ratio);
  if (!mode || (strcmp(mode, "append") && strcmp(mode, "snapshot") && strcmp(mode, "off")))
    broken("mode \"%s\" is not a choice", mode ? mode : "(null)");
  if (tower_config_duration(cfg, "window") < 0)
    broken("window is negative");
  tower_config_size(cfg, "chunk");
  tower_config_bool(cfg, "enabled");
  if (!tower_config_string(cfg, "label"))
    broken("label has a default but reads NULL");
  tower_config_string(cfg, "password");
  tower_config_string(cfg, "old_label");
}

static int fuzz_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  check_scalars(cfg);
  check_strings(cfg, "patterns");
  check_globs(cfg, "patterns");
  if (!tower_config_isset(cfg, "patterns") && tower_config_strings_len(cfg, "patterns") != 2)
    broken("patterns: the default \"cpu*, mem\" reads as %zu strings",
           tower_config_strings_len(cfg, "patterns"));
  check_strings(cfg, "words");
  check_table(cfg, "headers");
  check_routes(cfg);
  const tower_setting *s = tower_config_setting(cfg, "endpoint");
  if (s)
    check_endpoint(s);
  if ((s = tower_config_setting(cfg, "servers")))
    check_servers(s);
  /* The data format options, read the way a plugin reads them: a refusal
   * is a configuration error (logged), not a broken promise. */
  int rc = 0;
#if defined(FUZZ_INPUT)
  tower_parser *p = NULL;
  rc = tower_parser_new(ctx, cfg, &p);
  tower_parser_free(p);
#elif defined(FUZZ_OUTPUT)
  tower_serializer *ser = NULL;
  rc = tower_serializer_new(ctx, cfg, &ser);
  tower_serializer_free(ser);
#else
  (void)ctx;
#endif
  *state = NULL;
  return rc;
}

static void fuzz_destroy(void *state) {
  (void)state;
}

static int fuzz_gather(void *state, tower_acc *acc) {
  (void)state;
  (void)acc;
  return 0;
}

static int fuzz_process(void *state, tower_metric *m, tower_acc *next) {
  (void)state;
  return tower_acc_add(next, m);
}

static tower_write_result fuzz_write(void *state, const tower_batch *batch) {
  (void)state;
  (void)batch;
  return TOWER_WRITE_OK;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(FUZZ_KIND),
    .flags = FUZZ_FLAGS,
    .name = "fuzz",
    .description = "fuzz fixture: every option type, checked after validation",
    .version = "test",
    .options = options,
    .init = fuzz_init,
    .destroy = fuzz_destroy,
    .gather = fuzz_gather,
    .process = fuzz_process,
    .write = fuzz_write,
};

TOWER_PLUGIN_ENTRY(plugin)
