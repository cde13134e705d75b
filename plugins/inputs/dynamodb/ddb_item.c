/* A DynamoDB item into a tower metric (README.md, "Metrics").
 *
 * An item is a JSON object of attribute name -> AttributeValue, where an
 * AttributeValue is an object with exactly one type key: {"S": "text"},
 * {"N": "12.5"}, {"BOOL": true}, {"NULL": true}, {"B": "base64"},
 * {"M": {...}}, {"L": [...]}, {"SS": [...]}, {"NS": [...]}, {"BS": [...]}.
 * Maps are flattened into their leaves ("address" + "_" + "city"); every
 * leaf then becomes the timestamp, a tag or a field by its flattened name.
 * Values that have no scalar form (lists and sets) become JSON text: the
 * shape a person would write, without DynamoDB's type wrappers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamodb.h"

int ddb_scratch_init(ddb_scratch *sc) {
  sc->key = tower_buf_new(256);
  sc->text = tower_buf_new(1024);
  return sc->key && sc->text ? 0 : -ENOMEM;
}

void ddb_scratch_fini(ddb_scratch *sc) {
  tower_buf_free(sc->key);
  tower_buf_free(sc->text);
  sc->key = sc->text = NULL;
}

/* The type key of an AttributeValue ("S", "M"...) and its value; NULL when
 * `av` is not an object with exactly one member. */
static const char *av_type(const json_t *av, json_t **val) {
  if (!json_is_object(av) || json_object_size(av) != 1)
    return NULL;
  void *it = json_object_iter((json_t *)av);
  *val = json_object_iter_value(it);
  return json_object_iter_key(it);
}

static bool is_type(const char *t, const char *want) {
  return strcmp(t, want) == 0;
}

/* ---- number text -------------------------------------------------------------- */

/* -?[0-9]+ */
static bool is_integer_text(const char *s) {
  const char *p = s + (*s == '-');
  if (!*p)
    return false;
  for (; *p; p++)
    if (*p < '0' || *p > '9')
      return false;
  return true;
}

static const char *skip_digits(const char *p) {
  while (*p >= '0' && *p <= '9')
    p++;
  return p;
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s) {
  const char *p = s + (*s == '-'), *q;
  if (*p == '0')
    p++;
  else if (*p >= '1' && *p <= '9')
    p = skip_digits(p);
  else
    return false;
  if (*p == '.') {
    q = skip_digits(p + 1);
    if (q == p + 1)
      return false;
    p = q;
  }
  if (*p == 'e' || *p == 'E') {
    p += 1 + (p[1] == '+' || p[1] == '-');
    q = skip_digits(p);
    if (q == p)
      return false;
    p = q;
  }
  return *p == '\0';
}

/* N: an int64 when the text is a whole number that fits, else a double.
 * DynamoDB sends numbers normalized ("1.5", "1000", never "1.50" or
 * "1E+3"), so "whole number" means digits only. Text that is no number at
 * all (never sent by DynamoDB) is kept as a string rather than lost. */
static int add_number(tower_metric *m, const char *key, const char *s) {
  char *end;
  if (is_integer_text(s)) {
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == 0 && *end == '\0')
      return tower_metric_add_int(m, key, (int64_t)v);
  }
  if (is_json_number(s)) {
    double d = strtod(s, &end);
    if (*end == '\0' && isfinite(d))
      return tower_metric_add_float(m, key, d);
  }
  return tower_metric_add_string(m, key, s);
}

/* ---- plain JSON ------------------------------------------------------------- */

static int put_json_string(tower_buf *out, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  int rc = tower_buf_append(out, "\"", 1);
  size_t run = 0; /* bytes copied as they are, flushed in one append */
  for (size_t i = 0; rc == 0 && i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= 0x20 && ch != '"' && ch != '\\') {
      run++;
      continue;
    }
    rc = tower_buf_append(out, s + i - run, run);
    run = 0;
    char esc[7] = {'\\', (char)ch, 0};
    if (ch == '\n' || ch == '\t' || ch == '\r')
      esc[1] = ch == '\n' ? 'n' : ch == '\t' ? 't' : 'r';
    else if (ch < 0x20)
      snprintf(esc, sizeof esc, "\\u00%c%c", hex[ch >> 4], hex[ch & 15]);
    if (rc == 0)
      rc = tower_buf_append_str(out, esc);
  }
  if (rc == 0)
    rc = tower_buf_append(out, s + len - run, run);
  return rc ? rc : tower_buf_append(out, "\"", 1);
}

static int put_string_value(tower_buf *out, const json_t *v) {
  if (!json_is_string(v))
    return -EINVAL;
  return put_json_string(out, json_string_value(v), json_string_length(v));
}

/* A number exactly as DynamoDB wrote it (up to 38 digits: no double could
 * carry them); text outside JSON's number grammar becomes a JSON string. */
static int put_number_value(tower_buf *out, const json_t *v) {
  if (!json_is_string(v))
    return -EINVAL;
  const char *s = json_string_value(v);
  return is_json_number(s) ? tower_buf_append_str(out, s) : put_string_value(out, v);
}

static int plain_value(const json_t *av, tower_buf *out, int depth);

static int put_set(tower_buf *out, const json_t *arr, bool numbers) {
  if (!json_is_array(arr))
    return -EINVAL;
  int rc = tower_buf_append(out, "[", 1);
  for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
    if (i)
      rc = tower_buf_append(out, ",", 1);
    const json_t *e = json_array_get(arr, i);
    if (rc == 0)
      rc = numbers ? put_number_value(out, e) : put_string_value(out, e);
  }
  return rc ? rc : tower_buf_append(out, "]", 1);
}

static int put_list(tower_buf *out, const json_t *arr, int depth) {
  if (!json_is_array(arr))
    return -EINVAL;
  int rc = tower_buf_append(out, "[", 1);
  for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
    if (i)
      rc = tower_buf_append(out, ",", 1);
    if (rc == 0)
      rc = plain_value(json_array_get(arr, i), out, depth + 1);
  }
  return rc ? rc : tower_buf_append(out, "]", 1);
}

static int put_map(tower_buf *out, const json_t *obj, int depth) {
  if (!json_is_object(obj))
    return -EINVAL;
  int rc = tower_buf_append(out, "{", 1);
  bool first = true;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)obj, k, v) {
    if (rc == 0 && !first)
      rc = tower_buf_append(out, ",", 1);
    first = false;
    if (rc == 0)
      rc = put_json_string(out, k, strlen(k));
    if (rc == 0)
      rc = tower_buf_append(out, ":", 1);
    if (rc == 0)
      rc = plain_value(v, out, depth + 1);
  }
  return rc ? rc : tower_buf_append(out, "}", 1);
}

static int plain_value(const json_t *av, tower_buf *out, int depth) {
  json_t *v;
  const char *t = av_type(av, &v);
  /* jansson bounds nesting when it parses (2048); this bounds our stack. */
  if (!t || depth > 256)
    return -EINVAL;
  if (is_type(t, "S") || is_type(t, "B"))
    return put_string_value(out, v);
  if (is_type(t, "N"))
    return put_number_value(out, v);
  if (is_type(t, "BOOL"))
    return json_is_boolean(v) ? tower_buf_append_str(out, json_is_true(v) ? "true" : "false")
                              : -EINVAL;
  if (is_type(t, "NULL"))
    return tower_buf_append_str(out, "null");
  if (is_type(t, "M"))
    return put_map(out, v, depth);
  if (is_type(t, "L"))
    return put_list(out, v, depth);
  if (is_type(t, "SS") || is_type(t, "BS"))
    return put_set(out, v, false);
  if (is_type(t, "NS"))
    return put_set(out, v, true);
  return -EINVAL;
}

int ddb_plain_json(const json_t *av, tower_buf *out) {
  return plain_value(av, out, 0);
}

/* ---- one item ----------------------------------------------------------------- */

typedef struct conv {
  const ddb_convert *cv;
  ddb_scratch *sc;
  tower_metric *m;
  size_t fields;
  bool have_time;
  int64_t time;
  char *err;
  size_t err_size;
} conv;

static bool is_tag_key(const ddb_convert *cv, const char *key) {
  size_t lo = 0, hi = cv->ntag_keys;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(key, cv->tag_keys[mid]);
    if (c == 0)
      return true;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return false;
}

/* The text of a scalar (S, N, B as they are; BOOL as true/false) or the
 * plain JSON of anything else, in sc->text. */
static int value_text(conv *c, const char *t, const json_t *val, const json_t *av) {
  tower_buf *b = c->sc->text;
  tower_buf_reset(b);
  if ((is_type(t, "S") || is_type(t, "N") || is_type(t, "B")) && json_is_string(val))
    return tower_buf_append_str(b, json_string_value(val));
  if (is_type(t, "BOOL") && json_is_boolean(val))
    return tower_buf_append_str(b, json_is_true(val) ? "true" : "false");
  return ddb_plain_json(av, b);
}

static int take_time(conv *c, const char *key, const char *t, const json_t *val) {
  const char *fmt = c->cv->timestamp_format;
  const char *text = json_is_string(val) ? json_string_value(val) : NULL;
  if (!text || !(is_type(t, "S") || is_type(t, "N"))) {
    snprintf(c->err, c->err_size, "attribute %s is of type %s, not a string or number", key, t);
    return -EINVAL;
  }
  if (tower_parse_time(text, strlen(text), fmt, &c->time) != 0) {
    snprintf(c->err, c->err_size, "attribute %s = \"%.64s\" is not a %s timestamp", key, text, fmt);
    return -EINVAL;
  }
  c->have_time = true;
  return 0;
}

static int add_tag(conv *c, const char *key, const char *t, const json_t *val, const json_t *av) {
  int rc = value_text(c, t, val, av);
  if (rc == -EINVAL) {
    snprintf(c->err, c->err_size, "attribute %s is not a valid %s value", key, t);
    return rc;
  }
  /* An empty tag value cannot be carried by any output: no tag. */
  if (rc == 0 && tower_buf_len(c->sc->text) > 0)
    rc = tower_metric_add_tag(c->m, key, tower_buf_data(c->sc->text));
  return rc;
}

static int add_field(conv *c, const char *key, const char *t, const json_t *val, const json_t *av) {
  int rc;
  if ((is_type(t, "S") || is_type(t, "B")) && json_is_string(val))
    rc = tower_metric_add_string(c->m, key, json_string_value(val));
  else if (is_type(t, "N") && json_is_string(val))
    rc = add_number(c->m, key, json_string_value(val));
  else if (is_type(t, "BOOL") && json_is_boolean(val))
    rc = tower_metric_add_bool(c->m, key, json_is_true(val));
  else if ((rc = value_text(c, t, val, av)) == 0)
    rc = tower_metric_add_string(c->m, key, tower_buf_data(c->sc->text));
  if (rc == -EINVAL)
    snprintf(c->err, c->err_size, "attribute %s is not a valid %s value", key, t);
  else if (rc == 0)
    c->fields++;
  return rc;
}

static int leaf(conv *c, const char *t, const json_t *val, const json_t *av) {
  const char *key = tower_buf_data(c->sc->key);
  if (is_type(t, "NULL"))
    return 0; /* no value to carry */
  if (c->cv->timestamp_key && strcmp(key, c->cv->timestamp_key) == 0)
    return take_time(c, key, t, val);
  if (is_tag_key(c->cv, key))
    return add_tag(c, key, t, val, av);
  return add_field(c, key, t, val, av);
}

static int attribute(conv *c, const json_t *av, int depth);

/* The members of map `obj` under the current key, each as key + separator
 * + member name. */
static int map_members(conv *c, const json_t *obj, int depth) {
  tower_buf *key = c->sc->key;
  size_t base = tower_buf_len(key);
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)obj, k, v) {
    int rc = tower_buf_append_str(key, c->cv->separator);
    if (rc == 0)
      rc = tower_buf_append_str(key, k);
    if (rc == 0)
      rc = attribute(c, v, depth + 1);
    tower_buf_truncate(key, base);
    if (rc)
      return rc;
  }
  return 0;
}

static int attribute(conv *c, const json_t *av, int depth) {
  json_t *val;
  const char *t = av_type(av, &val);
  if (!t) {
    snprintf(c->err, c->err_size, "attribute %s is not a DynamoDB AttributeValue",
             tower_buf_data(c->sc->key));
    return -EINVAL;
  }
  if (is_type(t, "M") && json_is_object(val) && depth < DDB_MAX_DEPTH)
    return map_members(c, val, depth);
  return leaf(c, t, val, av);
}

static int item_attributes(conv *c, json_t *item) {
  const char *k;
  json_t *v;
  json_object_foreach(item, k, v) {
    tower_buf_reset(c->sc->key);
    int rc = tower_buf_append_str(c->sc->key, k);
    if (rc == 0)
      rc = attribute(c, v, 0);
    if (rc)
      return rc;
  }
  return 0;
}

static int finish(conv *c) {
  if (c->cv->timestamp_key && !c->have_time) {
    snprintf(c->err, c->err_size, "no attribute %s for the timestamp", c->cv->timestamp_key);
    return -EINVAL;
  }
  if (c->fields == 0) {
    snprintf(c->err, c->err_size, "no fields (every attribute is a tag, NULL or empty)");
    return -EINVAL;
  }
  return c->have_time ? tower_metric_set_time(c->m, c->time) : 0;
}

int ddb_item_metric(const ddb_convert *cv, const char *name, json_t *item, int64_t default_time,
                    ddb_scratch *sc, tower_metric **out, char *err, size_t err_size) {
  *out = NULL;
  if (!json_is_object(item)) {
    snprintf(err, err_size, "an item is not a JSON object");
    return -EINVAL;
  }
  conv c = {.cv = cv, .sc = sc, .err = err, .err_size = err_size};
  if (!(c.m = tower_metric_new(name, default_time)))
    return -ENOMEM;
  int rc = item_attributes(&c, item);
  if (rc == 0)
    rc = finish(&c);
  if (rc) {
    tower_metric_free(c.m);
    return rc;
  }
  *out = c.m;
  return 0;
}
