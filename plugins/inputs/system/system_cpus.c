/* inputs.system: n_cpus and n_physical_cpus, counted as gopsutil's
 * cpu.Counts (cpu/cpu_linux.go, after psutil's _pslinux.py) counts them:
 *
 * n_cpus, logical CPUs: the "processor" lines of /proc/cpuinfo (the CPUs
 * online), or when it has none the "cpuN" lines of /proc/stat.
 *
 * n_physical_cpus, cores: the distinct topology/core_cpus_list of the CPUs
 * in /sys/devices/system/cpu (thread_siblings_list on kernels before 5.7);
 * without those, the sum of "cpu cores" over the distinct "physical id" of
 * /proc/cpuinfo. A core's list names the same CPUs from each of them, so
 * instead of keeping the lists we mark each list's first CPU in a bitmap and
 * count the marks: the same number, with no allocation per CPU. The CPUs
 * looked at are those of the `present` list, which are the cpuN directories
 * gopsutil globs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "system.h"

/* CPU numbers above this are taken as a corrupt file. */
#define MAX_CPU 65535u

/* ---- lines of /proc/cpuinfo ---------------------------------------------- */

static bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

/* [*p, *end) without leading and trailing blanks. */
static void trim(const char **p, const char **end) {
  while (*p < *end && is_blank(**p))
    (*p)++;
  while (*end > *p && is_blank((*end)[-1]))
    (*end)--;
}

/* A whole trimmed [p, end) as a small decimal (strconv.ParseInt with 32
 * bits, as gopsutil parses these values). */
static bool whole_int(const char *p, const char *end, int64_t *out) {
  bool neg = p < end && (*p == '-' || *p == '+') && *p++ == '-';
  if (p == end || end - p > 10)
    return false;
  int64_t v = 0;
  for (; p < end; p++) {
    if (*p < '0' || *p > '9')
      return false;
    v = v * 10 + (*p - '0');
  }
  if (v > INT32_MAX + (int64_t)neg)
    return false;
  *out = neg ? -v : v;
  return true;
}

/* Splits "key<blanks>: value" into trimmed key and value; false without a
 * colon. */
static bool key_value(const char *line, size_t len, const char **k, const char **kend,
                      const char **v, const char **vend) {
  const char *colon = memchr(line, ':', len);
  if (!colon)
    return false;
  *k = line, *kend = colon, *v = colon + 1, *vend = line + len;
  trim(k, kend);
  trim(v, vend);
  return true;
}

static bool key_is(const char *k, const char *kend, const char *want) {
  size_t n = strlen(want);
  return (size_t)(kend - k) == n && strncasecmp(k, want, n) == 0;
}

/* ---- n_cpus -------------------------------------------------------------- */

/* Lines that begin with "processor" (any case) and whose value is a number:
 * older ARM kernels also print "Processor : ARMv7 ...", which is no CPU. */
static int64_t count_processors(const host_buf *b) {
  int64_t n = 0;
  host_lines it;
  host_lines_init(&it, b);
  const char *line, *k, *kend, *v, *vend;
  size_t len;
  int64_t id;
  while (host_lines_next(&it, &line, &len))
    if (len >= 9 && strncasecmp(line, "processor", 9) == 0 &&
        key_value(line, len, &k, &kend, &v, &vend) && whole_int(v, vend, &id))
      n++;
  return n;
}

/* "cpu" and a digit at the start of a line. */
static int64_t count_stat_cpus(const host_buf *b) {
  int64_t n = 0;
  host_lines it;
  host_lines_init(&it, b);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len))
    n += len >= 4 && memcmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9';
  return n;
}

/* Reads cpuinfo into cpuinfo_buf (kept for the physical count); false when
 * it could not be read. */
static bool logical_cpus(sys_state *s, tower_acc *acc, sys_reading *r, bool *have_cpuinfo) {
  int rc = host_read(&s->cpuinfo_buf, s->cpuinfo, 0);
  *have_cpuinfo = rc == 0;
  r->n_cpus = rc == 0 ? count_processors(&s->cpuinfo_buf) : 0;
  if (r->n_cpus > 0)
    return true;
  int rc2 = host_read(&s->buf, s->stat, 0);
  if (rc2) {
    tower_acc_error(acc,
                    "cannot count CPUs: %s: %s, %s: %s (set HOST_PROC when the host's /proc is "
                    "mounted elsewhere)",
                    s->cpuinfo, rc ? strerror(-rc) : "no processor line", s->stat, strerror(-rc2));
    return false;
  }
  r->n_cpus = count_stat_cpus(&s->buf);
  return true;
}

/* ---- n_physical_cpus from sysfs ------------------------------------------ */

/* Marks CPU `cpu` in the bitmap, growing it. 0 or -ENOMEM. */
static int mark(sys_state *s, uint64_t cpu) {
  size_t word = (size_t)(cpu / 64);
  if (word >= s->core_words) {
    size_t n = word + 1;
    uint64_t *c = realloc(s->cores, n * sizeof *c);
    if (!c)
      return -ENOMEM;
    memset(c + s->core_words, 0, (n - s->core_words) * sizeof *c);
    s->cores = c;
    s->core_words = n;
  }
  s->cores[word] |= 1ull << (cpu % 64);
  return 0;
}

static int64_t marked(const sys_state *s) {
  int64_t n = 0;
  for (size_t i = 0; i < s->core_words; i++)
    n += __builtin_popcountll(s->cores[i]);
  return n;
}

/* Marks the first CPU of <cpu_dir>/cpu<cpu>/topology/<file>. A CPU whose
 * file is gone (unplugged meanwhile) or unreadable is skipped, as gopsutil
 * skips it. 0 or -ENOMEM. */
static int mark_core_of(sys_state *s, uint64_t cpu, const char *file) {
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "%s/cpu%llu/topology/%s", s->cpu_dir, (unsigned long long)cpu,
                   file);
  if (n < 0 || (size_t)n >= sizeof path || host_read(&s->buf, path, 4096) != 0)
    return 0;
  const char *p = s->buf.data;
  uint64_t first;
  if (!host_parse_u64(&p, s->buf.data + s->buf.len, &first) || first > MAX_CPU)
    return 0;
  return mark(s, first);
}

/* Parses "a" or "a-b" at *p of a CPU list ("0-3,8-11"). */
static bool next_range(const char **p, const char *end, uint64_t *lo, uint64_t *hi) {
  if (*p < end && **p == ',')
    (*p)++;
  if (!host_parse_u64(p, end, lo))
    return false;
  *hi = *lo;
  if (*p < end && **p == '-') {
    (*p)++;
    if (!host_parse_u64(p, end, hi))
      return false;
  }
  return *hi >= *lo && *hi <= MAX_CPU;
}

/* Cores counted from `file` of every present CPU, or 0 when no CPU has it
 * (<0: -ENOMEM). `present` is the text of the present list. */
static int64_t cores_from(sys_state *s, const char *present, size_t len, const char *file) {
  if (s->cores)
    memset(s->cores, 0, s->core_words * sizeof *s->cores);
  const char *p = present, *end = present + len;
  uint64_t lo, hi;
  while (next_range(&p, end, &lo, &hi))
    for (uint64_t cpu = lo; cpu <= hi; cpu++)
      if (mark_core_of(s, cpu, file))
        return -ENOMEM;
  return marked(s);
}

/* The present list, copied out of the buffer the per-CPU reads reuse. */
static size_t read_present(sys_state *s, char *out, size_t cap) {
  char path[PATH_MAX];
  if (!host_path(path, sizeof path, s->cpu_dir, "present") || host_read(&s->buf, path, 0) != 0)
    return 0;
  size_t n = s->buf.len < cap ? s->buf.len : cap - 1;
  memcpy(out, s->buf.data, n);
  out[n] = '\0';
  return n;
}

/* ---- n_physical_cpus from /proc/cpuinfo ---------------------------------- */

/* One block of /proc/cpuinfo (ended by an empty line). */
typedef struct {
  int64_t id, cores;
  bool has_id, has_cores;
} cpuinfo_block;

static void block_line(cpuinfo_block *b, const char *line, size_t len) {
  const char *k, *kend, *v, *vend;
  int64_t n;
  if (!key_value(line, len, &k, &kend, &v, &vend) || !whole_int(v, vend, &n))
    return;
  if (key_is(k, kend, "physical id"))
    b->id = n, b->has_id = true;
  else if (key_is(k, kend, "cpu cores"))
    b->cores = n, b->has_cores = true;
}

static bool is_empty(const char *line, size_t len) {
  const char *end = line + len;
  trim(&line, &end);
  return line == end;
}

/* Records the cores of a package; a later block of the same package
 * replaces its count, as gopsutil's map does. The table lives in the state
 * and only grows: packages are few. 0 or -ENOMEM. */
static int set_package(sys_state *s, int64_t id, int64_t cores) {
  for (size_t i = 0; i < s->npkgs; i++)
    if (s->pkgs[i].id == id) {
      s->pkgs[i].cores = cores;
      return 0;
    }
  if (s->npkgs == s->pkg_cap) {
    size_t cap = s->pkg_cap ? s->pkg_cap * 2 : 8;
    sys_package *p = realloc(s->pkgs, cap * sizeof *p);
    if (!p)
      return -ENOMEM;
    s->pkgs = p;
    s->pkg_cap = cap;
  }
  s->pkgs[s->npkgs++] = (sys_package){id, cores};
  return 0;
}

/* Sum of "cpu cores" over the distinct "physical id" of the blocks that
 * have both (a last block without its empty line is not counted: gopsutil
 * neither). <0: -ENOMEM. */
static int64_t cores_from_cpuinfo(sys_state *s) {
  s->npkgs = 0;
  host_lines it;
  host_lines_init(&it, &s->cpuinfo_buf);
  cpuinfo_block blk = {0};
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len)) {
    if (!is_empty(line, len)) {
      block_line(&blk, line, len);
      continue;
    }
    if (blk.has_id && blk.has_cores && set_package(s, blk.id, blk.cores))
      return -ENOMEM;
    blk = (cpuinfo_block){0};
  }
  int64_t sum = 0;
  for (size_t i = 0; i < s->npkgs; i++)
    sum += s->pkgs[i].cores;
  return sum;
}

/* ---- both ---------------------------------------------------------------- */

/* Without sysfs topology nor a readable /proc/cpuinfo the count is
 * unknown: the field is left out (gopsutil fails the gather). */
static int physical_cpus(sys_state *s, sys_reading *r, bool have_cpuinfo) {
  char present[4096];
  size_t len = read_present(s, present, sizeof present);
  int64_t n = len ? cores_from(s, present, len, "core_cpus_list") : 0;
  if (n == 0 && len)
    n = cores_from(s, present, len, "thread_siblings_list");
  if (n == 0 && have_cpuinfo)
    n = cores_from_cpuinfo(s);
  if (n < 0)
    return (int)n;
  r->n_physical_cpus = n;
  r->have_physical = n > 0 || have_cpuinfo;
  return 0;
}

int sys_read_cpus(sys_state *s, tower_acc *acc, sys_reading *r) {
  bool have_cpuinfo;
  r->have_cpus = logical_cpus(s, acc, r, &have_cpuinfo);
  return physical_cpus(s, r, have_cpuinfo);
}
