/* User names from the host's passwd file (<HOST_ETC>/passwd), read at most
 * once per gather into a buffer kept in the instance. Telegraf asks Go's
 * os/user, which reads /etc/passwd too when built without cgo (its
 * release builds), and falls back to `id -nu` and then to the number; we
 * read the host's file (so a tower in a container names the host's users)
 * and fall back to the number. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "procstat.h"

void ps_users_reset(ps_users *u) {
  u->loaded = false;
}

static void load(ps_users *u) {
  if (u->loaded)
    return;
  u->loaded = true;
  u->err = -host_read(&u->buf, u->path, 0);
  if (u->err)
    u->buf.len = 0;
}

/* Field `i` (0-based) of a passwd line into [*f, *fend). */
static bool field(const char *line, size_t len, int i, const char **f, const char **fend) {
  const char *p = line, *end = line + len;
  for (; i > 0; i--) {
    p = memchr(p, ':', (size_t)(end - p));
    if (!p)
      return false;
    p++;
  }
  const char *c = memchr(p, ':', (size_t)(end - p));
  *f = p;
  *fend = c ? c : end;
  return true;
}

void ps_user_name(ps_users *u, uint32_t uid, char *out, size_t len) {
  load(u);
  host_lines it;
  host_lines_init(&it, &u->buf);
  const char *line, *f, *fend;
  size_t n;
  while (host_lines_next(&it, &line, &n)) {
    uint64_t id;
    const char *p;
    if (!field(line, n, 2, &f, &fend) || (p = f, !host_parse_u64(&p, fend, &id)) || p != fend ||
        id != uid || !field(line, n, 0, &f, &fend) || f == fend)
      continue;
    size_t k = (size_t)(fend - f);
    if (k >= len)
      k = len - 1;
    memcpy(out, f, k);
    out[k] = '\0';
    return;
  }
  snprintf(out, len, "%u", (unsigned)uid);
}

bool ps_user_id(ps_users *u, const char *name, uint32_t *uid) {
  load(u);
  size_t nlen = strlen(name);
  host_lines it;
  host_lines_init(&it, &u->buf);
  const char *line, *f, *fend;
  size_t n;
  while (host_lines_next(&it, &line, &n)) {
    uint64_t id;
    const char *p;
    if (!field(line, n, 0, &f, &fend) || (size_t)(fend - f) != nlen || memcmp(f, name, nlen) ||
        !field(line, n, 2, &f, &fend) || (p = f, !host_parse_u64(&p, fend, &id)) || id > UINT32_MAX)
      continue;
    *uid = (uint32_t)id;
    return true;
  }
  /* pgrep -u takes a number too */
  const char *p = name;
  uint64_t id;
  if (host_parse_u64(&p, name + nlen, &id) && p == name + nlen && id <= UINT32_MAX) {
    *uid = (uint32_t)id;
    return true;
  }
  return false;
}
