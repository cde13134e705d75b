/* outputs.csv: headers (column sets) and rows.
 *
 * A file's header is its list of columns; a row has one cell per column,
 * empty where the metric has no value. Columns are only ever added, at the
 * end, so existing columns keep their position and a rewrite of old rows
 * only appends empty cells. The columns added at one time are laid out as
 * timestamp, tags sorted, fields sorted, which is the whole header of a new
 * file.
 *
 * Names: a tag is in the column of its key; a field too, unless the metric
 * has a tag of the same key (then "<key>_field"). A tag or field named like
 * the timestamp column gets "_tag" / "_field".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* ---- column index ------------------------------------------------------ */

/* FNV-1a of key+suffix; *len gets the length of key. */
static uint32_t hash_name(const char *key, const char *suffix, size_t *len) {
  uint32_t h = 2166136261u;
  const char *p = key;
  for (; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  *len = (size_t)(p - key);
  for (p = suffix; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return h;
}

static bool name_is(const char *name, const char *key, const char *suffix) {
  size_t kl = strlen(key);
  return strncmp(name, key, kl) == 0 && strcmp(name + kl, suffix) == 0;
}

ptrdiff_t csv_cols_find(const csv_cols *c, const char *key, const char *suffix) {
  if (!c->nslots)
    return -1;
  size_t klen, slen = suffix[0] ? strlen(suffix) : 0;
  uint32_t h = hash_name(key, suffix, &klen);
  size_t mask = c->nslots - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    struct csv_slot s = c->slots[i];
    if (!s.col)
      return -1;
    size_t col = s.col - 1;
    if (s.hash == h && c->lens[col] == klen + slen && memcmp(c->names[col], key, klen) == 0 &&
        memcmp(c->names[col] + klen, suffix, slen) == 0)
      return (ptrdiff_t)col;
  }
}

static void index_put(csv_cols *c, size_t col) {
  size_t mask = c->nslots - 1, len;
  uint32_t h = hash_name(c->names[col], "", &len);
  size_t i = h & mask;
  while (c->slots[i].col)
    i = (i + 1) & mask;
  c->slots[i] = (struct csv_slot){.col = (uint32_t)col + 1, .hash = h};
}

static int index_grow(csv_cols *c) {
  size_t n = c->nslots ? c->nslots * 2 : 16;
  struct csv_slot *s = calloc(n, sizeof *s);
  if (!s)
    return -ENOMEM;
  free(c->slots);
  c->slots = s;
  c->nslots = n;
  for (size_t i = 0; i < c->n; i++)
    index_put(c, i);
  return 0;
}

int csv_cols_add(csv_cols *c, const char *name, size_t len) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    char **v = realloc(c->names, cap * sizeof *v);
    if (!v)
      return -ENOMEM;
    c->names = v;
    size_t *l = realloc(c->lens, cap * sizeof *l);
    if (!l)
      return -ENOMEM;
    c->lens = l;
    c->cap = cap;
  }
  if (2 * (c->n + 1) > c->nslots && index_grow(c))
    return -ENOMEM;
  char *s = strndup(name, len);
  if (!s)
    return -ENOMEM;
  c->names[c->n] = s;
  c->lens[c->n] = strlen(s);
  if (csv_cols_find(c, s, "") < 0) /* a duplicate name keeps the first */
    index_put(c, c->n);
  c->n++;
  return 0;
}

void csv_cols_reset(csv_cols *c) {
  for (size_t i = 0; i < c->n; i++)
    free(c->names[i]);
  c->n = 0;
  if (c->slots)
    memset(c->slots, 0, c->nslots * sizeof *c->slots);
}

void csv_cols_free(csv_cols *c) {
  csv_cols_reset(c);
  free(c->names);
  free(c->lens);
  free(c->slots);
  memset(c, 0, sizeof *c);
}

/* ---- new columns ------------------------------------------------------- */

/* Notes that the file needs column key+suffix (once). */
static int note_missing(csv_out *o, const char *key, const char *suffix, csv_kind kind) {
  for (size_t i = 0; i < o->nnew; i++)
    if (name_is(o->newcols[i].name, key, suffix))
      return 0;
  if (o->nnew == o->newcap) {
    size_t cap = o->newcap ? o->newcap * 2 : 16;
    struct csv_newcol *v = realloc(o->newcols, cap * sizeof *v);
    if (!v)
      return -ENOMEM;
    o->newcols = v;
    o->newcap = cap;
  }
  size_t kl = strlen(key), sl = strlen(suffix);
  char *name = malloc(kl + sl + 1);
  if (!name)
    return -ENOMEM;
  memcpy(name, key, kl);
  memcpy(name + kl, suffix, sl + 1);
  o->newcols[o->nnew++] = (struct csv_newcol){.name = name, .kind = kind};
  return 0;
}

static int cmp_newcol(const void *a, const void *b) {
  const struct csv_newcol *x = a, *y = b;
  if (x->kind != y->kind)
    return (int)x->kind - (int)y->kind;
  return strcmp(x->name, y->name);
}

static int add_newcols(csv_out *o, csv_file *f) {
  int rc = 0;
  qsort(o->newcols, o->nnew, sizeof *o->newcols, cmp_newcol);
  for (size_t i = 0; i < o->nnew; i++) {
    if (!rc)
      rc = csv_cols_add(&f->cols, o->newcols[i].name, strlen(o->newcols[i].name));
    free(o->newcols[i].name);
  }
  o->nnew = 0;
  return rc;
}

/* ---- rows -------------------------------------------------------------- */

static int reserve_cells(csv_file *f, size_t n) {
  if (n <= f->cell_cap)
    return 0;
  size_t cap = n < 32 ? 32 : 2 * n;
  size_t *off = realloc(f->cell_off, cap * sizeof *off);
  if (!off)
    return -ENOMEM;
  f->cell_off = off;
  size_t *len = realloc(f->cell_len, cap * sizeof *len);
  if (!len)
    return -ENOMEM;
  f->cell_len = len;
  f->cell_cap = cap;
  return 0;
}

/* The state of one row being laid out. */
typedef struct row {
  csv_out *o;
  csv_file *f;
  bool missing; /* a column was missing: the row is not emitted */
  int err;
} row;

/* Finds the column of key+suffix and opens its cell at the end of o->cells.
 * Returns the column, or -1 when it is missing (noted) or the row is not
 * going to be emitted anyway. */
static ptrdiff_t cell_begin(row *r, const char *key, const char *suffix, csv_kind kind) {
  ptrdiff_t c = csv_cols_find(&r->f->cols, key, suffix);
  if (c < 0) {
    r->missing = true;
    if (!r->err)
      r->err = note_missing(r->o, key, suffix, kind);
    return -1;
  }
  if (r->missing)
    return -1;
  r->f->cell_off[c] = tower_buf_len(r->o->cells);
  return c;
}

static void cell_end(row *r, ptrdiff_t c, int rc) {
  r->f->cell_len[c] = tower_buf_len(r->o->cells) - r->f->cell_off[c];
  if (rc && !r->err)
    r->err = rc;
}

static void put_time(row *r, const tower_metric *m) {
  csv_out *o = r->o;
  ptrdiff_t c = cell_begin(r, o->time_column, "", CSV_COL_TIME);
  if (c < 0)
    return;
  tower_buf_reset(o->tmp);
  int rc = tower_format_time(o->tmp, tower_metric_time(m), o->time_format);
  if (!rc)
    rc = tower_csv_cell(o->cells, tower_buf_data(o->tmp), tower_buf_len(o->tmp), o->sep);
  cell_end(r, c, rc);
}

static void put_tags(row *r, const tower_metric *m) {
  csv_out *o = r->o;
  for (size_t i = 0, n = tower_metric_tag_count(m); i < n; i++) {
    const char *key = tower_metric_tag_key(m, i);
    const char *suffix = strcmp(key, o->time_column) == 0 ? "_tag" : "";
    ptrdiff_t c = cell_begin(r, key, suffix, CSV_COL_TAG);
    if (c < 0)
      continue;
    const char *v = tower_metric_tag_value(m, i);
    cell_end(r, c, tower_csv_cell(o->cells, v, strlen(v), o->sep));
  }
}

static void put_fields(row *r, const tower_metric *m) {
  csv_out *o = r->o;
  size_t t = 0, nt = tower_metric_tag_count(m);
  for (size_t i = 0, n = tower_metric_field_count(m); i < n; i++) {
    const char *key = tower_metric_field_key(m, i);
    int cmp = 1; /* tags and fields are both sorted by key: walk them together */
    while (t < nt && (cmp = strcmp(tower_metric_tag_key(m, t), key)) < 0)
      t++;
    bool clash = cmp == 0 || strcmp(key, o->time_column) == 0;
    ptrdiff_t c = cell_begin(r, key, clash ? "_field" : "", CSV_COL_FIELD);
    if (c < 0)
      continue;
    cell_end(r, c, tower_csv_field_cell(o->cells, m, i, o->sep));
  }
}

/* Appends the cells in column order, then "\n". */
static int emit_row(csv_out *o, csv_file *f) {
  const char *cells = tower_buf_data(o->cells);
  int rc = 0;
  for (size_t c = 0; c < f->cols.n && !rc; c++) {
    if (c)
      rc = tower_buf_append(f->buf, &o->sep, 1);
    if (!rc && f->cell_len[c] != SIZE_MAX)
      rc = tower_buf_append(f->buf, cells + f->cell_off[c], f->cell_len[c]);
  }
  return rc ? rc : tower_buf_append(f->buf, "\n", 1);
}

/* Lays out one metric as a row of f->buf. Returns 0, 1 when the header
 * lacks a column (noted in o->newcols; nothing appended), or -ENOMEM.
 * With `skip`, only notes missing columns. */
static int render_row(csv_out *o, csv_file *f, const tower_metric *m, bool skip) {
  if (reserve_cells(f, f->cols.n))
    return -ENOMEM;
  if (f->cols.n) /* no column yet: cell_len may still be NULL */
    memset(f->cell_len, 0xff, f->cols.n * sizeof *f->cell_len);
  tower_buf_reset(o->cells);
  row r = {.o = o, .f = f, .missing = skip};
  put_time(&r, m);
  put_tags(&r, m);
  put_fields(&r, m);
  if (r.err)
    return r.err;
  if (r.missing)
    return skip ? 0 : 1;
  return emit_row(o, f);
}

int csv_file_render(csv_out *o, csv_file *f) {
  if (!f->buf && !(f->buf = tower_buf_new(64 * 1024)))
    return -ENOMEM;
  for (int pass = 0; pass < 2; pass++) {
    tower_buf_reset(f->buf);
    bool missing = false;
    for (size_t i = 0; i < f->nrows; i++) {
      int rc = render_row(o, f, f->rows[i], missing);
      if (rc < 0) {
        for (size_t k = 0; k < o->nnew; k++)
          free(o->newcols[k].name);
        o->nnew = 0;
        return rc;
      }
      missing = missing || rc == 1;
    }
    if (!missing)
      return 0;
    /* widen once for the whole batch, then lay the rows out again */
    int rc = add_newcols(o, f);
    if (rc)
      return rc;
  }
  return -EINVAL; /* unreachable: the second pass finds every column */
}

int csv_header(csv_out *o, const csv_cols *cols, tower_buf *out) {
  int rc = 0;
  for (size_t c = 0; c < cols->n && !rc; c++) {
    if (c)
      rc = tower_buf_append(out, &o->sep, 1);
    if (!rc)
      rc = tower_csv_cell(out, cols->names[c], strlen(cols->names[c]), o->sep);
  }
  return rc ? rc : tower_buf_append(out, "\n", 1);
}
