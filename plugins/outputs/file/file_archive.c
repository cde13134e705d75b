/* outputs.file: archive names and their clean-up.
 *
 * Telegraf names an archive <stem>.<YYYY-MM-DD>-<unix seconds><ext> after
 * the local date and the time of the rotation, and keeps the newest
 * rotation_max_archives of them (sorting the names). Two rotations within
 * one second would give the same name, and Telegraf then overwrites the
 * first archive; here the second gets "_1" after the seconds (then "_2"...),
 * and archives are ordered by their seconds and that number, so the oldest
 * go first. Only names of exactly that shape are ever removed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file_out.h"

bool file_archive_name(const file_dest *d, int64_t now_ns, unsigned n, char *buf, size_t size) {
  time_t secs = (time_t)(now_ns / 1000000000);
  struct tm tm;
  char date[16], seq[16] = "";
  if (!localtime_r(&secs, &tm) || !strftime(date, sizeof date, "%Y-%m-%d", &tm))
    return false;
  if (n)
    snprintf(seq, sizeof seq, "_%u", n);
  int len =
      snprintf(buf, size, "%s/%s.%s-%lld%s%s", d->dir, d->stem, date, (long long)secs, seq, d->ext);
  return len > 0 && (size_t)len < size;
}

typedef struct archive {
  long long secs;
  unsigned long seq;
  char *name;
} archive;

static const char *digits(const char *p, size_t min) {
  const char *s = p;
  while (isdigit((unsigned char)*p))
    p++;
  return (size_t)(p - s) >= min ? p : NULL;
}

/* Whether name is an archive of d: stem "." date "-" secs ["_" seq] ext. */
static bool parse_archive(const file_dest *d, const char *name, archive *a) {
  size_t sl = strlen(d->stem), el = strlen(d->ext), nl = strlen(name);
  if (nl < sl + el + 14 || strncmp(name, d->stem, sl) != 0 || name[sl] != '.' ||
      strcmp(name + nl - el, d->ext) != 0)
    return false;
  const char *p = name + sl + 1, *end = name + nl - el;
  if (digits(p, 4) != p + 4 || p[4] != '-' || digits(p + 5, 2) != p + 7 || p[7] != '-' ||
      digits(p + 8, 2) != p + 10 || p[10] != '-')
    return false;
  const char *s = p + 11, *q = digits(s, 1);
  if (!q)
    return false;
  a->secs = strtoll(s, NULL, 10);
  a->seq = 0;
  if (q < end && *q == '_') {
    const char *r = digits(q + 1, 1);
    if (!r)
      return false;
    a->seq = strtoul(q + 1, NULL, 10);
    q = r;
  }
  return q == end;
}

static int by_age(const void *x, const void *y) {
  const archive *a = x, *b = y;
  if (a->secs != b->secs)
    return a->secs < b->secs ? -1 : 1;
  return (a->seq > b->seq) - (a->seq < b->seq);
}

static void remove_oldest(tower_ctx *ctx, const file_dest *d, archive *v, size_t n, size_t keep) {
  qsort(v, n, sizeof *v, by_age);
  for (size_t i = 0; i + keep < n; i++) {
    char *path = NULL;
    if (asprintf(&path, "%s/%s", d->dir, v[i].name) < 0)
      return;
    if (unlink(path) != 0 && errno != ENOENT)
      tower_warn(ctx, "cannot remove the old archive %s: %s", path, strerror(errno));
    free(path);
  }
}

void file_purge_archives(tower_ctx *ctx, const file_dest *d, int64_t max_archives) {
  if (max_archives < 0)
    return;
  DIR *dir = opendir(d->dir);
  if (!dir) {
    tower_warn(ctx, "cannot list %s to remove old archives: %s", d->dir, strerror(errno));
    return;
  }
  archive *v = NULL;
  size_t n = 0, cap = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    archive a;
    if (!parse_archive(d, e->d_name, &a))
      continue;
    if (n == cap) {
      archive *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof *v);
      if (!nv)
        break;
      v = nv;
    }
    if (!(a.name = strdup(e->d_name)))
      break;
    v[n++] = a;
  }
  closedir(dir);
  remove_oldest(ctx, d, v, n, (size_t)max_archives);
  for (size_t i = 0; i < n; i++)
    free(v[i].name);
  free(v);
}
