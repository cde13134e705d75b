/* inputs.mem: available memory. Kernels since 3.14 say it (MemAvailable);
 * for older ones gopsutil estimates it (mem/mem_linux.go,
 * calculateAvailVmem, after psutil #890) and so do we, with the same
 * arithmetic:
 *   free - low watermarks
 *   + page cache (Active(file) + Inactive(file)) - min(half of it, watermarks)
 *   + SReclaimable - min(half of it, watermarks)
 * where the watermarks are the sum of the "low" lines of /proc/zoneinfo, in
 * pages. Without those three keys (before 2.6.28) or without zoneinfo
 * (before 2.6.13) it is free + cached (Cached + SReclaimable). */
#include <errno.h>
#include <string.h>

#include "mem.h"

/* The first word of a line and what follows it. */
static bool first_word(const char *line, size_t len, const char **word, size_t *wlen,
                       const char **rest) {
  const char *p = line, *end = line + len;
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  const char *w = p;
  while (p < end && *p != ' ' && *p != '\t')
    p++;
  if (p == w)
    return false;
  *word = w;
  *wlen = (size_t)(p - w);
  *rest = p;
  return true;
}

/* Sum of the "low" watermarks of every zone, in bytes. gopsutil takes any
 * line whose first word begins with "low" and whose second is a number. */
static uint64_t low_watermarks(const mem_state *s) {
  uint64_t pages = 0;
  host_lines it;
  host_lines_init(&it, &s->zoneinfo);
  const char *line, *word, *rest;
  size_t len, wlen;
  while (host_lines_next(&it, &line, &len)) {
    uint64_t n;
    if (first_word(line, len, &word, &wlen, &rest) && wlen >= 3 && memcmp(word, "low", 3) == 0 &&
        host_parse_u64(&rest, line + len, &n))
      pages += n;
  }
  return pages * (uint64_t)s->page_size;
}

static uint64_t min_u64(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

static uint64_t estimate(mem_state *s, const mem_values *v) {
  uint64_t cached = v->v[MEM_CACHED] + v->v[MEM_SRECLAIMABLE], free = v->v[MEM_FREE];
  int rc = host_read(&s->zoneinfo, s->zoneinfo_path, 0);
  if (rc) {
    tower_debug(s->ctx, "cannot read %s (%s): available memory is free + cached", s->zoneinfo_path,
                strerror(-rc));
    return free + cached;
  }
  uint64_t wm = low_watermarks(s);
  uint64_t page_cache = v->v[MEM_ACTIVE_FILE] + v->v[MEM_INACTIVE_FILE];
  uint64_t slab = v->v[MEM_SRECLAIMABLE];
  uint64_t gain = free + page_cache - min_u64(page_cache / 2, wm) + slab - min_u64(slab / 2, wm);
  /* gopsutil's unsigned arithmetic would wrap below 0; nothing is available
   * then. */
  return gain > wm ? gain - wm : 0;
}

uint64_t mem_available(mem_state *s, const mem_values *v) {
  if (v->have[MEM_AVAILABLE])
    return v->v[MEM_AVAILABLE];
  if (v->have[MEM_ACTIVE_FILE] && v->have[MEM_INACTIVE_FILE] && v->have[MEM_SRECLAIMABLE])
    return estimate(s, v);
  return v->v[MEM_FREE] + v->v[MEM_CACHED] + v->v[MEM_SRECLAIMABLE];
}
