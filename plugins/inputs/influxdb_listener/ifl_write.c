/* A write: line protocol into metrics, into the pipeline, and InfluxDB's
 * answer.
 *
 * The body is parsed a line at a time with the SDK's parser, so that each
 * bad line is known with its number and text: InfluxDB 1.x keeps the good
 * lines of a body and answers 400 with every bad one ("partial write:
 * unable to parse '<line>': <why>\n... dropped=0"), and so does tower, the
 * reason carrying the line and column. A body whose every line is bad is
 * answered without "partial write", as influxd does.
 *
 * Timestamps are in the request's precision (influxd's names: n/ns, u/us,
 * ms, s, m, h for 1.x; ns, us, ms, s for 2.x); a line without one gets
 * the time the request arrived, truncated to the precision, as influxd
 * gives it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "influxdb_listener.h"

/* ---- parameters ----------------------------------------------------------- */

static const char *arg(struct MHD_Connection *c, const char *key) {
  const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
  return v && *v ? v : NULL;
}

/* ns per unit of a 1.x precision. influxd 1.x takes any other value as
 * ns, and so does tower (a client relying on that keeps working). */
static int64_t v1_precision(const char *p) {
  static const struct {
    const char *name;
    int64_t ns;
  } units[] = {{"u", 1000},       {"us", 1000},         {"ms", 1000000},
               {"s", 1000000000}, {"m", 60000000000LL}, {"h", 3600000000000LL}};
  for (size_t i = 0; p && i < sizeof units / sizeof *units; i++)
    if (strcmp(p, units[i].name) == 0)
      return units[i].ns;
  return 1;
}

/* ns per unit of a 2.x precision; 0 for a value 2.x refuses. */
static int64_t v2_precision(const char *p) {
  if (!p || strcmp(p, "ns") == 0)
    return 1;
  if (strcmp(p, "us") == 0)
    return 1000;
  if (strcmp(p, "ms") == 0)
    return 1000000;
  return strcmp(p, "s") == 0 ? 1000000000 : 0;
}

void ifl_write_params(ifl_state *s, ifl_req *r, struct MHD_Connection *c) {
  const char *precision = arg(c, "precision");
  if (r->route == IFL_WRITE_V1) {
    r->db = arg(c, "db");
    r->rp = arg(c, "rp");
    r->precision = v1_precision(precision);
    ifl_db_seen(s, r->db);
  } else {
    r->bucket = arg(c, "bucket");
    r->precision = v2_precision(precision);
    if (!r->precision) {
      r->early = (ifl_answer){MHD_HTTP_BAD_REQUEST,
                              "invalid precision; valid precision units are ns, us, ms, and s"};
      return;
    }
  }
  int64_t now = tower_now();
  r->now = now - now % r->precision;
}

/* ---- parsing ---------------------------------------------------------------- */

static int push(ifl_req *r, tower_metric *m) {
  if (r->n == r->ms_cap) {
    size_t cap = r->ms_cap ? r->ms_cap * 2 : 256;
    tower_metric **v = realloc(r->ms, cap * sizeof *v);
    if (!v) {
      tower_metric_free(m);
      return -ENOMEM;
    }
    r->ms = v;
    r->ms_cap = cap;
  }
  r->ms[r->n++] = m;
  return 0;
}

static int add_tag(tower_metric *m, const char *key, const char *value) {
  return key && value ? tower_metric_add_tag(m, key, value) : 0;
}

/* The parser's sink: the request's precision and default time, the
 * database/retention policy/bucket tags. A metric whose time does not fit
 * in ns is refused (r->sink_error names why). */
static int sink(void *arg, tower_metric *m) {
  ifl_state *s = ((void **)arg)[0];
  ifl_req *r = ((void **)arg)[1];
  int64_t t = tower_metric_time(m);
  if (t == TOWER_TIME_UNSET) {
    t = r->now;
  } else if (r->precision != 1 && __builtin_mul_overflow(t, r->precision, &t)) {
    r->sink_error = "timestamp out of range for the precision";
    tower_metric_free(m);
    return 0;
  }
  int rc = tower_metric_set_time(m, t);
  if (rc == 0 && r->route == IFL_WRITE_V1) {
    rc = add_tag(m, s->database_tag, r->db);
    rc = rc ? rc : add_tag(m, s->rp_tag, r->rp);
  } else if (rc == 0) {
    rc = add_tag(m, s->bucket_tag, r->bucket);
  }
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return push(r, m);
}

/* Appends a line's text with its NUL bytes (which end C strings) shown
 * as spaces. */
static int append_text(tower_buf *b, const char *text, size_t len) {
  int rc = 0;
  while (len && rc == 0) {
    const char *nul = memchr(text, '\0', len);
    size_t run = nul ? (size_t)(nul - text) : len;
    rc = tower_buf_append(b, text, run);
    if (rc == 0 && nul)
      rc = tower_buf_append(b, " ", 1);
    run += nul ? 1 : 0;
    text += run;
    len -= run;
  }
  return rc;
}

/* Names a bad line in r->errors: "unable to parse '<line>': <why>", one
 * per line, as influxd words it. */
static int name_bad_line(ifl_req *r, const char *line, size_t len, const char *why) {
  r->nerrors++;
  if (r->nerrors > IFL_MAX_ERRORS)
    return 0;
  tower_buf *b = r->errors;
  bool cut = len > IFL_QUOTE_MAX;
  int rc = tower_buf_len(b) ? tower_buf_append(b, "\n", 1) : 0;
  rc = rc ? rc : tower_buf_append_str(b, "unable to parse '");
  rc = rc ? rc : append_text(b, line, cut ? IFL_QUOTE_MAX : len);
  rc = rc ? rc : tower_buf_printf(b, "%s': %s", cut ? "..." : "", why);
  return rc;
}

static int discard(void *arg, tower_metric *m) {
  (void)arg;
  tower_metric_free(m);
  return 0;
}

/* Parses one line: `len` bytes and, when `nl`, its newline (the last line
 * of a body may have none). The parser numbers the lines it is fed until
 * tower_parser_end(), so its messages carry the body's line numbers. */
static int parse_line(ifl_state *s, ifl_req *r, const char *line, size_t len, bool nl,
                      uint64_t lineno) {
  void *sink_arg[2] = {s, r};
  uint64_t bad = tower_parser_errors(r->parser);
  r->sink_error = NULL;
  int rc = tower_parser_feed(r->parser, line, len + nl, sink, sink_arg);
  if (rc >= 0 && !nl)
    rc = tower_parser_end(r->parser, sink, sink_arg);
  if (rc < 0)
    return rc; /* out of memory */
  if (tower_parser_errors(r->parser) != bad) {
    const char *why = tower_parser_last_error(r->parser);
    return name_bad_line(r, line, len, why ? why : "invalid line");
  }
  if (r->sink_error) {
    char why[128];
    snprintf(why, sizeof why, "line %llu: %s", (unsigned long long)lineno, r->sink_error);
    return name_bad_line(r, line, len, why);
  }
  return 0;
}

int ifl_write_parse(ifl_state *s, ifl_req *r) {
  if (!r->parser) {
    int rc = tower_parser_new_format(s->ctx, "influx", &r->parser);
    if (rc)
      return rc;
  }
  if (!r->errors && !(r->errors = tower_buf_new(0)))
    return -ENOMEM;
  char source[96];
  snprintf(source, sizeof source, "the body from %s", r->client);
  tower_parser_set_source(r->parser, source);
  const char *p = r->body, *end = r->body + r->len;
  uint64_t lineno = 0;
  int rc = 0;
  while (p < end && rc == 0) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    rc = parse_line(s, r, p, len, nl != NULL, ++lineno);
    p += len + 1;
  }
  if (r->len && end[-1] == '\n')
    tower_parser_end(r->parser, discard, NULL); /* nothing pending: resets the numbering */
  atomic_fetch_add(&s->lines, r->n);
  atomic_fetch_add(&s->bad_lines, r->nerrors);
  return rc;
}

/* ---- into the pipeline, and the answer ---------------------------------------- */

int ifl_write_commit(ifl_state *s, ifl_req *r, ifl_wait *wait) {
  int rc = 0;
  pthread_mutex_lock(&s->acc_lock);
  for (size_t i = 0; i < r->n; i++)
    if (tower_acc_add(s->acc, r->ms[i]) < 0) /* takes it over even then */
      rc = -ENOMEM;
  r->accepted = r->n;
  r->n = 0;
  int crc =
      wait ? tower_acc_commit_tracked(s->acc, ifl_wait_delivered, wait) : tower_acc_commit(s->acc);
  pthread_mutex_unlock(&s->acc_lock);
  return rc ? rc : crc;
}

enum MHD_Result ifl_write_answer(ifl_state *s, ifl_req *r, struct MHD_Connection *c) {
  if (r->nerrors == 0)
    return ifl_reply(s, c, MHD_HTTP_NO_CONTENT, NULL, 0, NULL);
  tower_buf *m = tower_buf_new(tower_buf_len(r->errors) + 96);
  bool partial = r->accepted > 0;
  int rc = m ? 0 : -ENOMEM;
  rc = rc || !partial ? rc : tower_buf_append_str(m, "partial write: ");
  rc = rc ? rc : tower_buf_append(m, tower_buf_data(r->errors), tower_buf_len(r->errors));
  if (rc == 0 && r->nerrors > IFL_MAX_ERRORS)
    rc = tower_buf_printf(m, "\n(and %zu more bad lines)", r->nerrors - IFL_MAX_ERRORS);
  /* influxd's dropped= counts points refused after parsing: none here. */
  rc = rc || !partial ? rc : tower_buf_append_str(m, " dropped=0");
  enum MHD_Result res =
      rc ? MHD_NO : ifl_reply_error(s, c, r->route, MHD_HTTP_BAD_REQUEST, tower_buf_data(m));
  tower_buf_free(m);
  return res;
}

void ifl_write_discard(ifl_req *r) {
  for (size_t i = 0; i < r->n; i++)
    tower_metric_free(r->ms[i]);
  r->n = 0;
}
