/* Generic parser and serializer: format lookup, line splitting with bounded
 * partial-line buffering, line numbers, error reporting. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/plugin.h>

#include "format_internal.h"

/* Longest line a line-based parser accepts, and largest document for the
 * others, unless the format sets its own. Lines longer than this are errors
 * rather than unbounded memory. */
#define DEFAULT_MAX_LINE (1u << 20)

static const twi_format *const formats[] = {
    &twi_format_influx, &twi_format_csv,        &twi_format_json,
    &twi_format_value,  &twi_format_prometheus, &twi_format_openmetrics,
};

#define NFORMATS (sizeof formats / sizeof formats[0])

const twi_format *twi_format_at(size_t i) {
  return i < NFORMATS ? formats[i] : NULL;
}

const twi_format *twi_format_find(const char *name) {
  for (size_t i = 0; i < NFORMATS; i++)
    if (name && strcmp(formats[i]->name, name) == 0)
      return formats[i];
  return NULL;
}

/* ---- option tables for parsing/serializing plugins -------------------- */

static tower_option parser_opts[64], serializer_opts[64];
static char parser_choices[256], serializer_choices[256];
static pthread_once_t opts_once = PTHREAD_ONCE_INIT;

static void add_choice(char *choices, size_t size, const char *name) {
  size_t len = strlen(choices);
  snprintf(choices + len, size - len, "%s%s", len ? "|" : "", name);
}

/* data_format followed by every format's own options, so a block may carry
 * the options of the format it selects. */
static void build_table(tower_option *table, size_t cap, char *choices, size_t csize,
                        bool parsers) {
  size_t n = 1;
  for (size_t i = 0; i < NFORMATS; i++) {
    const twi_format *f = formats[i];
    bool has = parsers ? (f->parse_line || f->parse_document) : f->serialize != NULL;
    if (!has)
      continue;
    add_choice(choices, csize, f->name);
    const tower_option *o = parsers ? f->parser_options : f->serializer_options;
    for (; o && o->name && n + 1 < cap; o++)
      table[n++] = *o;
  }
  table[0] =
      (tower_option){.name = "data_format",
                     .type = TOWER_OPT_ENUM,
                     .default_value = "influx",
                     .choices = choices,
                     .help = parsers ? "format of the data read" : "format of the data written"};
  table[n] = (tower_option){0};
}

static void build_tables(void) {
  build_table(parser_opts, 64, parser_choices, sizeof parser_choices, true);
  build_table(serializer_opts, 64, serializer_choices, sizeof serializer_choices, false);
}

const tower_option *twi_parser_common_options(void) {
  pthread_once(&opts_once, build_tables);
  return parser_opts;
}

const tower_option *twi_serializer_common_options(void) {
  pthread_once(&opts_once, build_tables);
  return serializer_opts;
}

/* ---- parser ----------------------------------------------------------- */

static int parser_create(const tower_ctx *ctx, const char *format, const tower_config *cfg,
                         tower_parser **out) {
  const twi_format *f = twi_format_find(format);
  if (!f || !(f->parse_line || f->parse_document)) {
    tower_error(ctx, "data_format \"%s\" cannot be parsed; choose one of: %s", format ? format : "",
                (twi_parser_common_options(), parser_choices));
    return -EINVAL;
  }
  tower_parser *p = calloc(1, sizeof *p);
  if (!p)
    return -ENOMEM;
  p->fmt = f;
  p->ctx = ctx;
  p->max_line = DEFAULT_MAX_LINE;
  if (f->parser_init) {
    int rc = f->parser_init(p, cfg);
    if (rc < 0) {
      free(p);
      return rc;
    }
  }
  *out = p;
  return 0;
}

int tower_parser_new(const tower_ctx *ctx, const tower_config *cfg, tower_parser **out) {
  const char *format = cfg ? tower_config_string(cfg, "data_format") : NULL;
  return parser_create(ctx, format ? format : "influx", cfg, out);
}

int tower_parser_new_format(const tower_ctx *ctx, const char *format, tower_parser **out) {
  return parser_create(ctx, format, NULL, out);
}

void tower_parser_free(tower_parser *p) {
  if (!p)
    return;
  if (p->fmt->parser_fini)
    p->fmt->parser_fini(p);
  free(p->source);
  free(p->default_name);
  free(p->pending);
  free(p);
}

void tower_parser_set_source(tower_parser *p, const char *source) {
  char *s = source ? strdup(source) : NULL;
  free(p->source);
  p->source = s;
  p->source_fn = NULL;
}

void tower_parser_set_source_fn(tower_parser *p, tower_source_fn name, void *ctx) {
  free(p->source);
  p->source = NULL;
  p->source_fn = name;
  p->source_ctx = ctx;
}

/* The source for an error message, "" when the data has no name. */
static const char *source_name(const tower_parser *p, char *buf, size_t size) {
  buf[0] = '\0';
  if (p->source_fn)
    p->source_fn(p->source_ctx, buf, size);
  return p->source ? p->source : buf;
}

int tower_parser_set_default_name(tower_parser *p, const char *name) {
  char *s = name ? strdup(name) : NULL;
  if (name && !s)
    return -ENOMEM;
  free(p->default_name);
  p->default_name = s;
  return 0;
}

uint64_t tower_parser_errors(const tower_parser *p) {
  return p->errors;
}

const char *tower_parser_last_error(const tower_parser *p) {
  return p->last_error[0] ? p->last_error : NULL;
}

int twi_parser_emit(tower_parser *p, tower_metric *m) {
  if (p->sink_rc) {
    tower_metric_free(m);
    return p->sink_rc;
  }
  int rc = p->sink(p->sink_ctx, m);
  if (rc < 0)
    p->sink_rc = rc;
  else
    p->emitted++;
  return rc < 0 ? rc : 0;
}

int twi_parser_error(tower_parser *p, size_t column, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  p->errors++;
  if (column)
    snprintf(p->last_error, sizeof p->last_error, "line %llu, column %zu: %s",
             (unsigned long long)p->lineno, column, msg);
  else
    snprintf(p->last_error, sizeof p->last_error, "line %llu: %s", (unsigned long long)p->lineno,
             msg);
  char buf[384];
  const char *source = source_name(p, buf, sizeof buf);
  tower_log(p->ctx, TOWER_LOG_ERROR, "%s parse error%s%s at %s", p->fmt->name,
            source[0] ? " in " : "", source, p->last_error);
  return -EINVAL;
}

static int pending_append(tower_parser *p, const char *data, size_t len) {
  if (len == 0) /* an empty chunk (a command that printed nothing) */
    return 0;
  if (p->pending_len + len > p->pending_cap) {
    size_t cap = p->pending_cap ? p->pending_cap : 256;
    while (cap < p->pending_len + len)
      cap *= 2;
    char *n = realloc(p->pending, cap);
    if (!n)
      return -ENOMEM;
    p->pending = n;
    p->pending_cap = cap;
  }
  memcpy(p->pending + p->pending_len, data, len);
  p->pending_len += len;
  return 0;
}

static void handle_line(tower_parser *p, const char *line, size_t len) {
  p->lineno++;
  if (len && line[len - 1] == '\r')
    len--;
  p->fmt->parse_line(p, line, len);
}

/* Line-based feeding: complete lines are parsed in place, a trailing partial
 * line is kept, and a line over max_line is reported once and skipped. */
static void feed_lines(tower_parser *p, const char *data, size_t len) {
  const char *end = data + len;
  while (data < end && !p->sink_rc) {
    const char *nl = memchr(data, '\n', (size_t)(end - data));
    size_t chunk = nl ? (size_t)(nl - data) : (size_t)(end - data);
    if (p->skipping) {
      if (nl)
        p->skipping = false;
    } else if (p->pending_len + chunk > p->max_line) {
      p->lineno++;
      twi_parser_error(p, 0, "line longer than %zu bytes; skipped", p->max_line);
      p->pending_len = 0;
      p->skipping = !nl;
    } else if (!nl) {
      if (pending_append(p, data, chunk) < 0)
        p->sink_rc = -ENOMEM;
    } else if (p->pending_len) {
      if (pending_append(p, data, chunk) < 0) {
        p->sink_rc = -ENOMEM;
        break;
      }
      handle_line(p, p->pending, p->pending_len);
      p->pending_len = 0;
    } else {
      handle_line(p, data, chunk);
    }
    data += chunk + (nl ? 1 : 0);
  }
}

static void begin(tower_parser *p, tower_sink_fn sink, void *sink_ctx) {
  p->sink = sink;
  p->sink_ctx = sink_ctx;
  p->sink_rc = 0;
  p->emitted = 0;
}

int tower_parser_feed(tower_parser *p, const char *data, size_t len, tower_sink_fn sink,
                      void *sink_ctx) {
  begin(p, sink, sink_ctx);
  if (p->fmt->parse_line) {
    feed_lines(p, data, len);
  } else if (p->skipping) {
    /* document already over the limit; swallow the rest */
  } else if (p->pending_len + len > p->max_line) {
    twi_parser_error(p, 0, "document larger than %zu bytes; skipped", p->max_line);
    p->pending_len = 0;
    p->skipping = true;
  } else if (pending_append(p, data, len) < 0) {
    p->sink_rc = -ENOMEM;
  }
  return p->sink_rc ? p->sink_rc : p->emitted;
}

int tower_parser_end(tower_parser *p, tower_sink_fn sink, void *sink_ctx) {
  begin(p, sink, sink_ctx);
  if (p->fmt->parse_line) {
    if (p->pending_len && !p->skipping)
      handle_line(p, p->pending, p->pending_len);
  } else if (!p->skipping) {
    p->lineno = 1;
    p->fmt->parse_document(p, p->pending ? p->pending : "", p->pending_len);
  }
  /* Even after a sink error: the format must release what it holds, and
   * whatever it still emits is discarded by twi_parser_emit. */
  if (p->fmt->parse_end)
    p->fmt->parse_end(p);
  p->pending_len = 0;
  p->skipping = false;
  p->lineno = 0;
  return p->sink_rc ? p->sink_rc : p->emitted;
}

int tower_parser_parse(tower_parser *p, const char *data, size_t len, tower_sink_fn sink,
                       void *sink_ctx) {
  int n = tower_parser_feed(p, data, len, sink, sink_ctx);
  int m = tower_parser_end(p, sink, sink_ctx); /* resets the parser either way */
  if (n < 0)
    return n;
  return m < 0 ? m : n + m;
}

/* ---- serializer ------------------------------------------------------- */

static int serializer_create(const tower_ctx *ctx, const char *format, const tower_config *cfg,
                             tower_serializer **out) {
  const twi_format *f = twi_format_find(format);
  if (!f || !f->serialize) {
    tower_error(ctx, "data_format \"%s\" cannot be written; choose one of: %s",
                format ? format : "", (twi_serializer_common_options(), serializer_choices));
    return -EINVAL;
  }
  tower_serializer *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->fmt = f;
  s->ctx = ctx;
  if (f->serializer_init) {
    int rc = f->serializer_init(s, cfg);
    if (rc < 0) {
      free(s);
      return rc;
    }
  }
  *out = s;
  return 0;
}

int tower_serializer_new(const tower_ctx *ctx, const tower_config *cfg, tower_serializer **out) {
  const char *format = cfg ? tower_config_string(cfg, "data_format") : NULL;
  return serializer_create(ctx, format ? format : "influx", cfg, out);
}

int tower_serializer_new_format(const tower_ctx *ctx, const char *format, tower_serializer **out) {
  return serializer_create(ctx, format, NULL, out);
}

void tower_serializer_free(tower_serializer *s) {
  if (!s)
    return;
  if (s->fmt->serializer_fini)
    s->fmt->serializer_fini(s);
  free(s);
}

int tower_serialize(tower_serializer *s, const tower_metric *m, tower_buf *out) {
  return s->fmt->serialize(s, m, out);
}

int tower_serialize_batch(tower_serializer *s, const tower_metric *const *ms, size_t n,
                          tower_buf *out) {
  if (s->fmt->serialize_batch)
    return s->fmt->serialize_batch(s, ms, n, out);
  int written = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = s->fmt->serialize(s, ms[i], out);
    if (rc == -ENOMEM)
      return rc;
    written += rc == 0;
  }
  return written;
}
