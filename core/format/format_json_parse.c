/* JSON parser with the semantics of Telegraf's "json" parser (v1,
 * plugins/parsers/json/parser.go and json_flattener.go, on Go's
 * encoding/json):
 *
 * - The document (after json_query, if set) is an object, which gives one
 *   metric, or an array of objects, which gives one metric each; null or an
 *   empty document gives none. Anything else, or an array element that is
 *   not an object, is an error for the whole document (ErrWrongType).
 * - Objects are flattened: nested keys are joined with '_' ({"a":{"b":1}}
 *   gives a_b), array elements are named by index ({"a":[1,2]} gives a_0,
 *   a_1); nulls are dropped. When two paths flatten to one key, or a key
 *   repeats, the later one in the document wins (Go's map made that
 *   random).
 * - Numbers become float fields (read as Go's ParseFloat does: correctly
 *   rounded). Strings and booleans are dropped unless their flattened key
 *   matches tag_keys (then they, and numbers, become tags: numbers written
 *   as Go's FormatFloat(v, 'f', -1, 64) does, booleans as true/false) or
 *   json_string_fields (strings become string fields, booleans bool
 *   fields). Both are glob lists (Telegraf's filter.Compile); tag_keys is
 *   tried first.
 * - json_name_key: the flattened key whose string value names the metric
 *   (it stays subject to the rules above); otherwise, or when the value is
 *   empty, the parser's default name (the plugin's: "exec"...), else "json".
 * - json_time_key / json_time_format / json_timezone: the flattened key
 *   holding the time (removed from the fields), read as format_json_time.c
 *   says; without a time key metrics get TOWER_TIME_UNSET (the gather's
 *   time). Telegraf reads JSON integers through float64; here integers are
 *   exact, so unix_ns times keep all their digits.
 * - json_strict (default true, as Telegraf): an object that fails (no time
 *   key, bad time) rejects the whole document; false skips that object and
 *   keeps the others. Both report each failure.
 * - json_query: a subset of GJSON paths: keys separated by '.', '\' escapes
 *   the next character, '*' and '?' are wildcards matching the first key
 *   that fits (as does a plain key when it repeats: gjson takes the first),
 *   a number indexes an array, '#' alone gives an array's length and '#'
 *   followed by more path maps the rest over the elements
 *   ("items.#.attrs"). Modifiers (@), queries (#(...)), pipes (|) and
 *   multipaths are refused when the parser is built. A path that leads
 *   nowhere, or to null, gives no metrics (Telegraf: gjson.Null).
 *
 * Where this differs from Telegraf, on purpose:
 * - an object that yields no field gives no metric (Telegraf builds one,
 *   which its inputs then drop for having no fields);
 * - empty keys and empty tag values are dropped (no output can carry them);
 * - a string with a NUL byte (\u0000) used as a tag, field, name or time
 *   fails its object: metric strings are C strings;
 * - leading/trailing white space trimmed is ASCII only (Go also trims
 *   Unicode spaces such as U+00A0); a UTF-8 BOM is skipped as Go does.
 *
 * The document is read by the tokenizer of format_json_lex.c (not jansson:
 * a DOM costs several allocations per value and was 80% of the time), so
 * the JSON accepted, and the decoding of strings (U+FFFD for invalid UTF-8
 * and lone surrogates), are Go's. Errors name the line and column (in
 * characters) of the problem: the offending byte for syntax errors, the
 * start of the offending value otherwise.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/glob.h>

#include "format_json.h"
#include "metric_internal.h"
#include "numfmt.h"

#define MAX_ITEMS 65535u               /* tags or fields per metric */
#define MAX_STR_BYTES ((1u << 24) - 1) /* strings per metric */
#define QUOTE_MAX 64
#define NONE UINT32_MAX
/* Scratch larger than this is freed after the document, so that one odd
 * document does not pin megabytes. */
#define KEEP_ITEMS 4096
#define KEEP_BYTES (256u * 1024)

/* ---- state ------------------------------------------------------------ */

/* One step of json_query. */
typedef struct qstep {
  char *key; /* unescaped; wildcards marked WILD_STAR / WILD_ONE */
  size_t klen;
  bool wild;  /* key holds a wildcard */
  bool count; /* '#' */
  bool numeric;
  size_t index;
} qstep;

/* A string value: in the document (plain) or decoded into strbuf. */
typedef struct sref {
  bool decoded;
  size_t off, len;
} sref;

/* A leaf of the flattened object. */
typedef struct leaf {
  size_t key; /* offset of the NUL-terminated key in keys */
  size_t klen;
  size_t order;
  const char *k; /* set once flattening is done */
  uint32_t tok;
  sref s;            /* strings, once needed */
  size_t toff, tlen; /* number and boolean tags: their text in tagtext */
  double num;        /* numbers */
} leaf;

/* An open container while flattening. */
typedef struct frame {
  uint32_t next, end; /* next member token, end of the container */
  size_t plen;        /* key prefix length */
  size_t index;       /* arrays: next element's index */
  bool obj;
} frame;

/* What json_query leads to. */
typedef struct qres {
  uint8_t kind; /* Q_NONE, Q_TOK, Q_COUNT (a number), Q_NESTED (an array made
                   by a '#' inside a '#' map), Q_LIST (the '#' map, in qlist) */
  uint32_t tok; /* Q_TOK: the value; others: where it comes from */
} qres;

enum { Q_NONE, Q_TOK, Q_COUNT, Q_NESTED, Q_LIST };

typedef struct json_state {
  tower_globs *tags, *strings;
  char *name_key, *time_key;
  twi_gotime *time_format;
  twi_zone *zone;
  qstep *query;
  size_t nquery;
  bool strict;

  /* scratch, reused between documents */
  twi_jlex lx;
  leaf *leaves;
  size_t nleaves, leaves_cap;
  frame *frames;
  size_t frames_cap;
  qres *qlist;
  size_t nqlist, qlist_cap;
  char *keys, *path, *strbuf, *tagtext;
  size_t keys_len, keys_cap, path_cap, strbuf_len, strbuf_cap, tagtext_len, tagtext_cap;
  tower_metric **out;
  size_t nout, out_cap;
  bool oom; /* a query result could not be collected */
} json_state;

/* The document as the tokenizer reads it. */
typedef struct doc {
  const char *text;
  size_t len;
  size_t line, col; /* 1-based position of text[0] in the input */
} doc;

/* ---- growing scratch buffers ------------------------------------------ */

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  void *n = realloc(*p, c * elem);
  if (!n)
    return -ENOMEM;
  *p = n;
  *cap = c;
  return 0;
}

/* ---- positions and errors --------------------------------------------- */

/* Line and column (in characters) of text[off]. */
static void position(const doc *d, size_t off, size_t *line, size_t *col) {
  size_t l = 0, c = 0;
  for (size_t i = 0; i < off && i < d->len; i++) {
    unsigned char b = (unsigned char)d->text[i];
    if (b == '\n')
      l++, c = 0;
    else if ((b & 0xc0) != 0x80)
      c++;
  }
  *line = d->line + l;
  *col = (l ? 0 : d->col - 1) + c + 1;
}

static int report_at(tower_parser *p, const doc *d, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int report_at(tower_parser *p, const doc *d, size_t off, const char *fmt, ...) {
  char msg[240];
  size_t line, col;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  position(d, off, &line, &col);
  p->lineno = line;
  return twi_parser_error(p, col, "%s", msg);
}

/* Where token t starts (a string at its opening quote). */
static size_t tok_offset(const json_state *st, uint32_t t) {
  const twi_jtok *k = &st->lx.tok[t];
  return k->start - (k->type == TWI_J_STR);
}

static const char *type_name(uint8_t type) {
  switch (type) {
  case TWI_J_OBJ:
    return "an object";
  case TWI_J_ARR:
    return "an array";
  case TWI_J_STR:
    return "a string";
  case TWI_J_NUM:
    return "a number";
  case TWI_J_NULL:
    return "null";
  default:
    return "a boolean";
  }
}

/* ---- preparing the text ----------------------------------------------- */

static bool go_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Trims ASCII white space and a BOM (Go: TrimSpace, TrimPrefix BOM) and
 * records where the text starts. */
static void prepare(const char *data, size_t len, doc *d) {
  size_t start = 0, end = len;
  while (start < end && go_space(data[start]))
    start++;
  while (end > start && go_space(data[end - 1]))
    end--;
  if (end - start >= 3 && memcmp(data + start, "\xef\xbb\xbf", 3) == 0)
    start += 3;
  doc whole = {data, start, 1, 1};
  position(&whole, start, &d->line, &d->col);
  d->text = data + start;
  d->len = end - start;
}

/* ---- strings ---------------------------------------------------------- */

/* String token t as bytes: in place when it needs no decoding, else
 * decoded into strbuf. -ENOMEM. */
static int string_of(json_state *st, const doc *d, uint32_t t, sref *out) {
  const twi_jtok *k = &st->lx.tok[t];
  if (!(k->flags & TWI_J_ESC)) {
    *out = (sref){false, k->start, k->len};
    return 0;
  }
  if (grow((void **)&st->strbuf, &st->strbuf_cap, st->strbuf_len + 3 * (size_t)k->len + 1, 1))
    return -ENOMEM;
  size_t n = twi_json_decode(d->text + k->start, k->len, st->strbuf + st->strbuf_len);
  *out = (sref){true, st->strbuf_len, n};
  st->strbuf_len += n;
  return 0;
}

static const char *sref_ptr(const json_state *st, const doc *d, const sref *s) {
  return s->decoded ? st->strbuf + s->off : d->text + s->off;
}

/* ---- json_query ------------------------------------------------------- */

#define WILD_STAR '\x01'
#define WILD_ONE '\x02'

static bool wild_match(const char *pat, size_t pn, const char *s, size_t sn) {
  size_t p = 0, i = 0, star_p = SIZE_MAX, star_i = 0;
  while (i < sn) {
    if (p < pn && (pat[p] == WILD_ONE || pat[p] == s[i])) {
      p++, i++;
    } else if (p < pn && pat[p] == WILD_STAR) {
      star_p = p++;
      star_i = i;
    } else if (star_p != SIZE_MAX) {
      p = star_p + 1;
      i = ++star_i;
    } else {
      return false;
    }
  }
  while (p < pn && pat[p] == WILD_STAR)
    p++;
  return p == pn;
}

/* Does key token t equal the step's key (or match it as a pattern)? */
static bool key_is(json_state *st, const doc *d, uint32_t t, const qstep *q) {
  sref s;
  size_t mark = st->strbuf_len;
  if (string_of(st, d, t, &s))
    return false;
  const char *k = sref_ptr(st, d, &s);
  bool eq = q->wild ? wild_match(q->key, q->klen, k, s.len)
                    : s.len == q->klen && memcmp(k, q->key, s.len) == 0;
  st->strbuf_len = mark; /* the decoded key was only needed here */
  return eq;
}

/* The first member of object t whose key fits q (gjson takes the first). */
static uint32_t member(json_state *st, const doc *d, uint32_t t, const qstep *q) {
  for (uint32_t k = t + 1, end = st->lx.tok[t].len; k < end; k = twi_jtok_next(&st->lx, k + 1))
    if (key_is(st, d, k, q))
      return k + 1;
  return NONE;
}

static uint32_t element(const json_state *st, uint32_t t, size_t index) {
  uint32_t e = t + 1, end = st->lx.tok[t].len;
  for (size_t i = 0; i < index && e < end; i++)
    e = twi_jtok_next(&st->lx, e);
  return e < end ? e : NONE;
}

static qres walk(json_state *st, const doc *d, uint32_t t, const qstep *q, size_t n, bool top);

/* '#' on array t: its length, or the rest of the path over each element
 * (one level of mapping is collected; deeper ones are arrays, which are
 * not objects anyway). */
static qres count_step(json_state *st, const doc *d, uint32_t t, const qstep *q, size_t n,
                       bool top) {
  if (n == 1)
    return (qres){Q_COUNT, t};
  if (!top)
    return (qres){Q_NESTED, t};
  st->nqlist = 0;
  for (uint32_t e = t + 1, end = st->lx.tok[t].len; e < end; e = twi_jtok_next(&st->lx, e)) {
    qres r = walk(st, d, e, q + 1, n - 1, false);
    if (r.kind == Q_NONE)
      continue;
    if (grow((void **)&st->qlist, &st->qlist_cap, st->nqlist + 1, sizeof *st->qlist)) {
      st->oom = true;
      break;
    }
    st->qlist[st->nqlist++] = r;
  }
  return (qres){Q_LIST, t};
}

/* Follows the path from token t. */
static qres walk(json_state *st, const doc *d, uint32_t t, const qstep *q, size_t n, bool top) {
  for (; n > 0; q++, n--) {
    uint8_t type = st->lx.tok[t].type;
    if (type == TWI_J_ARR && q->count)
      return count_step(st, d, t, q, n, top);
    if (type == TWI_J_ARR)
      t = q->numeric ? element(st, t, q->index) : NONE;
    else if (type == TWI_J_OBJ)
      t = member(st, d, t, q);
    else
      t = NONE;
    if (t == NONE)
      return (qres){Q_NONE, NONE};
  }
  return (qres){Q_TOK, t};
}

/* Parses one component of the path at s; sets *next past its '.'. */
static const char *parse_step(const char *s, qstep *q, char *buf, const char **next) {
  size_t n = 0;
  bool escaped_any = false;
  for (; *s && *s != '.'; s++) {
    if (*s == '\\' && s[1]) {
      buf[n++] = *++s;
      escaped_any = true;
    } else if (*s == '*' || *s == '?') {
      buf[n++] = *s == '*' ? WILD_STAR : WILD_ONE;
      q->wild = true;
    } else if (*s == '|' || *s == '@' || (*s == '#' && s[1] == '(')) {
      return "modifiers (@), queries (#(...)) and pipes (|) are not supported";
    } else {
      buf[n++] = *s;
    }
  }
  if (n == 0)
    return "empty path component";
  q->klen = n;
  q->count = n == 1 && buf[0] == '#' && !escaped_any;
  q->numeric = !q->wild && strspn(buf, "0123456789") == n && n < 19;
  q->index = q->numeric ? (size_t)strtoull(buf, NULL, 10) : 0;
  *next = *s == '.' ? s + 1 : s;
  if (*s == '.' && !s[1])
    return "the path ends with '.'";
  return NULL;
}

static int compile_query(json_state *st, const char *path, const char **why) {
  size_t len = strlen(path);
  if (path[0] == '[' || path[0] == '{') {
    *why = "multipaths are not supported";
    return -EINVAL;
  }
  st->query = calloc(len + 1, sizeof *st->query);
  char *buf = malloc(len + 1);
  if (!st->query || !buf) {
    free(buf);
    return -ENOMEM;
  }
  for (const char *s = path; *s;) {
    qstep *q = &st->query[st->nquery];
    memset(buf, 0, len + 1);
    if ((*why = parse_step(s, q, buf, &s))) {
      free(buf);
      return -EINVAL;
    }
    q->key = malloc(q->klen + 1);
    if (!q->key) {
      free(buf);
      return -ENOMEM;
    }
    memcpy(q->key, buf, q->klen + 1);
    st->nquery++;
  }
  free(buf);
  return 0;
}

/* ---- flattening ------------------------------------------------------- */

static int add_leaf(json_state *st, size_t plen, uint32_t t) {
  if (plen == 0)
    return 0; /* an empty key: no output can carry it */
  if (grow((void **)&st->leaves, &st->leaves_cap, st->nleaves + 1, sizeof *st->leaves) ||
      grow((void **)&st->keys, &st->keys_cap, st->keys_len + plen + 1, 1))
    return -ENOMEM;
  memcpy(st->keys + st->keys_len, st->path, plen);
  st->keys[st->keys_len + plen] = '\0';
  st->leaves[st->nleaves] =
      (leaf){.key = st->keys_len, .klen = plen, .order = st->nleaves, .tok = t};
  st->nleaves++;
  st->keys_len += plen + 1;
  return 0;
}

/* Appends "_" (below the top) and the member's name to the path: the key
 * token's text decoded, or the element's index; sets *len. -ENOMEM. */
static int extend_path(json_state *st, const doc *d, const frame *f, uint32_t key, size_t *len) {
  size_t room = key != NONE ? 3 * (size_t)st->lx.tok[key].len : 24;
  if (grow((void **)&st->path, &st->path_cap, f->plen + 1 + room + 1, 1))
    return -ENOMEM;
  char *p = st->path + f->plen;
  if (f->plen)
    *p++ = '_';
  if (key == NONE) {
    p += snprintf(p, 24, "%zu", f->index);
  } else {
    const twi_jtok *k = &st->lx.tok[key];
    if (k->flags & TWI_J_ESC)
      p += twi_json_decode(d->text + k->start, k->len, p);
    else
      p = (char *)memcpy(p, d->text + k->start, k->len) + k->len;
  }
  *len = (size_t)(p - st->path);
  return 0;
}

static int push_frame(json_state *st, size_t *nf, uint32_t t, size_t plen) {
  if (grow((void **)&st->frames, &st->frames_cap, *nf + 1, sizeof *st->frames))
    return -ENOMEM;
  st->frames[(*nf)++] = (frame){t + 1, st->lx.tok[t].len, plen, 0, st->lx.tok[t].type == TWI_J_OBJ};
  return 0;
}

/* Flattens object t into leaves, depth first without recursion (documents
 * nest up to 10000 deep). */
static int flatten(json_state *st, const doc *d, uint32_t t) {
  size_t nf = 0, len;
  int rc = push_frame(st, &nf, t, 0);
  while (!rc && nf > 0) {
    frame *f = &st->frames[nf - 1];
    if (f->next >= f->end) {
      nf--;
      continue;
    }
    uint32_t key = f->obj ? f->next : NONE, v = f->obj ? f->next + 1 : f->next;
    if ((rc = extend_path(st, d, f, key, &len)))
      break;
    f->next = twi_jtok_next(&st->lx, v);
    f->index++;
    uint8_t type = st->lx.tok[v].type;
    if (type == TWI_J_OBJ || type == TWI_J_ARR)
      rc = push_frame(st, &nf, v, len);
    else if (type != TWI_J_NULL)
      rc = add_leaf(st, len, v);
  }
  return rc;
}

static int leaf_cmp(const void *a, const void *b) {
  const leaf *x = a, *y = b;
  int c = strcmp(x->k, y->k);
  return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Insertion sort: objects are small and often nearly sorted, where it
 * beats qsort several times over. */
static void insertion_sort(leaf *l, size_t n) {
  for (size_t i = 1; i < n; i++) {
    if (leaf_cmp(&l[i - 1], &l[i]) <= 0)
      continue;
    leaf x = l[i];
    size_t j = i;
    for (; j > 0 && leaf_cmp(&l[j - 1], &x) > 0; j--)
      l[j] = l[j - 1];
    l[j] = x;
  }
}

/* Sorts the leaves by key and keeps the last of equal keys; returns the
 * count left. */
static size_t sort_unique(json_state *st) {
  leaf *l = st->leaves;
  size_t n = st->nleaves, out = 0;
  for (size_t i = 0; i < n; i++)
    l[i].k = st->keys + l[i].key;
  if (n <= 32)
    insertion_sort(l, n);
  else
    qsort(l, n, sizeof *l, leaf_cmp);
  for (size_t i = 0; i < n; i++) {
    if (out > 0 && strcmp(l[out - 1].k, l[i].k) == 0)
      l[out - 1] = l[i];
    else
      l[out++] = l[i];
  }
  return out;
}

/* ---- building a metric ------------------------------------------------ */

enum { AS_DROP, AS_TAG, AS_FIELD };

/* What one object turns into. */
typedef struct plan {
  size_t ntags, nfields, bytes;
  sref name;
  bool named;
  leaf *time;
} plan;

static uint8_t type_of(const json_state *st, const leaf *l) {
  return st->lx.tok[l->tok].type;
}

static double number_of(const json_state *st, const doc *d, uint32_t t) {
  double v = 0;
  twi_parse_double(d->text + st->lx.tok[t].start, st->lx.tok[t].len, &v);
  return v; /* the tokenizer checked the syntax and the range */
}

/* The text of a number or boolean tag: FormatFloat(v, 'f', -1, 64) or
 * true/false, kept in tagtext. -ENOMEM. */
static int tag_text(json_state *st, const doc *d, leaf *l) {
  if (grow((void **)&st->tagtext, &st->tagtext_cap, st->tagtext_len + 401, 1))
    return -ENOMEM;
  char *dst = st->tagtext + st->tagtext_len;
  uint8_t type = type_of(st, l);
  if (type == TWI_J_NUM) {
    l->tlen = twi_json_fmt_float_plain(dst, 401, number_of(st, d, l->tok));
  } else {
    l->tlen = type == TWI_J_TRUE ? 4 : 5;
    memcpy(dst, type == TWI_J_TRUE ? "true" : "false", l->tlen);
  }
  l->toff = st->tagtext_len;
  st->tagtext_len += l->tlen;
  return 0;
}

/* Decodes a string leaf that will be used; metric strings are C strings,
 * so a NUL fails the object. 0, -ENOMEM, -EINVAL with why. */
static int use_string(json_state *st, const doc *d, leaf *l, const char **why) {
  if (string_of(st, d, l->tok, &l->s))
    return -ENOMEM;
  if (memchr(sref_ptr(st, d, &l->s), '\0', l->s.len)) {
    *why = "holds a NUL character (\\u0000)";
    return -EINVAL;
  }
  return 0;
}

static int plan_tag(json_state *st, const doc *d, leaf *l, uint8_t *as, plan *pl) {
  if (type_of(st, l) == TWI_J_STR) {
    if (l->s.len == 0)
      return 0; /* no output carries an empty tag value */
    l->tlen = l->s.len;
  } else if (tag_text(st, d, l)) {
    return -ENOMEM;
  }
  *as = AS_TAG;
  pl->ntags++;
  pl->bytes += l->klen + 1 + l->tlen + 1;
  return 0;
}

/* Decides what leaf l becomes and adds up the sizes. Returns 0, -ENOMEM, or
 * -EINVAL with why set. */
static int classify(json_state *st, const doc *d, leaf *l, uint8_t *as, plan *pl,
                    const char **why) {
  uint8_t type = type_of(st, l);
  *as = AS_DROP;
  if (st->time_key && strcmp(l->k, st->time_key) == 0) {
    pl->time = l;
    return 0;
  }
  bool tag = st->tags && tower_globs_match(st->tags, l->k);
  bool field = !tag && (type == TWI_J_NUM || (st->strings && tower_globs_match(st->strings, l->k)));
  bool named = type == TWI_J_STR && st->name_key && strcmp(l->k, st->name_key) == 0;
  int rc = type == TWI_J_STR && (tag || field || named) ? use_string(st, d, l, why) : 0;
  if (rc)
    return rc;
  if (named && l->s.len) {
    pl->name = l->s;
    pl->named = true;
  }
  if (tag)
    return plan_tag(st, d, l, as, pl);
  if (field) {
    *as = AS_FIELD;
    pl->nfields++;
    pl->bytes += l->klen + 1 + (type == TWI_J_STR ? l->s.len + 1 : 0);
    if (type == TWI_J_NUM)
      l->num = number_of(st, d, l->tok);
  }
  return 0;
}

static int add_tag(const json_state *st, const doc *d, tower_metric *m, const leaf *l) {
  const char *text = type_of(st, l) == TWI_J_STR ? sref_ptr(st, d, &l->s) : st->tagtext + l->toff;
  return tower_metric_add_tag_n(m, l->k, l->klen, text, l->tlen);
}

static int add_field(const json_state *st, const doc *d, tower_metric *m, const leaf *l) {
  uint8_t type = type_of(st, l);
  uint64_t raw;
  if (type == TWI_J_STR)
    return tower_metric_add_string_n(m, l->k, l->klen, sref_ptr(st, d, &l->s), l->s.len);
  if (type != TWI_J_NUM)
    return twi_metric_add_field_n(m, l->k, l->klen, TOWER_FIELD_BOOL, type == TWI_J_TRUE);
  memcpy(&raw, &l->num, sizeof raw);
  return twi_metric_add_field_n(m, l->k, l->klen, TOWER_FIELD_FLOAT, raw);
}

static int time_error(json_state *st, char *why, size_t whylen, const char *what) {
  snprintf(why, whylen, "time key \"%.*s\": %s", QUOTE_MAX, st->time_key, what);
  return -EINVAL;
}

/* A numeric time: integers exactly, others as the double Go would read. */
static int unix_number(json_state *st, const doc *d, uint32_t t, int64_t *ns) {
  const twi_jtok *k = &st->lx.tok[t];
  int64_t i;
  if (!(k->flags & TWI_J_FRAC) && twi_parse_int64(d->text + k->start, k->len, &i) == 0)
    return twi_gotime_unix_int(st->time_format, i, ns);
  return twi_gotime_unix_double(st->time_format, number_of(st, d, t), ns);
}

/* The time from the time key's value: strings in any format, numbers with
 * the Unix formats. */
static int read_time(json_state *st, const doc *d, leaf *l, int64_t *ns, char *why, size_t whylen) {
  if (!l)
    return time_error(st, why, whylen, "not found");
  uint8_t type = type_of(st, l);
  if (type == TWI_J_STR) {
    if (string_of(st, d, l->tok, &l->s))
      return -ENOMEM;
    const char *s = sref_ptr(st, d, &l->s);
    /* the message of a failure goes after this prefix */
    int n = snprintf(why, whylen, "time key \"%.*s\": cannot read \"%.*s\": ", QUOTE_MAX,
                     st->time_key, (int)(l->s.len > QUOTE_MAX ? QUOTE_MAX : l->s.len), s);
    size_t used = n < 0 ? 0 : (size_t)n < whylen ? (size_t)n : whylen - 1;
    return twi_gotime_parse(st->time_format, s, l->s.len, st->zone, ns, why + used, whylen - used);
  }
  if (type != TWI_J_NUM)
    return time_error(st, why, whylen, "neither a string nor a number");
  if (!twi_gotime_is_unix(st->time_format))
    return time_error(st, why, whylen, "a number, but json_time_format is a layout for strings");
  if (unix_number(st, d, l->tok, ns) < 0)
    return time_error(st, why, whylen, "out of the range of nanosecond timestamps");
  return 0;
}

static int fill(const json_state *st, const doc *d, tower_metric *m, const uint8_t *as, size_t n) {
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++)
    if (as[i] == AS_TAG)
      rc = add_tag(st, d, m, &st->leaves[i]);
    else if (as[i] == AS_FIELD)
      rc = add_field(st, d, m, &st->leaves[i]);
  return rc;
}

static int classify_all(json_state *st, const doc *d, size_t n, uint8_t *as, plan *pl, char *why,
                        size_t whylen) {
  const char *bad = NULL;
  for (size_t i = 0; i < n; i++) {
    int rc = classify(st, d, &st->leaves[i], &as[i], pl, &bad);
    if (rc == -EINVAL)
      snprintf(why, whylen, "key \"%.*s\" %s", QUOTE_MAX, st->leaves[i].k, bad);
    if (rc)
      return rc;
  }
  return 0;
}

static int make_metric(tower_parser *p, const doc *d, const plan *pl, int64_t ns, const uint8_t *as,
                       size_t n, tower_metric **out, char *why, size_t whylen) {
  json_state *st = p->state;
  if (pl->ntags > MAX_ITEMS || pl->nfields > MAX_ITEMS || pl->bytes > MAX_STR_BYTES) {
    snprintf(why, whylen, "too large for one metric (65535 tags or fields, 16 MiB)");
    return -EINVAL;
  }
  const char *name = p->default_name ? p->default_name : "json";
  size_t nlen = strlen(name);
  if (pl->named) {
    name = sref_ptr(st, d, &pl->name);
    nlen = pl->name.len;
  }
  *out = twi_metric_new_sized(name, nlen, ns, pl->ntags, pl->nfields, pl->bytes);
  if (!*out)
    return -ENOMEM;
  int rc = fill(st, d, *out, as, n);
  if (rc) {
    tower_metric_free(*out);
    *out = NULL;
  }
  return rc;
}

/* Builds the metric of object t into *out (NULL when it has no field).
 * Returns 0, -ENOMEM, or -EINVAL with why set. */
static int build(tower_parser *p, const doc *d, uint32_t t, tower_metric **out, char *why,
                 size_t whylen) {
  json_state *st = p->state;
  st->nleaves = st->keys_len = st->tagtext_len = st->strbuf_len = 0;
  *out = NULL;
  int rc = flatten(st, d, t);
  if (rc)
    return rc;
  size_t n = sort_unique(st);
  uint8_t as_small[64], *as = n <= 64 ? as_small : malloc(n);
  if (!as)
    return -ENOMEM;
  plan pl = {0};
  rc = classify_all(st, d, n, as, &pl, why, whylen);
  int64_t ns = TOWER_TIME_UNSET;
  if (!rc && st->time_key)
    rc = read_time(st, d, pl.time, &ns, why, whylen);
  if (!rc && pl.nfields > 0)
    rc = make_metric(p, d, &pl, ns, as, n, out, why, whylen);
  if (as != as_small)
    free(as);
  return rc;
}

/* ---- documents -------------------------------------------------------- */

static int keep(json_state *st, tower_metric *m) {
  if (grow((void **)&st->out, &st->out_cap, st->nout + 1, sizeof *st->out)) {
    tower_metric_free(m);
    return -ENOMEM;
  }
  st->out[st->nout++] = m;
  return 0;
}

static void drop_kept(json_state *st) {
  for (size_t i = 0; i < st->nout; i++)
    tower_metric_free(st->out[i]);
  st->nout = 0;
}

static int oom(tower_parser *p) {
  if (!p->sink_rc)
    p->sink_rc = -ENOMEM;
  return -ENOMEM;
}

/* One object (element `index` of an array, SIZE_MAX for a lone object):
 * built and kept, or reported. Returns 0, -EINVAL (reported) or -ENOMEM. */
static int one_object(tower_parser *p, const doc *d, uint32_t t, size_t index) {
  json_state *st = p->state;
  char why[200];
  tower_metric *m;
  int rc = build(p, d, t, &m, why, sizeof why);
  if (rc == -EINVAL && index != SIZE_MAX)
    return report_at(p, d, tok_offset(st, t), "array element %zu: %s", index, why);
  if (rc == -EINVAL)
    return report_at(p, d, tok_offset(st, t), "%s", why);
  if (rc)
    return rc;
  return m ? keep(st, m) : 0;
}

static int wrong_type(tower_parser *p, const doc *d, uint32_t at, size_t index, const char *what) {
  return report_at(p, d, tok_offset(p->state, at),
                   "array element %zu is %s; the data must be an object or an array of objects",
                   index, what);
}

/* The objects of a list of values (an array's elements or the results of
 * a '#' query): all must be objects, else the document is refused. */
static int each_object(tower_parser *p, const doc *d, const qres *items, size_t n) {
  json_state *st = p->state;
  for (size_t i = 0; i < n; i++) {
    if (items[i].kind == Q_COUNT)
      return wrong_type(p, d, items[i].tok, i, "a number");
    if (items[i].kind == Q_NESTED)
      return wrong_type(p, d, items[i].tok, i, "an array");
    uint8_t type = st->lx.tok[items[i].tok].type;
    if (type != TWI_J_OBJ)
      return wrong_type(p, d, items[i].tok, i, type_name(type));
  }
  for (size_t i = 0; i < n; i++) {
    int rc = one_object(p, d, items[i].tok, i);
    if (rc == -ENOMEM || (rc && st->strict))
      return rc;
  }
  return 0;
}

/* An array's elements as a list. */
static int elements_of(json_state *st, uint32_t t) {
  st->nqlist = 0;
  for (uint32_t e = t + 1, end = st->lx.tok[t].len; e < end; e = twi_jtok_next(&st->lx, e)) {
    if (grow((void **)&st->qlist, &st->qlist_cap, st->nqlist + 1, sizeof *st->qlist))
      return -ENOMEM;
    st->qlist[st->nqlist++] = (qres){Q_TOK, e};
  }
  return 0;
}

/* Metrics of what the query (or the document) leads to. */
static int from_result(tower_parser *p, const doc *d, qres r) {
  json_state *st = p->state;
  const char *what = st->nquery ? "json_query leads to a value that" : "the document";
  if (r.kind == Q_NONE)
    return 0;
  if (r.kind == Q_LIST)
    return each_object(p, d, st->qlist, st->nqlist);
  if (r.kind == Q_COUNT)
    return report_at(p, d, tok_offset(st, r.tok),
                     "%s is a number (#: a count); the data must "
                     "be an object or an array of objects",
                     what);
  uint8_t type = st->lx.tok[r.tok].type;
  if (type == TWI_J_NULL)
    return 0;
  if (type == TWI_J_OBJ)
    return one_object(p, d, r.tok, SIZE_MAX);
  if (type == TWI_J_ARR)
    return elements_of(st, r.tok) ? -ENOMEM : each_object(p, d, st->qlist, st->nqlist);
  return report_at(p, d, tok_offset(st, r.tok),
                   "%s is %s; the data must be an object or an array of objects", what,
                   type_name(type));
}

static void release(void **p, size_t *cap, size_t limit) {
  if (*cap > limit) {
    free(*p);
    *p = NULL;
    *cap = 0;
  }
}

static void trim_scratch(json_state *st) {
  twi_jlex_release(&st->lx, false);
  release((void **)&st->leaves, &st->leaves_cap, KEEP_ITEMS);
  release((void **)&st->frames, &st->frames_cap, KEEP_ITEMS);
  release((void **)&st->qlist, &st->qlist_cap, KEEP_ITEMS);
  release((void **)&st->out, &st->out_cap, KEEP_ITEMS);
  release((void **)&st->keys, &st->keys_cap, KEEP_BYTES);
  release((void **)&st->path, &st->path_cap, KEEP_BYTES);
  release((void **)&st->strbuf, &st->strbuf_cap, KEEP_BYTES);
  release((void **)&st->tagtext, &st->tagtext_cap, KEEP_BYTES);
}

static void emit_kept(tower_parser *p, json_state *st) {
  for (size_t i = 0; i < st->nout; i++) {
    if (!p->sink_rc)
      twi_parser_emit(p, st->out[i]); /* takes the metric in every case */
    else
      tower_metric_free(st->out[i]);
  }
  st->nout = 0;
}

int twi_json_parse_document(tower_parser *p, const char *data, size_t len) {
  json_state *st = p->state;
  doc d;
  prepare(data, len, &d);
  st->nout = 0;
  st->oom = false;
  if (d.len == 0)
    return 0;
  int rc = twi_json_lex(&st->lx, d.text, d.len);
  if (rc == -EINVAL)
    rc = report_at(p, &d, st->lx.err_at, "invalid JSON: %s", st->lx.err);
  else if (rc == -E2BIG)
    rc = report_at(p, &d, 0, "document too large");
  else if (rc == 0) {
    qres r = st->nquery ? walk(st, &d, 0, st->query, st->nquery, true) : (qres){Q_TOK, 0};
    rc = st->oom ? -ENOMEM : from_result(p, &d, r);
  }
  if (rc == -ENOMEM)
    oom(p);
  if (rc && (st->strict || rc == -ENOMEM))
    drop_kept(st);
  emit_kept(p, st);
  trim_scratch(st);
  return rc;
}

/* ---- building the parser ---------------------------------------------- */

/* Logs a bad option at its line in the config file when there is one. */
static int option_error(tower_parser *p, const tower_config *cfg, const char *key, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
static int option_error(tower_parser *p, const tower_config *cfg, const char *key, const char *fmt,
                        ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (cfg)
    return tower_config_error(cfg, tower_config_setting(cfg, key), "%s", msg);
  tower_error(p->ctx, "%s", msg);
  return -EINVAL;
}

static int copy_key(const char *src, char **dst) {
  if (!src || !*src)
    return 0;
  *dst = strdup(src);
  return *dst ? 0 : -ENOMEM;
}

static int setup_time(tower_parser *p, const tower_config *cfg, const twi_json_options *o) {
  json_state *st = p->state;
  const char *why;
  bool has_format = o->time_format && *o->time_format;
  if (st->time_key && !has_format)
    return option_error(p, cfg, "json_time_key",
                        "json_time_key \"%s\" needs json_time_format (unix, unix_ms, unix_us, "
                        "unix_ns or a Go layout such as 2006-01-02T15:04:05Z07:00)",
                        st->time_key);
  int rc = has_format ? twi_gotime_compile(o->time_format, true, &st->time_format, &why) : 0;
  if (rc == -EINVAL)
    return option_error(p, cfg, "json_time_format", "invalid json_time_format \"%s\": %s",
                        o->time_format, why);
  if (rc)
    return rc;
  rc = twi_zone_load(o->timezone, &st->zone, &why);
  if (rc == -EINVAL)
    return option_error(p, cfg, "json_timezone", "invalid json_timezone \"%s\": %s", o->timezone,
                        why);
  return rc;
}

static int configure(tower_parser *p, const tower_config *cfg, const twi_json_options *o) {
  json_state *st = p->state;
  const char *why;
  st->strict = !o->lenient;
  int rc = copy_key(o->name_key, &st->name_key);
  if (!rc)
    rc = copy_key(o->time_key, &st->time_key);
  if (!rc)
    rc = setup_time(p, cfg, o);
  if (!rc && o->query && *o->query && (rc = compile_query(st, o->query, &why)) == -EINVAL)
    rc = option_error(p, cfg, "json_query", "invalid json_query \"%s\": %s", o->query, why);
  return rc;
}

int twi_json_parser_init(tower_parser *p, const tower_config *cfg) {
  json_state *st = calloc(1, sizeof *st);
  if (!st)
    return -ENOMEM;
  st->strict = true;
  p->state = st;
  if (!cfg)
    return 0;
  twi_json_options o = {
      .name_key = tower_config_string(cfg, "json_name_key"),
      .query = tower_config_string(cfg, "json_query"),
      .time_key = tower_config_string(cfg, "json_time_key"),
      .time_format = tower_config_string(cfg, "json_time_format"),
      .timezone = tower_config_string(cfg, "json_timezone"),
      .lenient = !tower_config_bool(cfg, "json_strict"),
  };
  int rc = tower_globs_from_config(cfg, "tag_keys", &st->tags);
  if (!rc)
    rc = tower_globs_from_config(cfg, "json_string_fields", &st->strings);
  if (!rc)
    rc = configure(p, cfg, &o);
  if (rc)
    twi_json_parser_fini(p); /* the framework frees p itself without fini */
  return rc;
}

void twi_json_parser_fini(tower_parser *p) {
  json_state *st = p->state;
  if (!st)
    return;
  tower_globs_free(st->tags);
  tower_globs_free(st->strings);
  free(st->name_key);
  free(st->time_key);
  twi_gotime_free(st->time_format);
  twi_zone_free(st->zone);
  for (size_t i = 0; i < st->nquery; i++)
    free(st->query[i].key);
  free(st->query);
  twi_jlex_release(&st->lx, true);
  free(st->leaves);
  free(st->frames);
  free(st->qlist);
  free(st->keys);
  free(st->path);
  free(st->strbuf);
  free(st->tagtext);
  free(st->out);
  free(st);
  p->state = NULL;
}

static int compile_globs(tower_parser *p, const char *key, const char *const *pat, size_t n,
                         tower_globs **out) {
  const char *err = NULL;
  if (n == 0)
    return 0;
  int rc = tower_globs_new(pat, n, out, &err);
  if (rc == -EINVAL)
    return option_error(p, NULL, key, "invalid %s pattern: %s", key, err ? err : "malformed");
  return rc;
}

int twi_json_parser_new(const tower_ctx *ctx, const twi_json_options *o, tower_parser **out) {
  static const twi_json_options defaults = {0};
  tower_parser *p = NULL;
  int rc = tower_parser_new_format(ctx, "json", &p);
  if (rc)
    return rc;
  json_state *st = p->state;
  o = o ? o : &defaults;
  rc = compile_globs(p, "tag_keys", o->tag_keys, o->n_tag_keys, &st->tags);
  if (!rc)
    rc = compile_globs(p, "json_string_fields", o->string_fields, o->n_string_fields, &st->strings);
  if (!rc)
    rc = configure(p, NULL, o);
  if (rc) {
    tower_parser_free(p);
    return rc;
  }
  *out = p;
  return 0;
}
