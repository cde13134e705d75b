/* Prometheus text exposition 0.0.4 parser, mapped to metrics the way
 * Telegraf's "prometheus" parser does with metric_version 1
 * (plugins/parsers/prometheus/parser_v1.go over prometheus/common's
 * expfmt TextParser, text_parse.go). tower_prom_map() is its inverse.
 *
 * Syntax (expfmt):
 * - Leading blanks (space, tab) are skipped; blank lines are skipped.
 *   "# HELP name text" and "# TYPE name type" (blanks after '#' allowed,
 *   keywords case-sensitive); any other '#' line is a comment. A HELP or
 *   TYPE line that stops after the name is ignored.
 * - HELP text escapes: \\, \n (and \" as current expfmt); any other escape
 *   is an error. The text itself is not kept (Telegraf drops it).
 * - TYPE words, any case: counter, gauge, histogram, summary, untyped.
 * - Samples: name [{labels}] value [timestamp]. Names [a-zA-Z_:][a-zA-Z0-9_:]*
 *   (the quoted UTF-8 names of newer expfmt are not 0.0.4 and are rejected),
 *   label names [a-zA-Z_][a-zA-Z0-9_]*, label values quoted with the
 *   escapes \\ \" \n and valid UTF-8 (no NUL: metric strings are C strings).
 *   Blanks may surround '{', '=', ',' and '}'; a trailing ',' before '}' and
 *   an empty "{}" are allowed. Values: Go's ParseFloat after expfmt's check
 *   (twi_prom_parse_float: NaN, +Inf, -Inf, Inf, 1e3, .5; no hex, no '_').
 *   Timestamps: decimal int64 milliseconds, optional sign.
 * - Deliberate differences on input expfmt rejects: blanks may trail the
 *   value, the timestamp and the TYPE word (expfmt fails those lines), and
 *   a metric name must be followed by '{', a blank or the end of the line
 *   (expfmt reads "a-1 2" as a = -1 at time 2).
 *
 * Mapping (Telegraf metric_version 1):
 * - counter -> field "counter", TOWER_COUNTER; gauge -> "gauge",
 *   TOWER_GAUGE; untyped or no TYPE -> "value", TOWER_UNTYPED. One metric
 *   per sample, named by the family; a NaN value gives no metric (Telegraf
 *   skips NaN).
 * - summary -> one TOWER_SUMMARY metric per label set: a field per
 *   quantile, named as Go's %v prints the quantile ("0.5", "0.99"), NaN
 *   values skipped, plus "sum" and "count"; histogram -> TOWER_HISTOGRAM,
 *   a field per "le" bound ("0.1", "1e+06", "+Inf") holding the cumulative
 *   count, plus "sum" and "count". Counts (buckets, _count) are truncated
 *   to integers as expfmt's uint64() does (twi_prom_count); a missing sum
 *   or count is 0; a repeated bound or quantile keeps the last value.
 * - Labels become tags, except "le" of a histogram and "quantile" of a
 *   summary; an empty label value is no tag (Prometheus reads it as an
 *   absent label; tower tags cannot be empty).
 * - Timestamps > 0 become ns; none, <= 0 (Telegraf then takes the current
 *   time) or prometheus_ignore_timestamp give TOWER_TIME_UNSET, which the
 *   core fills with the gather time. A histogram/summary takes the last
 *   timestamp any of its lines carried.
 *
 * Families and streaming: lines arrive one at a time, so the parser keeps
 * the current family (name, type) and groups only what must be grouped.
 * Counter/gauge/untyped samples are emitted at once. Histogram and summary
 * series are held, keyed by their label set, so that their bucket, _sum
 * and _count lines group into one metric even when the series interleave,
 * and are emitted in order of first appearance when the family ends: at a
 * sample, HELP or TYPE line of another family, or at tower_parser_end().
 * The state is bounded (format_prometheus.h): past TWI_PROM_MAX_SERIES
 * series or TWI_PROM_MAX_FAMILY_BYTES bytes the held series are emitted
 * early (with a warning), so a series whose lines continue after that
 * point comes out as two metrics.
 *
 * State never crosses documents: tower_parser_end() emits what is held,
 * and a document whose end was cut short by a sink error is dropped when
 * the next document starts.
 *
 * A sample belongs to the current family when its name is the family's,
 * or for a summary the family's plus _sum/_count, for a histogram plus
 * _bucket/_sum/_count (expfmt's rule; like expfmt, a histogram line named
 * exactly as the family with an "le" is a bucket, and a line without
 * "le"/"quantile" only creates its series). Any other name starts a new,
 * untyped family: "x_total" after "# TYPE x counter" is the untyped
 * x_total, as in Telegraf.
 *
 * The format requires a family's lines to be one group. expfmt merges a
 * family's later groups and rejects a second TYPE or HELP line (and a TYPE
 * after samples) with an error that fails the whole document in Telegraf.
 * Here, streaming, a later group of a name is a new family, and:
 * - a second TYPE line (or HELP line) for the current family before any of
 *   its samples is an error; the first one stays;
 * - a TYPE line for the current family after its samples, or a second HELP
 *   line after them, starts a new group of that name: the held series are
 *   emitted and the new TYPE applies. This reads the concatenated output of
 *   per-metric serializers (Telegraf's and ours without batch format),
 *   which repeat HELP/TYPE for every metric.
 *
 * Unsupported types are ignored consistently, as Telegraf's v1 mapping
 * drops samples it has no field for: after "# TYPE x gauge_histogram" (a
 * type expfmt knows but Telegraf cannot map), or after a TYPE word expfmt
 * does not know (reported once as an error: "info", "stateset",
 * "unknown"...), the samples of x (x and x_bucket, _count, _sum, _gcount,
 * _gsum, _total, _created, _info) are skipped without further errors.
 *
 * OpenMetrics text 1.0.0 (the "openmetrics" format, twi_om_parser_init)
 * goes through the same code with these differences, so that every series
 * gets the name, labels and value Prometheus stores for it:
 * - timestamps are seconds, with a fraction ("1520879607.789"), read to the
 *   ns; <= 0 means the gather's time, as for the text format;
 * - an exemplar after the value or timestamp (" # {id="x"} 0.5 [ts]") is
 *   checked and dropped;
 * - "# EOF" ends the document: what is held goes out; a later line is an
 *   error (once), and a document without it is an error at its end (the
 *   metrics read are kept: the transport tells whether it was complete);
 * - "# UNIT" lines are ignored (as every other comment);
 * - types: counter samples are <family>_total and the metric takes that
 *   name; <family>_created of counters, histograms and summaries is
 *   dropped (Prometheus keeps no series of it); "unknown" is untyped; the
 *   samples of info (<family>_info), stateset (<family>) and gaugehistogram
 *   (<family>_bucket, _gcount, _gsum) families are gauges named by the
 *   sample, with all their labels ("le" included), as Prometheus stores
 *   them.
 * The text format's behaviour is unchanged by any of this.
 *
 * Errors report the 1-based byte column and what was expected; the line is
 * skipped and has no effect. Metrics are built with one allocation each.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "format_prometheus.h"
#include "metric_internal.h"
#include "numfmt.h"

#define MAX_TAGS 65535u /* 16-bit tag count of a metric */
#define QUOTE_MAX 64    /* longest name or token quoted in a message */
#define KEEP_TOKS 1024
#define KEEP_SCRATCH 65536

#define INLINE_BUCKETS 16 /* buckets held in a series without a second block */

#define K_IGNORED 5  /* family kind past the tower_value_type values */
#define K_OM_GAUGE 6 /* OpenMetrics info, stateset, gaugehistogram: gauges */

/* R_DROP: an OpenMetrics _created sample (Prometheus keeps no series). */
enum role { R_PLAIN, R_BUCKET, R_SUM, R_COUNT, R_DROP };

/* One label of the current line: offsets into the line. */
typedef struct pl_tok {
  uint32_t k, klen; /* name */
  uint32_t v, vlen; /* raw value, between the quotes */
  uint32_t ulen;    /* value length once unescaped */
  uint8_t esc;      /* the value holds escapes */
} pl_tok;

/* A sample line once scanned. */
typedef struct pl_line {
  const char *s;
  size_t len;
  size_t name, name_len;
  size_t nlabels;
  double value;
  bool has_time;
  int64_t time_ns; /* <= 0: the gather's time (a timestamp <= 0 too) */
} pl_line;

/* A histogram or summary series being grouped. */
typedef struct pl_series {
  uint64_t hash;
  double sum, count;
  int64_t time_ns;
  bool has_time;
  uint32_t nb, bcap; /* buckets / quantiles */
  double *bounds, *values;
  double inline_b[2 * INLINE_BUCKETS]; /* the first ones: no allocation */
  uint32_t nlabels;
  size_t key_len;
  char key[]; /* "name\0value\0"..., sorted by name */
} pl_series;

typedef struct pl_family {
  char *name;
  size_t len, cap;
  int kind; /* tower_value_type, K_IGNORED or K_OM_GAUGE */
  bool active, typed, help, samples, warned;
  pl_series **series; /* in order of first appearance */
  size_t nseries, scap;
  uint32_t *index; /* open addressing: series index + 1, 0 empty */
  size_t icap;
  size_t bytes;
  size_t last; /* the series the previous line used */
} pl_family;

typedef struct pl_state {
  pl_family fam;
  pl_tok *tok;
  uint32_t *order; /* label indices sorted by name */
  size_t tok_cap;
  char *scratch;
  size_t scratch_cap;
  bool ignore_timestamp;
  bool om;           /* OpenMetrics text (format_openmetrics.c) */
  bool om_eof;       /* "# EOF" was read */
  bool om_after_eof; /* a line after it was reported */
} pl_state;

/* The line, the state and the parser a step works on. */
typedef struct pl_ctx {
  tower_parser *p;
  pl_state *st;
  pl_line *L;
} pl_ctx;

/* ---- helpers ---------------------------------------------------------- */

static int qlen(size_t n) {
  return n > QUOTE_MAX ? QUOTE_MAX : (int)n;
}

static bool blank(char c) {
  return c == ' ' || c == '\t';
}

static size_t skip_blanks(const char *s, size_t i, size_t len) {
  while (i < len && blank(s[i]))
    i++;
  return i;
}

static size_t token_end(const char *s, size_t i, size_t len) {
  while (i < len && !blank(s[i]))
    i++;
  return i;
}

static bool label_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool label_char(char c) {
  return label_start(c) || (c >= '0' && c <= '9');
}

static bool name_start(char c) {
  return label_start(c) || c == ':';
}

static bool name_char(char c) {
  return label_char(c) || c == ':';
}

static size_t scan_name(const char *s, size_t i, size_t len) {
  while (i < len && name_char(s[i]))
    i++;
  return i;
}

static int oom(tower_parser *p) {
  if (!p->sink_rc)
    p->sink_rc = -ENOMEM;
  return -ENOMEM;
}

/* Copies a label value without its escapes. */
static size_t unescape(char *dst, const char *s, size_t n) {
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 1 < n) {
      i++;
      dst[j++] = s[i] == 'n' ? '\n' : s[i];
    } else {
      dst[j++] = s[i];
    }
  }
  return j;
}

static char *scratch(pl_state *st, size_t n) {
  if (n > st->scratch_cap) {
    char *s = realloc(st->scratch, n);
    if (!s)
      return NULL;
    st->scratch = s;
    st->scratch_cap = n;
  }
  return st->scratch;
}

/* "\\x" for a message: printable bytes as they are, others in hex. */
static const char *byte_text(char c, char buf[8]) {
  unsigned char u = (unsigned char)c;
  if (u > 0x20 && u < 0x7f) {
    buf[0] = c;
    buf[1] = '\0';
  } else {
    static const char hex[] = "0123456789abcdef";
    buf[0] = '\\';
    buf[1] = 'x';
    buf[2] = hex[u >> 4];
    buf[3] = hex[u & 15];
    buf[4] = '\0';
  }
  return buf;
}

/* ---- state ------------------------------------------------------------ */

static int parser_init(tower_parser *p, bool om, bool ignore_timestamp) {
  pl_state *st = calloc(1, sizeof *st);
  if (!st)
    return -ENOMEM;
  st->ignore_timestamp = ignore_timestamp;
  st->om = om;
  p->state = st;
  return 0;
}

int twi_prom_parser_init(tower_parser *p, const tower_config *cfg) {
  return parser_init(p, false, cfg && tower_config_bool(cfg, "prometheus_ignore_timestamp"));
}

int twi_om_parser_init(tower_parser *p, const tower_config *cfg) {
  (void)cfg; /* the format has no options yet (format_prometheus.c) */
  return parser_init(p, true, false);
}

static void free_series(pl_series *s) {
  if (s->bounds != s->inline_b)
    free(s->bounds);
  free(s);
}

/* Drops the held series (after emitting them, or on error). */
static void clear_series(pl_family *f) {
  for (size_t i = 0; i < f->nseries; i++)
    free_series(f->series[i]);
  f->nseries = 0;
  f->bytes = 0;
  if (f->icap)
    memset(f->index, 0, f->icap * sizeof *f->index);
}

void twi_prom_parser_fini(tower_parser *p) {
  pl_state *st = p->state;
  if (!st)
    return;
  clear_series(&st->fam);
  free(st->fam.series);
  free(st->fam.index);
  free(st->fam.name);
  free(st->tok);
  free(st->order);
  free(st->scratch);
  free(st);
  p->state = NULL;
}

/* Memory kept after a family or line that needed much is given back. */
static void trim_state(pl_state *st) {
  pl_family *f = &st->fam;
  if (st->tok_cap > KEEP_TOKS) {
    free(st->tok);
    free(st->order);
    st->tok = NULL;
    st->order = NULL;
    st->tok_cap = 0;
  }
  if (st->scratch_cap > KEEP_SCRATCH) {
    free(st->scratch);
    st->scratch = NULL;
    st->scratch_cap = 0;
  }
  if (f->nseries == 0 && f->scap > KEEP_TOKS) {
    free(f->series);
    free(f->index);
    f->series = NULL;
    f->index = NULL;
    f->scap = f->icap = 0;
  }
}

static int push_tok(pl_state *st, size_t n, pl_tok **out) {
  if (n == st->tok_cap) {
    size_t cap = st->tok_cap ? st->tok_cap * 2 : 16;
    pl_tok *t = realloc(st->tok, cap * sizeof *t);
    if (t)
      st->tok = t;
    uint32_t *o = t ? realloc(st->order, cap * sizeof *o) : NULL;
    if (!o)
      return -ENOMEM;
    st->order = o;
    st->tok_cap = cap;
  }
  *out = &st->tok[n];
  memset(*out, 0, sizeof **out);
  return 0;
}

/* ---- emitting --------------------------------------------------------- */

static int64_t time_ns(const pl_state *st, bool has_time, int64_t ns) {
  /* Telegraf uses the sample's time only when it is > 0. */
  return has_time && ns > 0 && !st->ignore_timestamp ? ns : TOWER_TIME_UNSET;
}

/* Field keys of a series: formatted bounds, sorted, so that adding them
 * appends instead of shifting the metric's field table. */
typedef struct pl_key {
  char text[TWI_FMT_DOUBLE_SIZE];
  size_t len;
  double value;
} pl_key;

static int cmp_key(const void *a, const void *b) {
  return strcmp(((const pl_key *)a)->text, ((const pl_key *)b)->text);
}

static int add_float(tower_metric *m, const char *key, size_t klen, double v) {
  uint64_t raw;
  memcpy(&raw, &v, sizeof raw);
  return twi_metric_add_field_n(m, key, klen, TOWER_FIELD_FLOAT, raw);
}

static int add_key_tags(tower_metric *m, const char *key, size_t n) {
  const char *end = key + n;
  int rc = 0;
  while (key < end && !rc) {
    size_t kl = strlen(key);
    const char *v = key + kl + 1;
    size_t vl = strlen(v);
    rc = tower_metric_add_tag_n(m, key, kl, v, vl);
    key = v + vl + 1;
  }
  return rc;
}

static tower_metric *build_series(const pl_state *st, const pl_family *f, const pl_series *s,
                                  pl_key *keys) {
  size_t str_bytes = s->key_len + sizeof "sum" + sizeof "count";
  for (uint32_t i = 0; i < s->nb; i++) {
    keys[i].len = twi_prom_format_key(keys[i].text, s->bounds[i]);
    keys[i].value = s->values[i];
    str_bytes += keys[i].len + 1;
  }
  qsort(keys, s->nb, sizeof *keys, cmp_key);
  tower_metric *m = twi_metric_new_sized(f->name, f->len, time_ns(st, s->has_time, s->time_ns),
                                         s->nlabels, (size_t)s->nb + 2, str_bytes);
  if (!m)
    return NULL;
  int rc = tower_metric_set_type(m, (tower_value_type)f->kind);
  rc = rc ? rc : add_key_tags(m, s->key, s->key_len);
  for (uint32_t i = 0; i < s->nb && !rc; i++)
    rc = add_float(m, keys[i].text, keys[i].len, keys[i].value);
  rc = rc ? rc : add_float(m, "count", 5, s->count);
  rc = rc ? rc : add_float(m, "sum", 3, s->sum);
  if (rc) {
    tower_metric_free(m); /* cannot happen with the sizes above */
    return NULL;
  }
  return m;
}

/* Emits the held series in order and drops them. */
static int emit_series(tower_parser *p, pl_state *st) {
  pl_family *f = &st->fam;
  int rc = 0;
  for (size_t i = 0; i < f->nseries && rc == 0; i++) {
    pl_series *s = f->series[i];
    pl_key stack[16];
    pl_key *keys = s->nb <= 16 ? stack : malloc(s->nb * sizeof *keys);
    tower_metric *m = keys ? build_series(st, f, s, keys) : NULL;
    if (keys != stack)
      free(keys);
    rc = m ? twi_parser_emit(p, m) : oom(p);
  }
  clear_series(f);
  return rc;
}

/* The current family ends: its series go out. */
static int end_family(tower_parser *p, pl_state *st) {
  pl_family *f = &st->fam;
  int rc = f->nseries ? emit_series(p, st) : 0;
  f->active = false;
  return rc;
}

static int start_family(tower_parser *p, pl_state *st, const char *name, size_t len) {
  pl_family *f = &st->fam;
  int rc = end_family(p, st);
  if (len + 1 > f->cap) {
    char *n = realloc(f->name, len + 1);
    if (!n)
      return oom(p);
    f->name = n;
    f->cap = len + 1;
  }
  memcpy(f->name, name, len);
  f->name[len] = '\0';
  f->len = len;
  f->kind = TOWER_UNTYPED;
  f->active = true;
  f->typed = f->help = f->samples = f->warned = false;
  return rc;
}

/* ---- comments: HELP and TYPE ------------------------------------------ */

static bool same_family(const pl_family *f, const char *name, size_t len) {
  return f->active && f->len == len && memcmp(f->name, name, len) == 0;
}

static int apply_help(tower_parser *p, pl_state *st, const char *name, size_t len, size_t col) {
  pl_family *f = &st->fam;
  if (same_family(f, name, len) && !f->help) {
    f->help = true;
    return 0;
  }
  if (same_family(f, name, len) && !f->samples)
    return twi_parser_error(p, col, "second HELP line for metric \"%.*s\"", qlen(len), name);
  int rc = start_family(p, st, name, len);
  f->help = true;
  return rc;
}

typedef struct type_word {
  const char *word;
  int kind;
} type_word;

static const type_word text_types[] = {
    {"counter", TOWER_COUNTER},
    {"gauge", TOWER_GAUGE},
    {"histogram", TOWER_HISTOGRAM},
    {"summary", TOWER_SUMMARY},
    {"untyped", TOWER_UNTYPED},
    {"gauge_histogram", K_IGNORED},
    {NULL, 0},
};

/* OpenMetrics types. Prometheus stores the samples of info, stateset and
 * gaugehistogram families as gauge series; so does this parser. "untyped"
 * is not OpenMetrics but read as "unknown". */
static const type_word om_types[] = {
    {"counter", TOWER_COUNTER},     {"gauge", TOWER_GAUGE},
    {"histogram", TOWER_HISTOGRAM}, {"summary", TOWER_SUMMARY},
    {"unknown", TOWER_UNTYPED},     {"untyped", TOWER_UNTYPED},
    {"gaugehistogram", K_OM_GAUGE}, {"stateset", K_OM_GAUGE},
    {"info", K_OM_GAUGE},           {NULL, 0},
};

static int type_kind(const pl_state *st, const char *w, size_t n) {
  for (const type_word *t = st->om ? om_types : text_types; t->word; t++) {
    size_t tl = strlen(t->word), j = 0;
    while (j < n && j < tl && (w[j] >= 'A' && w[j] <= 'Z' ? w[j] + 32 : w[j]) == t->word[j])
      j++;
    if (j == n && j == tl)
      return t->kind;
  }
  return -1;
}

/* "# TYPE name word"; word at s[w..len), blanks trimmed. */
static int apply_type(tower_parser *p, pl_state *st, const char *s, size_t len, size_t n,
                      size_t nlen, size_t w) {
  pl_family *f = &st->fam;
  while (len > w && blank(s[len - 1]))
    len--;
  if (same_family(f, s + n, nlen) && !f->samples && f->typed)
    return twi_parser_error(p, n + 1, "second TYPE line for metric \"%.*s\"", qlen(nlen), s + n);
  int kind = type_kind(st, s + w, len - w);
  int rc = 0;
  if (!same_family(f, s + n, nlen) || f->samples)
    rc = start_family(p, st, s + n, nlen);
  f->kind = kind < 0 ? K_IGNORED : kind;
  f->typed = true;
  if (kind < 0)
    return twi_parser_error(p, w + 1, "unknown metric type \"%.*s\": expected %s", qlen(len - w),
                            s + w,
                            st->om ? "counter, gauge, histogram, gaugehistogram, stateset, info, "
                                     "summary or unknown"
                                   : "counter, gauge, histogram, summary or untyped");
  return rc;
}

/* HELP escapes: \\, \n and \". Returns 0 or the error. */
static int check_help(tower_parser *p, const char *s, size_t i, size_t len) {
  for (; i < len; i++) {
    if (s[i] != '\\')
      continue;
    char b[8];
    if (i + 1 == len)
      return twi_parser_error(p, i + 1, "incomplete escape sequence at the end of the HELP text");
    if (s[i + 1] != '\\' && s[i + 1] != 'n' && s[i + 1] != '"')
      return twi_parser_error(p, i + 1,
                              "invalid escape sequence '\\%s' in HELP text: expected \\\\ or \\n",
                              byte_text(s[i + 1], b));
    i++;
  }
  return 0;
}

/* "# EOF" ends an OpenMetrics document: what is held goes out, and any
 * later line is an error (reported once). */
static int om_eof(tower_parser *p, pl_state *st) {
  st->om_eof = true;
  return end_family(p, st);
}

/* A '#' line; i is after the '#'. */
static int parse_comment(tower_parser *p, pl_state *st, const char *s, size_t len, size_t i) {
  i = skip_blanks(s, i, len);
  size_t kw = i, e = token_end(s, i, len);
  if (st->om && e - kw == 3 && memcmp(s + kw, "EOF", 3) == 0 && skip_blanks(s, e, len) == len)
    return om_eof(p, st);
  bool help = e - kw == 4 && memcmp(s + kw, "HELP", 4) == 0;
  if (!help && !(e - kw == 4 && memcmp(s + kw, "TYPE", 4) == 0))
    return 0; /* a plain comment */
  i = skip_blanks(s, e, len);
  if (i == len)
    return 0;
  if (!name_start(s[i]))
    return twi_parser_error(p, i + 1, "expected a metric name after # %s", help ? "HELP" : "TYPE");
  size_t n = i;
  i = scan_name(s, i, len);
  if (i == len)
    return 0;
  if (!blank(s[i]))
    return twi_parser_error(p, i + 1, "expected a blank after metric name \"%.*s\" in # %s line",
                            qlen(i - n), s + n, help ? "HELP" : "TYPE");
  size_t nlen = i - n;
  i = skip_blanks(s, i, len);
  if (i == len)
    return 0;
  if (!help)
    return apply_type(p, st, s, len, n, nlen, i);
  int rc = check_help(p, s, i, len);
  return rc ? rc : apply_help(p, st, s + n, nlen, n + 1);
}

/* ---- scanning a sample line -------------------------------------------- */

/* The value of label t; *pi is at the opening quote, left after the
 * closing one. */
static int scan_label_value(tower_parser *p, pl_tok *t, const pl_line *L, size_t *pi) {
  const char *s = L->s;
  size_t i = *pi + 1, ulen = 0;
  for (; i < L->len && s[i] != '"'; ulen++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\\') {
      char b[8];
      if (i + 1 == L->len) {
        i = L->len; /* a lone backslash cannot close the value */
        break;
      }
      if (s[i + 1] != '\\' && s[i + 1] != '"' && s[i + 1] != 'n')
        return twi_parser_error(p, i + 1,
                                "invalid escape sequence '\\%s' in value of label \"%.*s\": "
                                "expected \\\\, \\\" or \\n",
                                byte_text(s[i + 1], b), qlen(t->klen), s + t->k);
      t->esc = 1;
      i += 2;
    } else if (c == 0) {
      return twi_parser_error(p, i + 1, "NUL byte in value of label \"%.*s\"", qlen(t->klen),
                              s + t->k);
    } else if (c < 0x80) {
      i++;
    } else {
      size_t w = twi_prom_rune_len(s + i, L->len - i);
      if (w == 0)
        return twi_parser_error(p, i + 1, "invalid UTF-8 in value of label \"%.*s\"", qlen(t->klen),
                                s + t->k);
      i += w;
      ulen += w - 1;
    }
  }
  if (i >= L->len)
    return twi_parser_error(p, L->len + 1, "expected '\"' to close the value of label \"%.*s\"",
                            qlen(t->klen), s + t->k);
  t->v = (uint32_t)(*pi + 1);
  t->vlen = (uint32_t)(i - *pi - 1);
  t->ulen = (uint32_t)ulen;
  *pi = i + 1;
  return 0;
}

/* name = "value"; *pi is at the name, left after the closing quote. */
static int scan_label(tower_parser *p, pl_tok *t, const pl_line *L, size_t *pi) {
  const char *s = L->s;
  size_t i = *pi, k = i;
  while (i < L->len && label_char(s[i]))
    i++;
  t->k = (uint32_t)k;
  t->klen = (uint32_t)(i - k);
  i = skip_blanks(s, i, L->len);
  if (i == L->len || s[i] != '=')
    return twi_parser_error(p, i + 1, "expected '=' after label name \"%.*s\"", qlen(t->klen),
                            s + k);
  if (t->klen == 8 && memcmp(s + k, "__name__", 8) == 0)
    return twi_parser_error(p, k + 1, "label name \"__name__\" is reserved");
  i = skip_blanks(s, i + 1, L->len);
  if (i == L->len || s[i] != '"')
    return twi_parser_error(p, i + 1, "expected '\"' to open the value of label \"%.*s\"",
                            qlen(t->klen), s + k);
  *pi = i;
  return scan_label_value(p, t, L, pi);
}

/* {labels}; *pi is at the '{', left after the '}'. */
static int scan_labels(tower_parser *p, pl_state *st, pl_line *L, size_t *pi) {
  const char *s = L->s;
  size_t i = *pi + 1;
  for (;;) {
    i = skip_blanks(s, i, L->len);
    if (i < L->len && s[i] == '}')
      break;
    if (i == L->len || !label_start(s[i]))
      return twi_parser_error(p, i + 1, "expected a label name or '}'");
    if (L->nlabels == MAX_TAGS)
      return twi_parser_error(p, i + 1, "too many labels: a metric holds at most %u tags",
                              MAX_TAGS);
    pl_tok *t;
    if (push_tok(st, L->nlabels, &t) < 0)
      return oom(p);
    int rc = scan_label(p, t, L, &i);
    if (rc)
      return rc;
    L->nlabels++;
    i = skip_blanks(s, i, L->len);
    if (i < L->len && s[i] == '}')
      break;
    if (i == L->len || s[i] != ',')
      return twi_parser_error(p, i + 1, "expected ',' or '}' after the value of label \"%.*s\"",
                              qlen(t->klen), s + t->k);
    i++;
  }
  *pi = i + 1;
  return 0;
}

static int cmp_order(const void *a, const void *b, void *ctx) {
  const pl_ctx *c = ctx;
  const pl_tok *x = &c->st->tok[*(const uint32_t *)a], *y = &c->st->tok[*(const uint32_t *)b];
  size_t n = x->klen < y->klen ? x->klen : y->klen;
  int r = memcmp(c->L->s + x->k, c->L->s + y->k, n);
  if (r == 0)
    r = (x->klen > y->klen) - (x->klen < y->klen);
  return r ? r : (x->k > y->k) - (x->k < y->k);
}

/* Sorts the labels by name into st->order and rejects a repeated name at
 * its first repetition. */
static int sort_labels(pl_ctx *c) {
  pl_state *st = c->st;
  size_t n = c->L->nlabels;
  for (size_t i = 0; i < n; i++)
    st->order[i] = (uint32_t)i;
  if (n < 16) {
    for (size_t i = 1; i < n; i++)
      for (size_t j = i; j > 0 && cmp_order(&st->order[j - 1], &st->order[j], c) > 0; j--) {
        uint32_t t = st->order[j];
        st->order[j] = st->order[j - 1];
        st->order[j - 1] = t;
      }
  } else {
    qsort_r(st->order, n, sizeof *st->order, cmp_order, c);
  }
  size_t dup = SIZE_MAX;
  for (size_t i = 1; i < n; i++) {
    const pl_tok *a = &st->tok[st->order[i - 1]], *b = &st->tok[st->order[i]];
    if (a->klen == b->klen && memcmp(c->L->s + a->k, c->L->s + b->k, a->klen) == 0 && b->k < dup)
      dup = b->k;
  }
  if (dup == SIZE_MAX)
    return 0;
  const pl_tok *d = NULL;
  for (size_t i = 0; i < n && !d; i++)
    d = st->tok[i].k == dup ? &st->tok[i] : NULL;
  return twi_parser_error(c->p, dup + 1, "duplicate label \"%.*s\"", qlen(d->klen), c->L->s + dup);
}

static int scan_time(tower_parser *p, pl_line *L, size_t i) {
  const char *s = L->s;
  size_t e = token_end(s, i, L->len);
  size_t plus = s[i] == '+' && e - i > 1 && s[i + 1] != '-';
  int64_t ms;
  int rc = twi_parse_int64_inline(s + i + plus, e - i - plus, &ms);
  if (rc == -EINVAL)
    return twi_parser_error(p, i + 1, "expected an integer timestamp (ms), got \"%.*s\"",
                            qlen(e - i), s + i);
  if (rc || ms > INT64_MAX / 1000000)
    return twi_parser_error(p, i + 1, "timestamp \"%.*s\" out of range", qlen(e - i), s + i);
  e = skip_blanks(s, e, L->len);
  if (e < L->len)
    return twi_parser_error(p, e + 1, "unexpected text after timestamp");
  L->has_time = true;
  L->time_ns = ms > 0 ? ms * 1000000 : 0;
  return 0;
}

/* ---- OpenMetrics: timestamps in seconds, exemplars -------------------- */

/* Seconds as OpenMetrics writes them ("1520879607.789", "1.5e9") into ns.
 * Plain decimals are read exactly (to the ns); other forms through a
 * double. A time <= 0 gives 0, which means the gather's time. */
static int om_seconds(const char *s, size_t n, int64_t *ns) {
  double d;
  if (twi_prom_parse_float(s, n, &d) < 0 || !isfinite(d))
    return -EINVAL;
  if (d <= 0) {
    *ns = 0;
    return 0;
  }
  if (d >= 9.2e9)
    return -ERANGE;
  size_t i = s[0] == '+', dot = i;
  while (dot < n && s[dot] >= '0' && s[dot] <= '9')
    dot++;
  bool plain = dot > i && (dot == n || s[dot] == '.');
  int64_t sec = 0, frac = 0, scale = 1000000000;
  for (size_t j = dot + 1; plain && j < n; j++)
    plain = s[j] >= '0' && s[j] <= '9';
  if (!plain) {
    *ns = (int64_t)(d * 1e9);
    return 0;
  }
  for (size_t j = i; j < dot; j++)
    sec = sec * 10 + (s[j] - '0');
  for (size_t j = dot + 1; j < n && scale > 1; j++) {
    scale /= 10;
    frac += (s[j] - '0') * scale;
  }
  *ns = sec * 1000000000 + frac;
  return 0;
}

/* Skips a quoted label value; i is at the opening quote. Returns the index
 * after the closing quote, or len when there is none. */
static size_t skip_quoted(const char *s, size_t i, size_t len) {
  for (i++; i < len && s[i] != '"'; i++)
    if (s[i] == '\\')
      i++;
  return i < len ? i + 1 : len;
}

/* An exemplar: "# {labels} value [timestamp]"; i is at the '#'. It is
 * checked and dropped: tower metrics have no place for it (Prometheus
 * keeps exemplars only when asked to). */
static int scan_exemplar(tower_parser *p, const pl_line *L, size_t i) {
  const char *s = L->s;
  size_t at = i;
  i = skip_blanks(s, i + 1, L->len);
  if (i == L->len || s[i] != '{')
    return twi_parser_error(p, i + 1, "expected '{' to open the labels of an exemplar");
  while (++i < L->len && s[i] != '}')
    if (s[i] == '"')
      i = skip_quoted(s, i, L->len) - 1;
  if (i >= L->len)
    return twi_parser_error(p, L->len + 1, "expected '}' to close the labels of an exemplar");
  i = skip_blanks(s, i + 1, L->len);
  size_t e = token_end(s, i, L->len);
  double v;
  if (i == L->len || twi_prom_parse_float(s + i, e - i, &v) < 0)
    return twi_parser_error(p, i + 1, "expected the float value of the exemplar at column %zu",
                            at + 1);
  i = skip_blanks(s, e, L->len);
  e = token_end(s, i, L->len);
  int64_t ns;
  if (i < L->len && om_seconds(s + i, e - i, &ns) < 0)
    return twi_parser_error(p, i + 1, "expected the exemplar's timestamp (seconds), got \"%.*s\"",
                            qlen(e - i), s + i);
  e = skip_blanks(s, e, L->len);
  return e < L->len ? twi_parser_error(p, e + 1, "unexpected text after the exemplar") : 0;
}

/* What follows an OpenMetrics sample's value: [timestamp] [# exemplar]. */
static int scan_om_tail(tower_parser *p, pl_line *L, size_t i) {
  const char *s = L->s;
  if (s[i] == '#')
    return scan_exemplar(p, L, i);
  size_t e = token_end(s, i, L->len);
  int rc = om_seconds(s + i, e - i, &L->time_ns);
  if (rc == -ERANGE)
    return twi_parser_error(p, i + 1, "timestamp \"%.*s\" out of range", qlen(e - i), s + i);
  if (rc)
    return twi_parser_error(p, i + 1, "expected a timestamp in seconds, got \"%.*s\"", qlen(e - i),
                            s + i);
  L->has_time = true;
  e = skip_blanks(s, e, L->len);
  if (e < L->len && s[e] == '#')
    return scan_exemplar(p, L, e);
  return e < L->len ? twi_parser_error(p, e + 1, "unexpected text after timestamp") : 0;
}

static int scan_sample(tower_parser *p, pl_state *st, pl_line *L, size_t i) {
  const char *s = L->s;
  if (!name_start(s[i]))
    return twi_parser_error(p, i + 1, "expected a metric name");
  L->name = i;
  i = scan_name(s, i, L->len);
  L->name_len = i - L->name;
  if (i < L->len && s[i] != '{' && !blank(s[i]))
    return twi_parser_error(p, i + 1, "expected '{' or a blank after metric name \"%.*s\"",
                            qlen(L->name_len), s + L->name);
  i = skip_blanks(s, i, L->len);
  int rc;
  if (i < L->len && s[i] == '{' && (rc = scan_labels(p, st, L, &i)))
    return rc;
  i = skip_blanks(s, i, L->len);
  if (i == L->len)
    return twi_parser_error(p, i + 1, "expected a sample value");
  size_t e = token_end(s, i, L->len);
  if (twi_prom_parse_float(s + i, e - i, &L->value) < 0)
    return twi_parser_error(p, i + 1, "expected a float sample value, got \"%.*s\"", qlen(e - i),
                            s + i);
  i = skip_blanks(s, e, L->len);
  if (st->om)
    return i < L->len ? scan_om_tail(p, L, i) : 0;
  return i < L->len ? scan_time(p, L, i) : 0;
}

/* ---- samples into metrics ---------------------------------------------- */

/* One metric for a counter, gauge or untyped sample. */
static int emit_simple(pl_ctx *c, int kind) {
  static const struct {
    const char *key;
    size_t len;
  } keys[] = {[TOWER_UNTYPED] = {"value", 5},
              [TOWER_COUNTER] = {"counter", 7},
              [TOWER_GAUGE] = {"gauge", 5}};
  const pl_line *L = c->L;
  pl_state *st = c->st;
  size_t ntags = 0, bytes = keys[kind].len + 1, maxv = 0;
  for (size_t i = 0; i < L->nlabels; i++) {
    const pl_tok *t = &st->tok[i];
    ntags += t->ulen > 0;
    bytes += t->ulen > 0 ? t->klen + t->ulen + 2 : 0;
    maxv = t->esc && t->ulen > maxv ? t->ulen : maxv;
  }
  char *buf = maxv ? scratch(st, maxv) : NULL;
  tower_metric *m =
      maxv && !buf ? NULL
                   : twi_metric_new_sized(L->s + L->name, L->name_len,
                                          time_ns(st, L->has_time, L->time_ns), ntags, 1, bytes);
  if (!m)
    return oom(c->p);
  int rc = tower_metric_set_type(m, (tower_value_type)kind);
  for (size_t i = 0; i < L->nlabels && !rc; i++) {
    const pl_tok *t = &st->tok[st->order[i]];
    if (t->ulen == 0)
      continue;
    const char *v = L->s + t->v;
    if (t->esc) {
      unescape(buf, v, t->vlen);
      v = buf;
    }
    rc = tower_metric_add_tag_n(m, L->s + t->k, t->klen, v, t->ulen);
  }
  rc = rc ? rc : add_float(m, keys[kind].key, keys[kind].len, L->value);
  if (rc) {
    tower_metric_free(m);
    return rc == -ENOMEM ? oom(c->p)
                         : twi_parser_error(c->p, 0, "cannot build the metric (%d)", rc);
  }
  return twi_parser_emit(c->p, m);
}

/* Does `name` (len bytes) name the current family plus `suffix`? */
static bool has_suffix(const pl_family *f, const char *name, size_t len, const char *suffix) {
  size_t sl = strlen(suffix);
  return len == f->len + sl && memcmp(name, f->name, f->len) == 0 &&
         memcmp(name + f->len, suffix, sl) == 0;
}

/* The role of a sample of an OpenMetrics family (OpenMetrics 1.0 names
 * counter samples <family>_total, and every counter, histogram and summary
 * may have a <family>_created), or -1: another family. */
static int om_role(const pl_family *f, const char *name, size_t len) {
  static const char *const gauges[] = {"_info", "_bucket", "_gcount", "_gsum"};
  bool created_ok =
      f->kind == TOWER_COUNTER || f->kind == TOWER_SUMMARY || f->kind == TOWER_HISTOGRAM;
  if (created_ok && has_suffix(f, name, len, "_created"))
    return R_DROP;
  if (f->kind == TOWER_COUNTER && has_suffix(f, name, len, "_total"))
    return R_PLAIN;
  for (size_t i = 0; f->kind == K_OM_GAUGE && i < sizeof gauges / sizeof gauges[0]; i++)
    if (has_suffix(f, name, len, gauges[i]))
      return R_PLAIN;
  return -1;
}

/* The role of a sample in the current family, or -1: another family. */
static int sample_role(const pl_state *st, const pl_family *f, const char *name, size_t len) {
  static const char *const ignored[] = {"_bucket", "_count", "_sum",     "_gcount",
                                        "_gsum",   "_total", "_created", "_info"};
  if (!f->active)
    return -1;
  if (f->len == len && memcmp(f->name, name, len) == 0)
    return R_PLAIN;
  int role = st->om ? om_role(f, name, len) : -1;
  if (role >= 0)
    return role;
  if (f->kind == TOWER_SUMMARY || f->kind == TOWER_HISTOGRAM) {
    if (has_suffix(f, name, len, "_sum"))
      return R_SUM;
    if (has_suffix(f, name, len, "_count"))
      return R_COUNT;
    if (f->kind == TOWER_HISTOGRAM && has_suffix(f, name, len, "_bucket"))
      return R_BUCKET;
  }
  for (size_t i = 0; f->kind == K_IGNORED && i < sizeof ignored / sizeof ignored[0]; i++)
    if (has_suffix(f, name, len, ignored[i]))
      return R_PLAIN;
  return -1;
}

/* The "le" (histogram) or "quantile" (summary) label of the line, or -1. */
static ptrdiff_t special_label(const pl_ctx *c, int kind) {
  const char *want = kind == TOWER_HISTOGRAM ? "le" : kind == TOWER_SUMMARY ? "quantile" : NULL;
  size_t wl = want ? strlen(want) : 0;
  for (size_t i = 0; want && i < c->L->nlabels; i++) {
    const pl_tok *t = &c->st->tok[i];
    if (t->klen == wl && memcmp(c->L->s + t->k, want, wl) == 0)
      return (ptrdiff_t)i;
  }
  return -1;
}

static int parse_special(pl_ctx *c, const pl_tok *t, double *out) {
  const char *v = c->L->s + t->v;
  size_t n = t->vlen;
  if (t->esc) {
    char *buf = scratch(c->st, n);
    if (!buf)
      return oom(c->p);
    n = unescape(buf, v, n);
    v = buf;
  }
  if (twi_prom_parse_float(v, n, out) == 0)
    return 0;
  return twi_parser_error(c->p, t->v + 1,
                          "expected a float as value of label \"%.*s\", got \"%.*s\"", (int)t->klen,
                          c->L->s + t->k, qlen(t->vlen), c->L->s + t->v);
}

/* ---- histogram and summary series -------------------------------------- */

/* A 64-bit hash of the key, eight bytes at a time. */
static uint64_t hash_key(const char *k, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
  for (; n >= 8; k += 8, n -= 8) {
    memcpy(&w, k, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  w = 0;
  memcpy(&w, k, n);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 29);
}

/* The line's label set without the special label and empty values, as a
 * sorted "name\0value\0" key in the scratch buffer. */
static char *build_key(pl_ctx *c, ptrdiff_t special, size_t *len, uint32_t *nlabels) {
  const pl_line *L = c->L;
  pl_state *st = c->st;
  size_t n = 0;
  for (size_t i = 0; i < L->nlabels; i++)
    n += st->tok[i].klen + st->tok[i].ulen + 2;
  char *key = scratch(st, n + 1), *o = key;
  if (!key)
    return NULL;
  *nlabels = 0;
  for (size_t i = 0; i < L->nlabels; i++) {
    const pl_tok *t = &st->tok[st->order[i]];
    if (t->ulen == 0 || (ptrdiff_t)st->order[i] == special)
      continue;
    memcpy(o, L->s + t->k, t->klen);
    o += t->klen;
    *o++ = '\0';
    o += t->esc ? unescape(o, L->s + t->v, t->vlen) : (memcpy(o, L->s + t->v, t->vlen), t->vlen);
    *o++ = '\0';
    ++*nlabels;
  }
  *len = (size_t)(o - key);
  return key;
}

static bool series_is(const pl_series *s, uint64_t h, const char *key, size_t len) {
  return s->hash == h && s->key_len == len && memcmp(s->key, key, len) == 0;
}

static pl_series *find_series(pl_family *f, uint64_t h, const char *key, size_t len) {
  for (size_t i = h & (f->icap - 1); f->icap && f->index[i]; i = (i + 1) & (f->icap - 1)) {
    pl_series *s = f->series[f->index[i] - 1];
    if (series_is(s, h, key, len)) {
      f->last = f->index[i] - 1;
      return s;
    }
  }
  return NULL;
}

static void index_put(pl_family *f, size_t at) {
  size_t i = f->series[at]->hash & (f->icap - 1);
  while (f->index[i])
    i = (i + 1) & (f->icap - 1);
  f->index[i] = (uint32_t)(at + 1);
}

/* Room for one more series in the table and the index (kept half empty). */
static int grow_family(pl_family *f) {
  if (f->nseries == f->scap) {
    size_t cap = f->scap ? 2 * f->scap : 16;
    pl_series **s = realloc(f->series, cap * sizeof *s);
    if (!s)
      return -ENOMEM;
    f->series = s;
    f->scap = cap;
  }
  if (2 * (f->nseries + 1) > f->icap) {
    size_t cap = f->icap ? 2 * f->icap : 32;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
      return -ENOMEM;
    free(f->index);
    f->index = idx;
    f->icap = cap;
    for (size_t i = 0; i < f->nseries; i++)
      index_put(f, i);
  }
  return 0;
}

/* Keeps the held state bounded: emits what is held when one more series
 * would pass the limits. */
static int make_room(tower_parser *p, pl_state *st, size_t bytes) {
  pl_family *f = &st->fam;
  if (f->nseries < TWI_PROM_MAX_SERIES && f->bytes + bytes <= TWI_PROM_MAX_FAMILY_BYTES)
    return 0;
  if (!f->warned)
    tower_warn(p->ctx,
               "prometheus: family \"%s\" holds more than %d series or %u bytes; emitting them "
               "early, so series continued later in the family come out in two parts",
               f->name, TWI_PROM_MAX_SERIES, TWI_PROM_MAX_FAMILY_BYTES);
  f->warned = true;
  return emit_series(p, st);
}

static pl_series *new_series(pl_ctx *c, uint64_t h, const char *key, size_t len, uint32_t nlabels) {
  pl_family *f = &c->st->fam;
  size_t bytes = sizeof(pl_series) + len;
  if (make_room(c->p, c->st, bytes) < 0)
    return NULL;
  pl_series *s = grow_family(f) == 0 ? calloc(1, bytes) : NULL;
  if (!s) {
    oom(c->p);
    return NULL;
  }
  s->hash = h;
  s->bounds = s->inline_b;
  s->values = s->inline_b + INLINE_BUCKETS;
  s->bcap = INLINE_BUCKETS;
  s->nlabels = nlabels;
  s->key_len = len;
  memcpy(s->key, key, len);
  f->series[f->nseries] = s;
  index_put(f, f->nseries);
  f->last = f->nseries++;
  f->bytes += bytes;
  return s;
}

static int add_bucket(pl_ctx *c, pl_series *s, size_t col, double bound, double v) {
  /* Bit equality, so that 0 and -0 stay two fields as in Telegraf. */
  for (uint32_t i = s->nb; i-- > 0;)
    if (memcmp(&s->bounds[i], &bound, sizeof bound) == 0) {
      s->values[i] = v;
      return 0;
    }
  if (s->nb == TWI_PROM_MAX_BUCKETS)
    return twi_parser_error(c->p, col,
                            "too many buckets or quantiles in one series of \"%s\": "
                            "at most %d",
                            c->st->fam.name, TWI_PROM_MAX_BUCKETS);
  if (s->nb == s->bcap) {
    uint32_t cap = 2 * s->bcap;
    double *b = malloc(2 * (size_t)cap * sizeof *b);
    if (!b)
      return oom(c->p);
    memcpy(b, s->bounds, s->nb * sizeof *b); /* bounds, then values */
    memcpy(b + cap, s->values, s->nb * sizeof *b);
    if (s->bounds != s->inline_b)
      free(s->bounds);
    s->bounds = b;
    s->values = b + cap;
    c->st->fam.bytes += 2 * (size_t)cap * sizeof *b;
    s->bcap = cap;
  }
  s->bounds[s->nb] = bound;
  s->values[s->nb++] = v;
  return 0;
}

static int add_grouped(pl_ctx *c, int role, ptrdiff_t special, double bound) {
  pl_family *f = &c->st->fam;
  size_t len;
  uint32_t nlabels;
  /* Bucket growth counts too: over the budget, what is held goes out. */
  if (f->bytes > TWI_PROM_MAX_FAMILY_BYTES && make_room(c->p, c->st, 0) < 0)
    return c->p->sink_rc;
  char *key = build_key(c, special, &len, &nlabels);
  if (!key)
    return oom(c->p);
  /* A series' lines usually follow each other: try the last one first. */
  pl_series *s = f->last < f->nseries ? f->series[f->last] : NULL;
  uint64_t h = s && s->key_len == len && memcmp(s->key, key, len) == 0 ? s->hash : 0;
  if (!h) {
    h = hash_key(key, len);
    s = find_series(f, h, key, len);
  }
  if (!s && !(s = new_series(c, h, key, len, nlabels)))
    return c->p->sink_rc ? c->p->sink_rc : -ENOMEM;
  double v = c->L->value;
  if (c->L->has_time) {
    s->time_ns = c->L->time_ns;
    s->has_time = true;
  }
  size_t col = special >= 0 ? c->st->tok[special].k + 1 : 0;
  if (role == R_SUM)
    s->sum = v;
  else if (role == R_COUNT)
    s->count = twi_prom_count(v);
  else if (special >= 0 && f->kind == TOWER_HISTOGRAM)
    return add_bucket(c, s, col, bound, twi_prom_count(v));
  else if (special >= 0 && !isnan(v)) /* Telegraf skips NaN quantiles */
    return add_bucket(c, s, col, bound, v);
  return 0;
}

static int handle_sample(pl_ctx *c) {
  pl_family *f = &c->st->fam;
  const pl_line *L = c->L;
  int role = sample_role(c->st, f, L->s + L->name, L->name_len);
  int kind = role < 0 ? TOWER_UNTYPED : f->kind;
  ptrdiff_t special = special_label(c, kind);
  double bound = 0;
  int rc = sort_labels(c);
  if (!rc && special >= 0)
    rc = parse_special(c, &c->st->tok[special], &bound);
  if (rc)
    return rc;
  if (role < 0 && (rc = start_family(c->p, c->st, L->s + L->name, L->name_len)))
    return rc;
  f->samples = true;
  if (kind == K_IGNORED || role == R_DROP)
    return 0;
  if (kind == K_OM_GAUGE)
    kind = TOWER_GAUGE;
  if (kind == TOWER_HISTOGRAM || kind == TOWER_SUMMARY)
    return add_grouped(c, role < 0 ? R_PLAIN : role, special, bound);
  return isnan(L->value) ? 0 : emit_simple(c, kind); /* Telegraf skips NaN */
}

/* ---- entry points ------------------------------------------------------ */

/* A line after "# EOF": one error per document, the lines are ignored. */
static int after_eof(tower_parser *p, pl_state *st) {
  if (st->om_after_eof)
    return 0;
  st->om_after_eof = true;
  return twi_parser_error(p, 1, "text after \"# EOF\" (ignored up to the end of the document)");
}

int twi_prom_parse_line(tower_parser *p, const char *line, size_t len) {
  pl_state *st = p->state;
  /* A document's first line: drop what an aborted document (a sink error
   * skips parse_end) left held, so that it cannot merge into this one. */
  if (p->lineno == 1 && st->fam.active) {
    clear_series(&st->fam);
    st->fam.active = false;
  }
  if (p->lineno == 1)
    st->om_eof = st->om_after_eof = false;
  size_t i = skip_blanks(line, 0, len);
  if (i == len)
    return 0;
  if (st->om_eof)
    return after_eof(p, st);
  if (line[i] == '#')
    return parse_comment(p, st, line, len, i + 1);
  if (len > UINT32_MAX - 1)
    return twi_parser_error(p, 0, "line longer than %u bytes", UINT32_MAX - 1);
  pl_line L = {.s = line, .len = len};
  pl_ctx c = {p, st, &L};
  int rc = scan_sample(p, st, &L, i);
  if (!rc)
    rc = handle_sample(&c);
  if (st->tok_cap > KEEP_TOKS || st->scratch_cap > KEEP_SCRATCH)
    trim_state(st);
  return rc;
}

int twi_prom_parse_end(tower_parser *p) {
  pl_state *st = p->state;
  int rc = end_family(p, st);
  trim_state(st);
  /* Prometheus fails such a scrape; the metrics read are kept here (the
   * transport tells whether the body was complete). */
  if (st->om && !st->om_eof && rc == 0)
    twi_parser_error(p, 0, "OpenMetrics text without \"# EOF\" at its end: cut short?");
  st->om_eof = st->om_after_eof = false;
  return rc;
}
