/* The metric: one heap block per metric.
 *
 * Layout of the data area (8-byte aligned), capacities in the header:
 *   uint64_t values[field_cap]   field values; string fields hold a string offset
 *   uint32_t fkeys[field_cap]    key offset (low 24 bits) | field type (high 8)
 *   uint32_t tags[2 * tag_cap]   key offset, value offset
 *   char     strings[str_cap]    NUL-terminated strings, referenced by offset
 * The data area follows the 40-byte header in the same allocation. When a
 * metric outgrows it, the data moves to a block of its own whose address is
 * kept in the first bytes of the (now unused) inline area, so the header,
 * and the caller's pointer, never move while a plugin builds the metric.
 * twi_metric_pack() puts a metric back into one exact-size block when it
 * enters the output buffers, where it may stay a long time. A disk buffer
 * stores the areas as they are behind a small header (twi_metric_encode,
 * at the end of this file).
 *
 * Offsets instead of pointers keep entries small (a field costs 12 bytes plus
 * its key) and let areas move without fix-ups. Replaced or removed strings
 * stay in the area as garbage (flagged) until the next pack drops them.
 *
 * The shape form (F_SHAPE), for metrics waiting in output buffers: the
 * field keys, tags and strings live in a shape interned once per series
 * (metric_shape.c) and shared, and the metric keeps only its header and
 * values[nfields], the header's string counters replaced by the shape's
 * address. twi_metric_pack() chooses it for a metric without string fields
 * (their values differ metric to metric); a change to such a metric first
 * gives it its own areas again (own_areas), so a shape never changes.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "metric_internal.h"
#include "metric_shape.h"

#define STR_LIMIT (1u << 24) /* 24-bit string offsets */
#define KEY_MASK 0x00ffffffu
#define TYPE_SHIFT 24

#define F_EXTERNAL 0x1u /* data lives in a block of its own */
#define F_GARBAGE 0x2u  /* the string area holds dead strings */
#define F_SHAPE 0x4u    /* keys and strings live in a shared shape */

/* The members after `time` exist only in a metric with areas of its own:
 * in the shape form the values start where they would be. */
struct tower_metric {
  _Atomic uint32_t refs;
  uint16_t ntags, nfields;
  uint8_t vtype, flags;
  uint16_t spare;
  uint32_t gather_id; /* wraps after 4e9 gathers: only equality matters */
  union {
    struct {
      uint32_t str_used, str_cap;
    };
    const twi_shape *shape; /* F_SHAPE */
  };
  int64_t time;
  uint16_t tag_cap, field_cap;
  uint32_t name;
};

#define SHAPE_HEADER offsetof(struct tower_metric, tag_cap)
_Static_assert(sizeof(struct tower_metric) == 40, "metric header grew");
_Static_assert(SHAPE_HEADER == 32, "the shape form's header is 32 bytes");

static inline char *data(const tower_metric *m) {
  char *inl = (char *)(uintptr_t)(m + 1);
  if (!(m->flags & F_EXTERNAL))
    return inl;
  char *ext;
  memcpy(&ext, inl, sizeof ext);
  return ext;
}

/* In the shape form the values stay inline and the rest is the shape's:
 * only readers reach those areas then, the writers call own_areas first. */
static inline uint64_t *values(const tower_metric *m) {
  if (m->flags & F_SHAPE)
    return (uint64_t *)(uintptr_t)((const char *)m + SHAPE_HEADER);
  return (uint64_t *)(void *)data(m);
}

static inline uint32_t *fkeys(const tower_metric *m) {
  if (m->flags & F_SHAPE)
    return (uint32_t *)(uintptr_t)twi_shape_fkeys(m->shape);
  return (uint32_t *)(void *)(data(m) + (size_t)m->field_cap * 8);
}

static inline uint32_t *tags(const tower_metric *m) {
  if (m->flags & F_SHAPE)
    return (uint32_t *)(uintptr_t)twi_shape_tags(m->shape);
  return (uint32_t *)(void *)(data(m) + (size_t)m->field_cap * 12);
}

static inline char *strings(const tower_metric *m) {
  if (m->flags & F_SHAPE)
    return (char *)(uintptr_t)twi_shape_strings(m->shape);
  return data(m) + (size_t)m->field_cap * 12 + (size_t)m->tag_cap * 8;
}

/* Offset of the name in the string area. */
static inline uint32_t name_at(const tower_metric *m) {
  return (m->flags & F_SHAPE) ? m->shape->name : m->name;
}

/* Bytes of the string area in use. */
static inline uint32_t used_bytes(const tower_metric *m) {
  return (m->flags & F_SHAPE) ? m->shape->str_used : m->str_used;
}

static inline const char *str_at(const tower_metric *m, uint32_t off) {
  return strings(m) + off;
}

static size_t data_size(size_t field_cap, size_t tag_cap, size_t str_cap) {
  return field_cap * 12 + tag_cap * 8 + str_cap;
}

/* Bytes of a data area for these capacities: 8-aligned, and never smaller
 * than the pointer an external block leaves in it. */
static size_t area_bytes(size_t field_cap, size_t tag_cap, size_t str_cap) {
  size_t n = (data_size(field_cap, tag_cap, str_cap) + 7) & ~(size_t)7;
  return n < sizeof(char *) ? sizeof(char *) : n;
}

/* ---- construction ----------------------------------------------------- */

static bool caps_ok(size_t field_cap, size_t tag_cap, size_t str_cap) {
  return field_cap <= UINT16_MAX && tag_cap <= UINT16_MAX && str_cap < STR_LIMIT;
}

static void set_caps(tower_metric *m, size_t field_cap, size_t tag_cap, size_t bytes) {
  m->field_cap = (uint16_t)field_cap;
  m->tag_cap = (uint16_t)tag_cap;
  m->str_cap = (uint32_t)(bytes - data_size(field_cap, tag_cap, 0));
}

static tower_metric *alloc_metric(size_t field_cap, size_t tag_cap, size_t str_cap) {
  if (!caps_ok(field_cap, tag_cap, str_cap))
    return NULL;
  size_t bytes = area_bytes(field_cap, tag_cap, str_cap);
  tower_metric *m = malloc(sizeof(*m) + bytes);
  if (!m)
    return NULL;
  memset(m, 0, sizeof(*m));
  atomic_init(&m->refs, 1);
  set_caps(m, field_cap, tag_cap, bytes);
  return m;
}

/* Appends `len` bytes plus a NUL to the string area, which the caller made
 * large enough. Returns the offset. */
static uint32_t put_str(tower_metric *m, const char *s, size_t len) {
  uint32_t off = m->str_used;
  char *dst = strings(m) + off;
  memcpy(dst, s, len);
  dst[len] = '\0';
  m->str_used += (uint32_t)len + 1;
  return off;
}

tower_metric *twi_metric_new_sized(const char *name, size_t name_len, int64_t time_ns, size_t ntags,
                                   size_t nfields, size_t str_bytes) {
  if (!name || name_len == 0)
    return NULL;
  tower_metric *m = alloc_metric(nfields, ntags, name_len + 1 + str_bytes);
  if (!m)
    return NULL;
  m->name = put_str(m, name, name_len);
  m->time = time_ns;
  return m;
}

tower_metric *twi_metric_new_head(const char *head, size_t head_len, size_t name_len,
                                  int64_t time_ns, size_t ntags, size_t nfields, size_t str_bytes) {
  if (!head || name_len == 0 || name_len > head_len || head_len > name_len + str_bytes)
    return NULL;
  tower_metric *m = alloc_metric(nfields, ntags, name_len + 1 + str_bytes);
  if (!m)
    return NULL;
  char *str = strings(m);
  memcpy(str, head, head_len);
  str[head_len] = '\0';
  str[name_len] = '\0'; /* the ',' before the first tag */
  m->str_used = (uint32_t)head_len + 1;
  m->time = time_ns;
  return m;
}

void twi_metric_append_tag_at(tower_metric *m, size_t key, size_t klen, size_t value, size_t vlen) {
  char *str = strings(m);
  str[key + klen] = '\0';   /* the '=' */
  str[value + vlen] = '\0'; /* the ',' before the next tag, or the head's end */
  uint32_t *t = tags(m) + 2 * m->ntags;
  t[0] = (uint32_t)key;
  t[1] = (uint32_t)value;
  m->ntags++;
}

tower_metric *tower_metric_new(const char *name, int64_t time_ns) {
  if (!name)
    return NULL;
  /* Room for most metrics (cpu: 10 fields, 4 tags) without regrowth; the
   * slack goes when the metric is packed into the output buffers. */
  return twi_metric_new_sized(name, strlen(name), time_ns, 8, 16, 320);
}

/* Copies name, fields and tags of `src` into the empty areas of `dst`, whose
 * capacities must hold them; garbage strings are left behind. */
static void copy_content(tower_metric *dst, const tower_metric *src) {
  dst->str_used = 0;
  const char *name = str_at(src, name_at(src));
  dst->name = put_str(dst, name, strlen(name));
  for (size_t i = 0; i < src->nfields; i++) {
    uint32_t k = fkeys(src)[i];
    const char *key = str_at(src, k & KEY_MASK);
    uint8_t type = (uint8_t)(k >> TYPE_SHIFT);
    uint64_t v = values(src)[i];
    if (type == TOWER_FIELD_STRING) {
      const char *s = str_at(src, (uint32_t)v);
      v = put_str(dst, s, strlen(s));
    }
    fkeys(dst)[i] = put_str(dst, key, strlen(key)) | ((uint32_t)type << TYPE_SHIFT);
    values(dst)[i] = v;
  }
  for (size_t i = 0; i < 2u * src->ntags; i++) {
    const char *s = str_at(src, tags(src)[i]);
    tags(dst)[i] = put_str(dst, s, strlen(s));
  }
  dst->nfields = src->nfields;
  dst->ntags = src->ntags;
  dst->vtype = src->vtype;
  dst->time = src->time;
  dst->gather_id = src->gather_id;
}

/* Copies the areas of `src` (without garbage) into `dst`'s areas as they
 * are: offsets stay valid, so no string is touched one by one. */
static void copy_areas(tower_metric *dst, const tower_metric *src) {
  memcpy(values(dst), values(src), (size_t)src->nfields * 8);
  memcpy(fkeys(dst), fkeys(src), (size_t)src->nfields * 4);
  memcpy(tags(dst), tags(src), (size_t)src->ntags * 8);
  memcpy(strings(dst), strings(src), used_bytes(src));
  dst->str_used = used_bytes(src);
  dst->name = name_at(src);
  dst->nfields = src->nfields;
  dst->ntags = src->ntags;
  dst->vtype = src->vtype;
  dst->time = src->time;
  dst->gather_id = src->gather_id;
}

/* Copies everything into `dst`, dropping garbage when there is any. */
static void copy_all(tower_metric *dst, const tower_metric *src) {
  if (src->flags & F_GARBAGE)
    copy_content(dst, src);
  else
    copy_areas(dst, src);
}

/* Live string bytes: what the area holds once garbage is dropped. */
static size_t live_str_bytes(const tower_metric *m) {
  if (!(m->flags & F_GARBAGE))
    return used_bytes(m);
  size_t n = strlen(str_at(m, name_at(m))) + 1;
  for (size_t i = 0; i < m->nfields; i++) {
    uint32_t k = fkeys(m)[i];
    n += strlen(str_at(m, k & KEY_MASK)) + 1;
    if ((k >> TYPE_SHIFT) == TOWER_FIELD_STRING)
      n += strlen(str_at(m, (uint32_t)values(m)[i])) + 1;
  }
  for (size_t i = 0; i < 2u * m->ntags; i++)
    n += strlen(str_at(m, tags(m)[i])) + 1;
  return n;
}

/* Moves the content into a data block of its own with the given capacities.
 * The header, and so the caller's pointer, stays where it is. */
static int relocate(tower_metric *m, size_t field_cap, size_t tag_cap, size_t str_cap) {
  if (!caps_ok(field_cap, tag_cap, str_cap))
    return -E2BIG;
  size_t bytes = area_bytes(field_cap, tag_cap, str_cap);
  char *nd = malloc(bytes);
  if (!nd)
    return -ENOMEM;
  /* A view of the new block through a scratch header, filled from m. */
  struct {
    tower_metric h;
    char *ext;
  } view;
  memset(&view.h, 0, sizeof view.h);
  view.h.flags = F_EXTERNAL;
  view.ext = nd;
  set_caps(&view.h, field_cap, tag_cap, bytes);
  copy_all(&view.h, m);
  if (m->flags & F_EXTERNAL)
    free(data(m));
  else if (m->flags & F_SHAPE)
    twi_shape_release(m->shape); /* the inline values were copied */
  m->field_cap = view.h.field_cap;
  m->tag_cap = view.h.tag_cap;
  m->str_cap = view.h.str_cap;
  m->str_used = view.h.str_used;
  m->name = view.h.name;
  m->flags = F_EXTERNAL;
  memcpy(m + 1, &nd, sizeof nd);
  return 0;
}

static size_t grow_to(size_t cap, size_t need) {
  size_t c = cap * 2 > need ? cap * 2 : need;
  return c < 4 ? 4 : c;
}

/* Makes room for more fields/tags and `str_bytes` of strings. */
static int reserve(tower_metric *m, size_t more_fields, size_t more_tags, size_t str_bytes) {
  size_t nf = m->nfields + more_fields, nt = m->ntags + more_tags;
  if (nf <= m->field_cap && nt <= m->tag_cap && m->str_used + str_bytes <= m->str_cap)
    return 0;
  if (nf > UINT16_MAX || nt > UINT16_MAX)
    return -E2BIG;
  size_t fc = nf <= m->field_cap ? m->field_cap : grow_to(m->field_cap, nf);
  size_t tc = nt <= m->tag_cap ? m->tag_cap : grow_to(m->tag_cap, nt);
  size_t need = live_str_bytes(m) + str_bytes;
  if (need >= STR_LIMIT)
    return -E2BIG;
  size_t sc = need <= m->str_cap ? m->str_cap : grow_to(m->str_cap, need);
  if (fc > UINT16_MAX)
    fc = UINT16_MAX;
  if (tc > UINT16_MAX)
    tc = UINT16_MAX;
  if (sc >= STR_LIMIT)
    sc = STR_LIMIT - 1;
  return relocate(m, fc, tc, sc);
}

/* Slides the areas of an inline metric down to their exact sizes (no
 * garbage), so the block can shrink with realloc. */
static void compact_inline(tower_metric *m) {
  char *d = data(m);
  size_t nf = m->nfields, nt = m->ntags;
  memmove(d + nf * 8, fkeys(m), nf * 4);
  memmove(d + nf * 12, tags(m), nt * 8);
  memmove(d + nf * 12 + nt * 8, strings(m), m->str_used);
  set_caps(m, nf, nt, area_bytes(nf, nt, m->str_used));
}

/* Packs a metric into one exact-size block of its own. */
static int pack_own(tower_metric **pm) {
  tower_metric *m = *pm;
  size_t live = live_str_bytes(m);
  size_t exact = area_bytes(m->nfields, m->ntags, live);
  size_t now = data_size(m->field_cap, m->tag_cap, m->str_cap);
  bool inline_clean = !(m->flags & (F_EXTERNAL | F_GARBAGE));
  if (inline_clean && now < exact + 32)
    return 0; /* not worth a call to the allocator */
  if (inline_clean) {
    compact_inline(m);
    tower_metric *r = realloc(m, sizeof *m + exact);
    *pm = r ? r : m; /* a failed shrink leaves a valid, larger block */
    return 0;
  }
  tower_metric *n = alloc_metric(m->nfields, m->ntags, live);
  if (!n)
    return -ENOMEM;
  copy_all(n, m);
  tower_metric_free(m);
  *pm = n;
  return 0;
}

/* The block of a metric in the shape form: never smaller than a full
 * header and the external pointer, which own_areas() writes in place. */
static size_t shaped_bytes(size_t nfields) {
  size_t n = SHAPE_HEADER + nfields * 8, least = sizeof(tower_metric) + sizeof(char *);
  return n < least ? least : n;
}

static bool has_string_field(const tower_metric *m) {
  for (size_t i = 0; i < m->nfields; i++)
    if ((fkeys(m)[i] >> TYPE_SHIFT) == TOWER_FIELD_STRING)
      return true;
  return false;
}

/* Moves a clean metric (no garbage) into the shape form: its keys interned,
 * a new block holding the header and the values. Nonzero when it stays as
 * it is (no memory, or the shape table declined). */
static int pack_shaped(tower_metric **pm) {
  tower_metric *m = *pm;
  twi_shape_key k = {.fkeys = fkeys(m),
                     .tags = tags(m),
                     .strings = strings(m),
                     .name = m->name,
                     .str_used = m->str_used,
                     .nfields = m->nfields,
                     .ntags = m->ntags};
  const twi_shape *shape = twi_shape_intern(&k);
  if (!shape)
    return -ENOMEM;
  tower_metric *n = malloc(shaped_bytes(m->nfields));
  if (!n) {
    twi_shape_release(shape);
    return -ENOMEM;
  }
  atomic_init(&n->refs, 1);
  n->ntags = m->ntags;
  n->nfields = m->nfields;
  n->vtype = m->vtype;
  n->flags = F_SHAPE;
  n->spare = 0;
  n->gather_id = m->gather_id;
  n->shape = shape;
  n->time = m->time;
  memcpy(values(n), values(m), (size_t)m->nfields * 8);
  tower_metric_free(m);
  *pm = n;
  return 0;
}

/* A metric entering the output buffers, where it may wait a long time,
 * takes its smallest form: the shape form when its keys can be shared (it
 * has fields, none of them strings), else one exact-size block. */
int twi_metric_pack(tower_metric **pm) {
  if ((*pm)->flags & F_SHAPE)
    return 0;
  if ((*pm)->flags & F_GARBAGE) {
    int rc = pack_own(pm);
    if (rc)
      return rc;
  }
  if ((*pm)->nfields > 0 && !has_string_field(*pm) && pack_shaped(pm) == 0)
    return 0;
  return pack_own(pm);
}

tower_metric *tower_metric_clone(const tower_metric *m) {
  if (!m)
    return NULL;
  tower_metric *n = alloc_metric(m->nfields, m->ntags, live_str_bytes(m));
  if (n)
    copy_all(n, m);
  return n;
}

void tower_metric_free(tower_metric *m) {
  if (!m)
    return;
  if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (m->flags & F_EXTERNAL)
    free(data(m));
  else if (m->flags & F_SHAPE)
    twi_shape_release(m->shape);
  free(m);
}

const tower_metric *tower_metric_retain(const tower_metric *m) {
  atomic_fetch_add_explicit(&((tower_metric *)m)->refs, 1, memory_order_relaxed);
  return m;
}

void tower_metric_release(const tower_metric *m) {
  tower_metric_free((tower_metric *)m);
}

bool tower_metric_is_shared(const tower_metric *m) {
  return atomic_load_explicit(&((tower_metric *)m)->refs, memory_order_acquire) > 1;
}

size_t twi_metric_bytes(const tower_metric *m) {
  if (m->flags & F_SHAPE)
    return shaped_bytes(m->nfields); /* the shape is shared */
  return sizeof(*m) + area_bytes(m->field_cap, m->tag_cap, m->str_cap);
}

void twi_metric_set_gather_id(tower_metric *m, uint64_t id) {
  m->gather_id = (uint32_t)id;
}

/* ---- reading ---------------------------------------------------------- */

const char *tower_metric_name(const tower_metric *m) {
  return str_at(m, name_at(m));
}
int64_t tower_metric_time(const tower_metric *m) {
  return m->time;
}
tower_value_type tower_metric_type(const tower_metric *m) {
  return (tower_value_type)m->vtype;
}
uint64_t tower_metric_gather_id(const tower_metric *m) {
  return m->gather_id;
}
size_t tower_metric_tag_count(const tower_metric *m) {
  return m->ntags;
}
size_t tower_metric_field_count(const tower_metric *m) {
  return m->nfields;
}

const char *tower_metric_tag_key(const tower_metric *m, size_t i) {
  return i < m->ntags ? str_at(m, tags(m)[2 * i]) : NULL;
}

const char *tower_metric_tag_value(const tower_metric *m, size_t i) {
  return i < m->ntags ? str_at(m, tags(m)[2 * i + 1]) : NULL;
}

/* strcmp() of NUL-terminated `k` against the klen bytes of `key`. */
static int cmp_key(const char *k, const char *key, size_t klen) {
  int c = strncmp(k, key, klen);
  return c != 0 ? c : (k[klen] != '\0');
}

/* Binary search over sorted keys: returns the index of `key` or, as -(i+1),
 * the index where it would be inserted. Keys often arrive in sorted order, so
 * the last key is checked first to make appending O(1). */
static ptrdiff_t search(const tower_metric *m, const uint32_t *offs, size_t stride, size_t n,
                        const char *key, size_t klen) {
  if (n > 0 && cmp_key(str_at(m, offs[stride * (n - 1)] & KEY_MASK), key, klen) < 0)
    return -(ptrdiff_t)n - 1;
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = cmp_key(str_at(m, offs[stride * mid] & KEY_MASK), key, klen);
    if (c == 0)
      return (ptrdiff_t)mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -(ptrdiff_t)lo - 1;
}

static ptrdiff_t find_tag(const tower_metric *m, const char *key, size_t klen) {
  return search(m, tags(m), 2, m->ntags, key, klen);
}

static ptrdiff_t find_field(const tower_metric *m, const char *key, size_t klen) {
  return search(m, fkeys(m), 1, m->nfields, key, klen);
}

const char *tower_metric_tag(const tower_metric *m, const char *key) {
  if (!key)
    return NULL;
  ptrdiff_t i = find_tag(m, key, strlen(key));
  return i >= 0 ? str_at(m, tags(m)[2 * i + 1]) : NULL;
}

const char *tower_metric_field_key(const tower_metric *m, size_t i) {
  return i < m->nfields ? str_at(m, fkeys(m)[i] & KEY_MASK) : NULL;
}

tower_field_type tower_metric_field_type(const tower_metric *m, size_t i) {
  return i < m->nfields ? (tower_field_type)(fkeys(m)[i] >> TYPE_SHIFT) : (tower_field_type)0;
}

static bool field_is(const tower_metric *m, size_t i, tower_field_type t) {
  return i < m->nfields && (fkeys(m)[i] >> TYPE_SHIFT) == (uint32_t)t;
}

double tower_metric_field_float(const tower_metric *m, size_t i) {
  double d = 0;
  if (field_is(m, i, TOWER_FIELD_FLOAT))
    memcpy(&d, &values(m)[i], sizeof d);
  return d;
}

int64_t tower_metric_field_int(const tower_metric *m, size_t i) {
  return field_is(m, i, TOWER_FIELD_INT) ? (int64_t)values(m)[i] : 0;
}

uint64_t tower_metric_field_uint(const tower_metric *m, size_t i) {
  return field_is(m, i, TOWER_FIELD_UINT) ? values(m)[i] : 0;
}

bool tower_metric_field_bool(const tower_metric *m, size_t i) {
  return field_is(m, i, TOWER_FIELD_BOOL) ? values(m)[i] != 0 : false;
}

const char *tower_metric_field_string(const tower_metric *m, size_t i) {
  return field_is(m, i, TOWER_FIELD_STRING) ? str_at(m, (uint32_t)values(m)[i]) : NULL;
}

ptrdiff_t tower_metric_field_index(const tower_metric *m, const char *key) {
  if (!key)
    return -1;
  ptrdiff_t i = find_field(m, key, strlen(key));
  return i >= 0 ? i : -1;
}

bool tower_metric_field_number(const tower_metric *m, size_t i, double *out) {
  if (i >= m->nfields)
    return false;
  uint64_t v = values(m)[i];
  switch (fkeys(m)[i] >> TYPE_SHIFT) {
  case TOWER_FIELD_FLOAT:
    memcpy(out, &v, sizeof *out);
    return true;
  case TOWER_FIELD_INT:
    *out = (double)(int64_t)v;
    return true;
  case TOWER_FIELD_UINT:
    *out = (double)v;
    return true;
  case TOWER_FIELD_BOOL:
    *out = v ? 1.0 : 0.0;
    return true;
  default:
    return false;
  }
}

/* ---- changing --------------------------------------------------------- */

/* Gives a metric in the shape form its own areas, exactly sized, so that a
 * change never reaches the shared shape. */
static int own_areas(tower_metric *m) {
  if (!(m->flags & F_SHAPE))
    return 0;
  return relocate(m, m->nfields, m->ntags, m->shape->str_used);
}

/* For changes to the header only (time, type). */
static int check_writable_header(const tower_metric *m) {
  if (!m)
    return -EINVAL;
  return tower_metric_is_shared(m) ? -EBUSY : 0;
}

/* For changes to keys, values or strings. */
static int check_writable(tower_metric *m) {
  int rc = check_writable_header(m);
  return rc ? rc : own_areas(m);
}

int tower_metric_set_name(tower_metric *m, const char *name) {
  int rc = check_writable(m);
  if (rc)
    return rc;
  if (!name || !*name)
    return -EINVAL;
  size_t len = strlen(name);
  if ((rc = reserve(m, 0, 0, len + 1)))
    return rc;
  m->name = put_str(m, name, len);
  m->flags |= F_GARBAGE; /* the old name */
  return 0;
}

int tower_metric_set_time(tower_metric *m, int64_t time_ns) {
  int rc = check_writable_header(m);
  if (rc)
    return rc;
  m->time = time_ns;
  return 0;
}

int tower_metric_set_type(tower_metric *m, tower_value_type type) {
  int rc = check_writable_header(m);
  if (rc)
    return rc;
  if ((unsigned)type > TOWER_HISTOGRAM)
    return -EINVAL;
  m->vtype = (uint8_t)type;
  return 0;
}

int tower_metric_add_tag_n(tower_metric *m, const char *key, size_t klen, const char *value,
                           size_t vlen) {
  int rc = check_writable(m);
  if (rc)
    return rc;
  if (!key || !value || klen == 0 || vlen == 0)
    return -EINVAL;
  ptrdiff_t i = find_tag(m, key, klen);
  if (i >= 0) {
    if ((rc = reserve(m, 0, 0, vlen + 1)))
      return rc;
    tags(m)[2 * i + 1] = put_str(m, value, vlen);
    m->flags |= F_GARBAGE; /* the old value */
    return 0;
  }
  if ((rc = reserve(m, 0, 1, klen + vlen + 2)))
    return rc;
  size_t at = (size_t)(-i - 1);
  uint32_t *t = tags(m);
  memmove(&t[2 * at + 2], &t[2 * at], (m->ntags - at) * 2 * sizeof *t);
  t[2 * at] = put_str(m, key, klen);
  t[2 * at + 1] = put_str(m, value, vlen);
  m->ntags++;
  return 0;
}

int tower_metric_add_tag(tower_metric *m, const char *key, const char *value) {
  if (!key || !value)
    return -EINVAL;
  return tower_metric_add_tag_n(m, key, strlen(key), value, strlen(value));
}

int tower_metric_remove_tag(tower_metric *m, const char *key) {
  int rc = check_writable(m);
  if (rc)
    return rc;
  if (!key)
    return -EINVAL;
  ptrdiff_t i = find_tag(m, key, strlen(key));
  if (i < 0)
    return -ENOENT;
  uint32_t *t = tags(m);
  memmove(&t[2 * i], &t[2 * i + 2], (m->ntags - (size_t)i - 1) * 2 * sizeof *t);
  m->ntags--;
  m->flags |= F_GARBAGE;
  return 0;
}

/* Inserts or replaces field `key` with raw value `v` of `type`. For string
 * fields `s`/`slen` is the string (v is ignored). */
static int put_field(tower_metric *m, const char *key, size_t klen, uint8_t type, uint64_t v,
                     const char *s, size_t slen) {
  int rc = check_writable(m);
  if (rc)
    return rc;
  if (!key || klen == 0)
    return -EINVAL;
  size_t sbytes = type == TOWER_FIELD_STRING ? slen + 1 : 0;
  ptrdiff_t i = find_field(m, key, klen);
  if (i < 0) {
    if ((rc = reserve(m, 1, 0, klen + 1 + sbytes)))
      return rc;
    size_t at = (size_t)(-i - 1);
    memmove(&values(m)[at + 1], &values(m)[at], (m->nfields - at) * sizeof(uint64_t));
    memmove(&fkeys(m)[at + 1], &fkeys(m)[at], (m->nfields - at) * sizeof(uint32_t));
    fkeys(m)[at] = put_str(m, key, klen);
    m->nfields++;
    i = (ptrdiff_t)at;
  } else {
    if (sbytes && (rc = reserve(m, 0, 0, sbytes)))
      return rc;
    if ((fkeys(m)[i] >> TYPE_SHIFT) == TOWER_FIELD_STRING)
      m->flags |= F_GARBAGE; /* the old string value */
  }
  if (type == TOWER_FIELD_STRING)
    v = put_str(m, s, slen);
  fkeys(m)[i] = (fkeys(m)[i] & KEY_MASK) | ((uint32_t)type << TYPE_SHIFT);
  values(m)[i] = v;
  return 0;
}

int tower_metric_add_float(tower_metric *m, const char *key, double value) {
  uint64_t v;
  memcpy(&v, &value, sizeof v);
  return put_field(m, key, key ? strlen(key) : 0, TOWER_FIELD_FLOAT, v, NULL, 0);
}

int tower_metric_add_int(tower_metric *m, const char *key, int64_t value) {
  return put_field(m, key, key ? strlen(key) : 0, TOWER_FIELD_INT, (uint64_t)value, NULL, 0);
}

int tower_metric_add_uint(tower_metric *m, const char *key, uint64_t value) {
  return put_field(m, key, key ? strlen(key) : 0, TOWER_FIELD_UINT, value, NULL, 0);
}

int tower_metric_add_bool(tower_metric *m, const char *key, bool value) {
  return put_field(m, key, key ? strlen(key) : 0, TOWER_FIELD_BOOL, value ? 1 : 0, NULL, 0);
}

int tower_metric_add_string_n(tower_metric *m, const char *key, size_t klen, const char *value,
                              size_t vlen) {
  if (!value)
    return -EINVAL;
  return put_field(m, key, klen, TOWER_FIELD_STRING, 0, value, vlen);
}

int tower_metric_add_string(tower_metric *m, const char *key, const char *value) {
  if (!key || !value)
    return -EINVAL;
  return tower_metric_add_string_n(m, key, strlen(key), value, strlen(value));
}

void twi_metric_append_tag(tower_metric *m, const char *key, size_t klen, const char *value,
                           size_t vlen) {
  uint32_t *t = tags(m) + 2 * m->ntags;
  t[0] = put_str(m, key, klen);
  t[1] = put_str(m, value, vlen);
  m->ntags++;
}

void twi_metric_append_field(tower_metric *m, const char *key, size_t klen, tower_field_type type,
                             uint64_t raw, const char *s, size_t slen) {
  size_t i = m->nfields++;
  fkeys(m)[i] = put_str(m, key, klen) | ((uint32_t)type << TYPE_SHIFT);
  values(m)[i] = type == TOWER_FIELD_STRING ? put_str(m, s, slen) : raw;
}

int twi_metric_add_field_n(tower_metric *m, const char *key, size_t klen, tower_field_type type,
                           uint64_t raw) {
  return put_field(m, key, klen, (uint8_t)type, raw, NULL, 0);
}

int tower_metric_remove_field(tower_metric *m, const char *key) {
  int rc = check_writable(m);
  if (rc)
    return rc;
  if (!key)
    return -EINVAL;
  ptrdiff_t i = find_field(m, key, strlen(key));
  if (i < 0)
    return -ENOENT;
  size_t n = m->nfields - (size_t)i - 1;
  memmove(&values(m)[i], &values(m)[i + 1], n * sizeof(uint64_t));
  memmove(&fkeys(m)[i], &fkeys(m)[i + 1], n * sizeof(uint32_t));
  m->nfields--;
  m->flags |= F_GARBAGE;
  return 0;
}

/* ---- the on-disk form (disk buffers) ---------------------------------- */

/* Header: version u8, vtype u8, ntags u16, nfields u16, flags u16 (0),
 * name u32, str_used u32, gather_id u32, time i64; then values[nfields]
 * u64, fkeys[nfields] u32, tags[2 * ntags] u32, strings[str_used]. */
_Static_assert(TWI_METRIC_ENC_HEADER == 1 + 1 + 2 + 2 + 2 + 4 + 4 + 4 + 8, "header layout");

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_IS_LE 1
#else
#define HOST_IS_LE 0
#endif

static void put_le(unsigned char *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* Copies n elements of `size` bytes between host order and little-endian
 * (the same operation both ways). */
static void copy_le(void *dst, const void *src, size_t n, int size) {
  if (HOST_IS_LE) {
    memcpy(dst, src, n * (size_t)size);
    return;
  }
  const unsigned char *s = src;
  unsigned char *d = dst;
  for (size_t i = 0; i < n; i++, s += size, d += size)
    for (int b = 0; b < size; b++)
      d[b] = s[size - 1 - b];
}

size_t twi_metric_encoded_size(const tower_metric *m) {
  return TWI_METRIC_ENC_HEADER + (size_t)m->nfields * 12 + (size_t)m->ntags * 8 + live_str_bytes(m);
}

static size_t encode_clean(const tower_metric *m, unsigned char *p) {
  size_t nf = m->nfields, nt = m->ntags;
  p[0] = TWI_METRIC_ENC_VERSION;
  p[1] = m->vtype;
  put_le(p + 2, nt, 2);
  put_le(p + 4, nf, 2);
  put_le(p + 6, 0, 2);
  put_le(p + 8, name_at(m), 4);
  put_le(p + 12, used_bytes(m), 4);
  put_le(p + 16, m->gather_id, 4);
  put_le(p + 20, (uint64_t)m->time, 8);
  unsigned char *q = p + TWI_METRIC_ENC_HEADER;
  copy_le(q, values(m), nf, 8);
  copy_le(q + nf * 8, fkeys(m), nf, 4);
  copy_le(q + nf * 12, tags(m), 2 * nt, 4);
  memcpy(q + nf * 12 + nt * 8, strings(m), used_bytes(m));
  return TWI_METRIC_ENC_HEADER + nf * 12 + nt * 8 + used_bytes(m);
}

size_t twi_metric_encode(const tower_metric *m, void *out, size_t cap) {
  if (twi_metric_encoded_size(m) > cap)
    return 0;
  if (!(m->flags & F_GARBAGE))
    return encode_clean(m, out);
  tower_metric *c = tower_metric_clone(m); /* drops the garbage */
  size_t n = c ? encode_clean(c, out) : 0;
  tower_metric_free(c);
  return n;
}

/* The decoder's view of an encoding, read field by field from bytes that
 * may sit at any alignment. */
typedef struct enc_view {
  const unsigned char *p;
  size_t nf, nt, str_used;
  const unsigned char *values, *fkeys, *tags;
  const char *strs;
} enc_view;

static uint32_t view_u32(const unsigned char *base, size_t i) {
  return (uint32_t)get_le(base + 4 * i, 4);
}

/* A string offset that names a non-empty string of the area (the area
 * ends with a NUL, checked before, so every offset inside it does too). */
static bool str_ok(const enc_view *v, uint64_t off) {
  return off < v->str_used && v->strs[off] != '\0';
}

static const char *check_fields(const enc_view *v) {
  const char *prev = NULL;
  for (size_t i = 0; i < v->nf; i++) {
    uint32_t k = view_u32(v->fkeys, i);
    uint32_t type = k >> TYPE_SHIFT;
    if (!str_ok(v, k & KEY_MASK))
      return "a field key offset is outside the strings";
    if (type < TOWER_FIELD_FLOAT || type > TOWER_FIELD_STRING)
      return "a field has an unknown type";
    uint64_t val = get_le(v->values + 8 * i, 8);
    if (type == TOWER_FIELD_STRING && val >= v->str_used)
      return "a string field's value offset is outside the strings";
    const char *key = v->strs + (k & KEY_MASK);
    if (prev && strcmp(prev, key) >= 0)
      return "field keys are not sorted and unique";
    prev = key;
  }
  return NULL;
}

static const char *check_tags(const enc_view *v) {
  const char *prev = NULL;
  for (size_t i = 0; i < v->nt; i++) {
    uint32_t k = view_u32(v->tags, 2 * i), val = view_u32(v->tags, 2 * i + 1);
    if (!str_ok(v, k) || !str_ok(v, val))
      return "a tag offset is outside the strings (or names an empty string)";
    const char *key = v->strs + k;
    if (prev && strcmp(prev, key) >= 0)
      return "tag keys are not sorted and unique";
    prev = key;
  }
  return NULL;
}

/* Every check that makes the metric safe to read; NULL when it is. */
static const char *check_encoding(enc_view *v, size_t len) {
  const unsigned char *p = v->p;
  if (len < TWI_METRIC_ENC_HEADER)
    return "shorter than a metric header";
  if (p[0] != TWI_METRIC_ENC_VERSION)
    return "unknown metric encoding version";
  if (p[1] > TOWER_HISTOGRAM)
    return "unknown value type";
  if (get_le(p + 6, 2) != 0)
    return "unknown flags";
  v->nt = (size_t)get_le(p + 2, 2);
  v->nf = (size_t)get_le(p + 4, 2);
  v->str_used = (size_t)get_le(p + 12, 4);
  if (v->str_used == 0 || v->str_used >= STR_LIMIT)
    return "string area size out of range";
  if (len != TWI_METRIC_ENC_HEADER + v->nf * 12 + v->nt * 8 + v->str_used)
    return "length does not match the counts it holds";
  v->values = p + TWI_METRIC_ENC_HEADER;
  v->fkeys = v->values + v->nf * 8;
  v->tags = v->fkeys + v->nf * 4;
  v->strs = (const char *)(v->tags + v->nt * 8);
  if (v->strs[v->str_used - 1] != '\0')
    return "the string area does not end with NUL";
  if (!str_ok(v, get_le(p + 8, 4)))
    return "the name offset is outside the strings (or names an empty string)";
  const char *why = check_fields(v);
  return why ? why : check_tags(v);
}

int twi_metric_decode(const void *in, size_t len, tower_metric **out, const char **why) {
  enc_view v = {.p = in};
  const char *bad = check_encoding(&v, len);
  if (bad) {
    if (why)
      *why = bad;
    return -EBADMSG;
  }
  if (!out)
    return 0;
  tower_metric *m = alloc_metric(v.nf, v.nt, v.str_used);
  if (!m)
    return -ENOMEM;
  m->vtype = v.p[1];
  m->ntags = (uint16_t)v.nt;
  m->nfields = (uint16_t)v.nf;
  m->name = (uint32_t)get_le(v.p + 8, 4);
  m->str_used = (uint32_t)v.str_used;
  m->gather_id = (uint32_t)get_le(v.p + 16, 4);
  m->time = (int64_t)get_le(v.p + 20, 8);
  copy_le(values(m), v.values, v.nf, 8);
  copy_le(fkeys(m), v.fkeys, v.nf, 4);
  copy_le(tags(m), v.tags, 2 * v.nt, 4);
  memcpy(strings(m), v.strs, v.str_used);
  *out = m;
  return 0;
}
