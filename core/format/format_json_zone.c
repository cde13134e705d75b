/* Time zones for json_timezone and zone abbreviations, read from the zone
 * database the way Go's time package reads it, so that a name means what
 * it means to Telegraf:
 *  - "" and "UTC": UTC; "Local": the zone of $TZ (":" stripped; a path, or
 *    a name under the zone directories; "" or "UTC" is UTC) or, without
 *    $TZ, /etc/localtime; a zone that cannot be read falls back to UTC;
 *  - any other name: a TZif file under /usr/share/zoneinfo,
 *    /usr/share/lib/zoneinfo, /usr/lib/locale/TZ or /etc/zoneinfo; names
 *    with ".." or a leading '/' are refused.
 * The TZif reader takes version 2+ data (64-bit transitions) when present,
 * and the POSIX TZ footer rule for instants after the last transition, so
 * both "fat" and "slim" zone files give the right offsets. The process's
 * TZ handling (tzset, localtime) is never used: a zone is loaded once, at
 * configuration time, and is then immutable and thread safe.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_json.h"
#include "timefmt.h"

#define MAX_TZIF (1u << 20)

typedef struct ztype {
  int32_t off; /* seconds east of UTC */
  bool dst;
  char abbr[8];
} ztype;

/* A POSIX TZ rule date: Jn (1..365, no Feb 29), n (0..365), Mm.w.d. */
typedef struct zrule {
  char kind; /* 'J', 'D' (zero-based day) or 'M' */
  int day, week, mon;
  int32_t time; /* seconds after local midnight */
} zrule;

/* The footer: std (and maybe dst) with the rule dates between them. */
typedef struct zextend {
  bool present, has_dst;
  ztype std, dst;
  zrule start, end;
} zextend;

struct twi_zone {
  size_t ntrans;
  int64_t *when; /* transition instants (UTC seconds), ascending */
  uint8_t *idx;  /* type after each transition */
  size_t ntypes;
  ztype *types;
  size_t first; /* the type before the first transition */
  zextend ext;
};

/* ---- calendar (days since 1970-01-01) --------------------------------- */

/* timefmt.c's calendar; a month here is 1..12 as an int. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  return twi_days_from_civil(y, (unsigned)m, 1) + (d - 1);
}

static int64_t year_of_days(int64_t z) {
  int64_t y;
  unsigned m, d;
  twi_civil_from_days(z, &y, &m, &d);
  return y;
}

static int days_in_month(int64_t y, int m) {
  return (int)twi_days_in_month(y, (unsigned)m);
}

/* ---- the POSIX TZ footer ---------------------------------------------- */

static bool tz_name(const char **s, char out[8]) {
  const char *p = *s;
  size_t n = 0;
  if (*p == '<') {
    for (p++; *p && *p != '>'; p++)
      if (n < 7)
        out[n++] = *p;
    if (*p++ != '>')
      return false;
  } else {
    for (; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'); p++)
      if (n < 7)
        out[n++] = *p;
    if (p - *s < 3)
      return false;
  }
  out[n] = '\0';
  *s = p;
  return true;
}

static bool tz_num(const char **s, int max, int *out) {
  int v = 0;
  const char *p = *s;
  if (*p < '0' || *p > '9')
    return false;
  for (; *p >= '0' && *p <= '9'; p++)
    if ((v = v * 10 + (*p - '0')) > max)
      return false;
  *s = p;
  *out = v;
  return true;
}

/* [+-]hh[:mm[:ss]] in seconds (hours up to 167, as Go allows). */
static bool tz_offset(const char **s, int32_t *out) {
  int sign = 1, h, m = 0, sec = 0;
  if (**s == '+' || **s == '-')
    sign = *(*s)++ == '-' ? -1 : 1;
  if (!tz_num(s, 167, &h))
    return false;
  if (**s == ':' && ((*s)++, !tz_num(s, 59, &m)))
    return false;
  if (**s == ':' && ((*s)++, !tz_num(s, 59, &sec)))
    return false;
  *out = sign * (h * 3600 + m * 60 + sec);
  return true;
}

static bool tz_rule(const char **s, zrule *r) {
  memset(r, 0, sizeof *r);
  r->time = 2 * 3600;
  if (**s == 'J') {
    (*s)++;
    r->kind = 'J';
    if (!tz_num(s, 365, &r->day) || r->day < 1)
      return false;
  } else if (**s == 'M') {
    (*s)++;
    r->kind = 'M';
    if (!tz_num(s, 12, &r->mon) || r->mon < 1 || *(*s)++ != '.' || !tz_num(s, 5, &r->week) ||
        r->week < 1 || *(*s)++ != '.' || !tz_num(s, 6, &r->day))
      return false;
  } else {
    r->kind = 'D';
    if (!tz_num(s, 365, &r->day))
      return false;
  }
  if (**s == '/') {
    (*s)++;
    return tz_offset(s, &r->time);
  }
  return true;
}

/* Parses "EST5EDT,M3.2.0,M11.1.0"-style text. False when malformed. */
static bool parse_extend(const char *s, zextend *e) {
  int32_t off;
  memset(e, 0, sizeof *e);
  if (!tz_name(&s, e->std.abbr) || !tz_offset(&s, &off))
    return false;
  e->std.off = -off; /* POSIX counts west */
  e->present = true;
  if (*s == '\0')
    return true;
  if (!tz_name(&s, e->dst.abbr))
    return false;
  e->dst.dst = e->has_dst = true;
  e->dst.off = e->std.off + 3600;
  if (*s != ',' && *s != '\0') {
    if (!tz_offset(&s, &off))
      return false;
    e->dst.off = -off;
  }
  if (*s == '\0')
    s = ",M3.2.0,M11.1.0"; /* Go's default rule */
  return *s++ == ',' && tz_rule(&s, &e->start) && *s++ == ',' && tz_rule(&s, &e->end) && *s == '\0';
}

/* Seconds from the start of `year` (UTC) to the rule's moment, given the
 * offset in effect before it (Go's tzruleTime). */
static int64_t rule_time(int64_t year, const zrule *r, int32_t off) {
  int64_t d;
  if (r->kind == 'J') {
    d = r->day - 1 + (twi_is_leap(year) && r->day >= 60);
  } else if (r->kind == 'D') {
    d = r->day;
  } else {
    int64_t first = days_from_civil(year, r->mon, 1);
    int64_t w = (first + 4) % 7; /* weekday of the 1st; 1970-01-01 was a Thursday */
    int md = (int)((r->day - (w < 0 ? w + 7 : w) + 7) % 7);
    for (int i = 1; i < r->week && md + 7 < days_in_month(year, r->mon); i++)
      md += 7;
    d = first + md - days_from_civil(year, 1, 1);
  }
  return d * 86400 + r->time - off;
}

static const ztype *extend_lookup(const zextend *e, int64_t utc) {
  if (!e->has_dst)
    return &e->std;
  int64_t year = year_of_days(twi_floor_div(utc, 86400));
  int64_t ysec = utc - days_from_civil(year, 1, 1) * 86400;
  int64_t start = rule_time(year, &e->start, e->std.off);
  int64_t end = rule_time(year, &e->end, e->dst.off);
  if (end < start) /* southern hemisphere: DST spans the new year */
    return ysec >= end && ysec < start ? &e->std : &e->dst;
  return ysec >= start && ysec < end ? &e->dst : &e->std;
}

/* ---- lookups ---------------------------------------------------------- */

static const ztype *lookup(const twi_zone *z, int64_t utc) {
  if (z->ntrans == 0 || utc < z->when[0])
    return z->ext.present && z->ntrans == 0 ? extend_lookup(&z->ext, utc) : &z->types[z->first];
  size_t lo = 0, hi = z->ntrans;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (z->when[mid] <= utc)
      lo = mid;
    else
      hi = mid;
  }
  if (lo == z->ntrans - 1 && z->ext.present)
    return extend_lookup(&z->ext, utc);
  return &z->types[z->idx[lo]];
}

int32_t twi_zone_offset(const twi_zone *z, int64_t utc_sec) {
  return z ? lookup(z, utc_sec)->off : 0;
}

int64_t twi_zone_to_utc(const twi_zone *z, int64_t local_sec) {
  if (!z)
    return local_sec;
  /* Go's Date: guess with the offset at local_sec taken as UTC, then check
   * the guess and correct it once near a transition. */
  int32_t off = lookup(z, local_sec)->off;
  int32_t again = lookup(z, local_sec - off)->off;
  return local_sec - (again != off ? again : off);
}

bool twi_zone_lookup_name(const twi_zone *z, const char *name, size_t len, int64_t local_sec,
                          int32_t *offset) {
  if (!z || len >= 8)
    return false;
  char key[8];
  memcpy(key, name, len);
  key[len] = '\0';
  /* first a type with that name in effect at the time, then any */
  for (size_t i = 0; i < z->ntypes; i++)
    if (strcmp(z->types[i].abbr, key) == 0) {
      const ztype *t = lookup(z, local_sec - z->types[i].off);
      if (strcmp(t->abbr, key) == 0) {
        *offset = t->off;
        return true;
      }
    }
  for (size_t i = 0; i < z->ntypes; i++)
    if (strcmp(z->types[i].abbr, key) == 0) {
      *offset = z->types[i].off;
      return true;
    }
  return false;
}

/* ---- TZif ------------------------------------------------------------- */

typedef struct reader {
  const unsigned char *p;
  size_t left;
} reader;

static bool take(reader *r, size_t n, const unsigned char **out) {
  if (n > r->left)
    return false;
  *out = r->p;
  r->p += n;
  r->left -= n;
  return true;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_counts {
  uint32_t isut, isstd, leap, time, type, chars;
  char version;
} tzif_counts;

static bool read_header(reader *r, tzif_counts *c) {
  const unsigned char *h;
  if (!take(r, 44, &h) || memcmp(h, "TZif", 4) != 0)
    return false;
  c->version = (char)h[4];
  c->isut = be32(h + 20);
  c->isstd = be32(h + 24);
  c->leap = be32(h + 28);
  c->time = be32(h + 32);
  c->type = be32(h + 36);
  c->chars = be32(h + 40);
  return c->type >= 1 && c->type <= 256 && c->time <= 100000 && c->chars <= 65536;
}

static size_t data_size(const tzif_counts *c, size_t tsize) {
  return (size_t)c->time * (tsize + 1) + (size_t)c->type * 6 + c->chars +
         (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

/* Go's lookupFirstZone: the type in effect before the first transition. */
static size_t first_type(const twi_zone *z) {
  bool used = false;
  for (size_t i = 0; i < z->ntrans; i++)
    used |= z->idx[i] == 0;
  if (!used)
    return 0;
  if (z->ntrans > 0 && z->types[z->idx[0]].dst)
    for (size_t i = z->idx[0]; i-- > 0;)
      if (!z->types[i].dst)
        return i;
  for (size_t i = 0; i < z->ntypes; i++)
    if (!z->types[i].dst)
      return i;
  return 0;
}

static bool read_types(reader *r, const tzif_counts *c, twi_zone *z) {
  const unsigned char *tt, *chars;
  if (!take(r, (size_t)c->type * 6, &tt) || !take(r, c->chars, &chars))
    return false;
  for (size_t i = 0; i < c->type; i++) {
    const unsigned char *t = tt + 6 * i;
    ztype *zt = &z->types[i];
    zt->off = (int32_t)be32(t);
    zt->dst = t[4] != 0;
    if (t[5] >= c->chars && c->chars)
      return false;
    size_t n = 0;
    for (size_t k = t[5]; k < c->chars && chars[k] && n < 7; k++)
      zt->abbr[n++] = (char)chars[k];
    zt->abbr[n] = '\0';
  }
  return true;
}

static bool read_data(reader *r, const tzif_counts *c, size_t tsize, twi_zone *z) {
  const unsigned char *when, *idx, *rest;
  z->ntrans = c->time;
  z->ntypes = c->type;
  z->when = calloc(c->time + 1, sizeof *z->when);
  z->idx = calloc(c->time + 1, 1);
  z->types = calloc(c->type, sizeof *z->types);
  if (!z->when || !z->idx || !z->types)
    return false;
  if (!take(r, (size_t)c->time * tsize, &when) || !take(r, c->time, &idx))
    return false;
  for (size_t i = 0; i < c->time; i++) {
    z->when[i] = tsize == 8 ? be64(when + 8 * i) : (int32_t)be32(when + 4 * i);
    if (idx[i] >= c->type || (i > 0 && z->when[i] < z->when[i - 1]))
      return false;
    z->idx[i] = idx[i];
  }
  if (!read_types(r, c, z))
    return false;
  if (!take(r, (size_t)c->leap * (tsize + 4) + c->isstd + c->isut, &rest))
    return false;
  z->first = first_type(z);
  return true;
}

/* The footer of a v2+ file: "\n<TZ string>\n". */
static void read_footer(reader *r, twi_zone *z) {
  char tz[128];
  if (r->left < 2 || r->p[0] != '\n')
    return;
  const unsigned char *nl = memchr(r->p + 1, '\n', r->left - 1);
  size_t n = nl ? (size_t)(nl - r->p - 1) : 0;
  if (n == 0 || n >= sizeof tz)
    return;
  memcpy(tz, r->p + 1, n);
  tz[n] = '\0';
  if (!parse_extend(tz, &z->ext))
    memset(&z->ext, 0, sizeof z->ext);
}

static twi_zone *parse_tzif(const unsigned char *data, size_t len) {
  reader r = {data, len};
  tzif_counts c;
  const unsigned char *skip;
  if (!read_header(&r, &c))
    return NULL;
  size_t tsize = 4;
  if (c.version >= '2') {
    /* skip the 32-bit block: the 64-bit one follows with its own header */
    if (!take(&r, data_size(&c, 4), &skip) || !read_header(&r, &c))
      return NULL;
    tsize = 8;
  }
  twi_zone *z = calloc(1, sizeof *z);
  if (!z)
    return NULL;
  if (!read_data(&r, &c, tsize, z)) {
    twi_zone_free(z);
    return NULL;
  }
  if (tsize == 8)
    read_footer(&r, z);
  return z;
}

/* ---- loading ---------------------------------------------------------- */

static twi_zone *load_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  unsigned char *buf = malloc(MAX_TZIF);
  size_t n = buf ? fread(buf, 1, MAX_TZIF, f) : 0;
  fclose(f);
  twi_zone *z = buf && n < MAX_TZIF ? parse_tzif(buf, n) : NULL;
  free(buf);
  return z;
}

static twi_zone *load_named(const char *name) {
  static const char *const dirs[] = {"/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/",
                                     "/usr/lib/locale/TZ/", "/etc/zoneinfo/"};
  char path[512];
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    if ((size_t)snprintf(path, sizeof path, "%s%s", dirs[i], name) >= sizeof path)
      return NULL;
    twi_zone *z = load_file(path);
    if (z)
      return z;
  }
  return NULL;
}

/* Go's initLocal: $TZ, else /etc/localtime; UTC when neither loads. */
static twi_zone *load_local(void) {
  const char *tz = getenv("TZ");
  if (!tz)
    return load_file("/etc/localtime");
  if (*tz == ':')
    tz++;
  if (*tz == '/')
    return load_file(tz);
  if (*tz && strcmp(tz, "UTC") != 0 && !strstr(tz, ".."))
    return load_named(tz);
  return NULL;
}

int twi_zone_load(const char *name, twi_zone **out, const char **why) {
  *out = NULL;
  *why = NULL;
  if (!name || !*name || strcmp(name, "UTC") == 0)
    return 0;
  if (strcmp(name, "Local") == 0) {
    *out = load_local();
    return 0;
  }
  if (strstr(name, "..") || name[0] == '/' || name[0] == '\\') {
    *why = "a zone name must not hold \"..\" or start with '/'";
    return -EINVAL;
  }
  *out = load_named(name);
  if (!*out) {
    *why = "not found in the zone database (/usr/share/zoneinfo); use a name such as "
           "\"UTC\", \"Local\" or \"America/New_York\"";
    return -EINVAL;
  }
  return 0;
}

void twi_zone_free(twi_zone *z) {
  if (!z)
    return;
  free(z->when);
  free(z->idx);
  free(z->types);
  free(z);
}
