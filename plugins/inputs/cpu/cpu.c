/* inputs.cpu: CPU time and usage from /proc/stat, with the fields, types and
 * arithmetic of Telegraf's inputs.cpu (plugins/inputs/cpu/cpu.go).
 *
 * Every gather reads the "cpu" lines at the head of <HOST_PROC>/stat into
 * the instance's buffer and parses them in place. Per CPU it emits
 *   - with collect_cpu_time, a COUNTER metric with the time_* fields
 *     (seconds: ticks / USER_HZ), and
 *   - from the second gather on, a GAUGE metric with the usage_* fields:
 *     each state's share (percent) of the total ticks elapsed since the
 *     previous gather.
 * Both are named "cpu", tagged cpu=cpuN (or cpu-total) and carry the gather's
 * timestamp, in Telegraf's order (cpu0.., then cpu-total).
 *
 * Deltas are taken on the integer tick counters, so percentages are exact
 * ratios (Telegraf subtracts seconds as floats and gets 18.000000000000004
 * where we get 18). Guest time is part of user (and guest_nice of nice) in
 * /proc/stat, so, like Telegraf, the total excludes guest and guest_nice and
 * usage_user / usage_nice have them subtracted.
 *
 * Previous samples live in the instance (one slot per CPU number, grown when
 * a higher number appears); a CPU missing from a gather loses its sample, so
 * after it comes back its first gather has no usage (Telegraf replaces its
 * lastStats map every gather: same result).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* Columns of a cpu line of /proc/stat, in file order (proc(5)). */
enum { USER, NICE, SYSTEM, IDLE, IOWAIT, IRQ, SOFTIRQ, STEAL, GUEST, GUEST_NICE, NSTATS };

/* Kernels before 2.6 print only user, nice, system and idle; later columns
 * missing from a line count as 0 (gopsutil does the same). */
#define MIN_COLUMNS 4
/* CPU numbers above this are taken as a corrupt file rather than grown into. */
#define MAX_CPU_INDEX 65535
#define BUF_INITIAL (16u * 1024u)
#define BUF_MAX (16u * 1024u * 1024u)
/* Tag values from /proc/cpuinfo are small integers. */
#define TOPO_LEN 24

static const char *const time_fields[NSTATS] = {
    "time_user", "time_nice",    "time_system", "time_idle",  "time_iowait",
    "time_irq",  "time_softirq", "time_steal",  "time_guest", "time_guest_nice",
};

static const char *const usage_fields[NSTATS] = {
    "usage_user", "usage_nice",    "usage_system", "usage_idle",  "usage_iowait",
    "usage_irq",  "usage_softirq", "usage_steal",  "usage_guest", "usage_guest_nice",
};

typedef struct {
  uint64_t v[NSTATS];
} cpu_ticks;

typedef struct {
  cpu_ticks cur, prev;
  bool seen;     /* present in this gather's file */
  bool has_prev; /* prev holds the previous gather's sample */
} cpu_slot;

typedef struct {
  char core_id[TOPO_LEN], physical_id[TOPO_LEN];
} cpu_topo;

typedef struct {
  tower_ctx *ctx;
  bool percpu, totalcpu, collect_time, report_active;
  double ticks_per_sec;
  char stat_path[PATH_MAX];
  char *buf;
  size_t buf_cap;
  cpu_slot total;
  cpu_slot *cpus; /* indexed by CPU number */
  size_t ncpus;
  cpu_topo *topo; /* core_tags: indexed by CPU number; NULL otherwise */
  size_t ntopo;
} cpu_state;

static const tower_option options[] = {
    {.name = "percpu",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "report every CPU on its own (cpu=cpu0, cpu1, ...)"},
    {.name = "totalcpu",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "report all CPUs together (cpu=cpu-total)"},
    {.name = "collect_cpu_time",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "also report the time_* counters (seconds since boot)"},
    {.name = "report_active",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "add time_active / usage_active: all states but idle (iowait included)"},
    {.name = "core_tags",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "add core_id and physical_id tags, read once from /proc/cpuinfo"},
    TOWER_OPTION_END,
};

/* ---- /proc/cpuinfo (core_tags) ------------------------------------------- */

/* Copies the value of a "key<TAB>: value" line, trimmed, into out. */
static void copy_value(const char *colon, char *out, size_t len) {
  const char *v = colon + 1;
  while (*v == ' ' || *v == '\t')
    v++;
  size_t n = strcspn(v, "\r\n");
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  if (n >= len)
    n = len - 1;
  memcpy(out, v, n);
  out[n] = '\0';
}

static bool key_is(const char *line, const char *colon, const char *key) {
  size_t n = (size_t)(colon - line);
  while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
    n--;
  return n == strlen(key) && memcmp(line, key, n) == 0;
}

/* Makes topo[index] exist. 0 or -ENOMEM. */
static int topo_reserve(cpu_state *s, size_t index) {
  if (index < s->ntopo)
    return 0;
  size_t n = index + 1;
  cpu_topo *t = realloc(s->topo, n * sizeof *t);
  if (!t)
    return -ENOMEM;
  memset(t + s->ntopo, 0, (n - s->ntopo) * sizeof *t);
  s->topo = t;
  s->ntopo = n;
  return 0;
}

/* Reads core id and physical id of every processor, like gopsutil's
 * cpu.Info(): a "processor" line starts the next CPU's block. */
static int read_cpuinfo(cpu_state *s, FILE *f) {
  char *line = NULL;
  size_t cap = 0;
  long cpu = -1;
  int rc = 0;
  while (rc == 0 && getline(&line, &cap, f) > 0) {
    const char *colon = strchr(line, ':');
    if (!colon)
      continue;
    if (key_is(line, colon, "processor")) {
      char *end;
      cpu = strtol(colon + 1, &end, 10);
      if (end == colon + 1 || cpu < 0 || cpu > MAX_CPU_INDEX)
        cpu = -1;
      else
        rc = topo_reserve(s, (size_t)cpu);
    } else if (cpu >= 0 && key_is(line, colon, "core id")) {
      copy_value(colon, s->topo[cpu].core_id, TOPO_LEN);
    } else if (cpu >= 0 && key_is(line, colon, "physical id")) {
      copy_value(colon, s->topo[cpu].physical_id, TOPO_LEN);
    }
  }
  free(line);
  return rc;
}

/* Telegraf only warns when /proc/cpuinfo cannot be read; so do we. */
static int load_topology(cpu_state *s, const char *proc) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/cpuinfo", proc);
  FILE *f = fopen(path, "re");
  if (!f) {
    tower_warn(s->ctx, "core_tags: cannot read %s (%s); metrics go without core_id/physical_id",
               path, strerror(errno));
    return 0;
  }
  int rc = read_cpuinfo(s, f);
  fclose(f);
  if (rc == 0 && s->ntopo == 0)
    tower_warn(s->ctx, "core_tags: %s lists no processor; metrics go without core_id/physical_id",
               path);
  return rc;
}

/* ---- reading /proc/stat -------------------------------------------------- */

/* Length of the leading cpu lines when a complete line that is not a cpu
 * line follows them within buf[0, len); 0 when the buffer ends first. */
static size_t cpu_lines_len(const char *buf, size_t len) {
  size_t p = 0;
  while (p + 3 <= len) {
    if (memcmp(buf + p, "cpu", 3) != 0)
      return p;
    const char *nl = memchr(buf + p, '\n', len - p);
    if (!nl)
      return 0;
    p = (size_t)(nl - buf) + 1;
  }
  return 0;
}

/* Reads the file from the start into s->buf, up to its capacity. Returns
 * the bytes read, or a negative errno. */
static ssize_t read_file_once(cpu_state *s) {
  int fd = open(s->stat_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  size_t len = 0;
  while (len < s->buf_cap) {
    ssize_t n = read(fd, s->buf + len, s->buf_cap - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return -err;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  return (ssize_t)len;
}

/* Reads the cpu lines of /proc/stat into s->buf. A full buffer that ends
 * inside the cpu lines (thousands of CPUs) is doubled once and for all.
 * Returns the length of the part to parse, or a negative errno. */
static ssize_t read_stat(cpu_state *s) {
  for (;;) {
    ssize_t len = read_file_once(s);
    if (len < 0 || (size_t)len < s->buf_cap)
      return len;
    size_t cpu_len = cpu_lines_len(s->buf, (size_t)len);
    if (cpu_len)
      return (ssize_t)cpu_len;
    if (s->buf_cap >= BUF_MAX)
      return -EFBIG;
    char *b = realloc(s->buf, s->buf_cap * 2);
    if (!b)
      return -ENOMEM;
    s->buf = b;
    s->buf_cap *= 2;
  }
}

/* ---- parsing ------------------------------------------------------------- */

/* Parses the decimal number after optional blanks at p (< end). Returns
 * the position after it, or NULL when there is none or it overflows. */
static const char *parse_u64(const char *p, const char *end, uint64_t *out) {
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  if (p == end || *p < '0' || *p > '9')
    return NULL;
  uint64_t v = 0;
  for (; p < end && *p >= '0' && *p <= '9'; p++) {
    if (v > (UINT64_MAX - 9) / 10)
      return NULL;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  *out = v;
  return p;
}

/* The slot of CPU `index` (-1: the total), grown on demand. */
static cpu_slot *slot_for(cpu_state *s, long index) {
  if (index < 0)
    return &s->total;
  size_t i = (size_t)index;
  if (i >= s->ncpus) {
    size_t n = s->ncpus ? s->ncpus : 8;
    while (n <= i)
      n *= 2;
    cpu_slot *c = realloc(s->cpus, n * sizeof *c);
    if (!c)
      return NULL;
    memset(c + s->ncpus, 0, (n - s->ncpus) * sizeof *c);
    s->cpus = c;
    s->ncpus = n;
  }
  return &s->cpus[i];
}

/* Parses "cpu" or "cpuN" at the start of a line. Returns the position
 * after it and sets *index (-1 for the total), or NULL when malformed. */
static const char *parse_cpu_name(const char *p, const char *end, long *index) {
  p += 3; /* "cpu", checked by the caller */
  if (p < end && (*p == ' ' || *p == '\t')) {
    *index = -1;
    return p;
  }
  uint64_t n;
  const char *q = parse_u64(p, end, &n);
  if (!q || q == end || (*q != ' ' && *q != '\t') || n > MAX_CPU_INDEX)
    return NULL;
  *index = (long)n;
  return q;
}

/* Parses one cpu line [p, end) into its slot. Returns 0, -EINVAL for a
 * malformed line, -ENOMEM. */
static int parse_line(cpu_state *s, const char *p, const char *end) {
  long index;
  p = parse_cpu_name(p, end, &index);
  if (!p)
    return -EINVAL;
  cpu_ticks t = {{0}};
  int cols = 0;
  for (; cols < NSTATS; cols++) {
    const char *q = parse_u64(p, end, &t.v[cols]);
    if (!q)
      break;
    p = q;
  }
  if (cols < MIN_COLUMNS)
    return -EINVAL;
  cpu_slot *slot = slot_for(s, index);
  if (!slot)
    return -ENOMEM;
  slot->cur = t;
  slot->seen = true;
  return 0;
}

/* Parses the cpu lines in s->buf[0, len). Malformed lines are skipped with a
 * debug message, as gopsutil skips them. Returns the number of lines taken,
 * or -ENOMEM. */
static int parse_stat(cpu_state *s, size_t len) {
  const char *p = s->buf, *end = s->buf + len;
  int taken = 0;
  while (p < end && end - p >= 3 && memcmp(p, "cpu", 3) == 0) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *eol = nl ? nl : end;
    int rc = parse_line(s, p, eol);
    if (rc == -ENOMEM)
      return rc;
    if (rc)
      tower_debug(s->ctx, "%s: skipping malformed line \"%.*s\"", s->stat_path,
                  (int)(eol - p > 80 ? 80 : eol - p), p);
    else
      taken++;
    p = eol + 1;
  }
  return taken;
}

/* ---- metrics ------------------------------------------------------------- */

static uint64_t total_ticks(const cpu_ticks *t) {
  /* guest and guest_nice are already counted in user and nice. */
  return t->v[USER] + t->v[NICE] + t->v[SYSTEM] + t->v[IDLE] + t->v[IOWAIT] + t->v[IRQ] +
         t->v[SOFTIRQ] + t->v[STEAL];
}

/* A "cpu" metric of `type` with the cpu tag (and core tags). */
static tower_metric *new_metric(const cpu_state *s, const char *cpu, long index,
                                tower_value_type type) {
  tower_metric *m = tower_metric_new("cpu", TOWER_TIME_UNSET);
  if (!m)
    return NULL;
  int rc = tower_metric_set_type(m, type);
  if (rc == 0)
    rc = tower_metric_add_tag(m, "cpu", cpu);
  /* Telegraf's cpu-total has no cpuinfo entry, and its empty tag values are
   * dropped: only real CPUs get core tags. */
  if (rc == 0 && index >= 0 && (size_t)index < s->ntopo) {
    const cpu_topo *t = &s->topo[index];
    if (t->core_id[0])
      rc = tower_metric_add_tag(m, "core_id", t->core_id);
    if (rc == 0 && t->physical_id[0])
      rc = tower_metric_add_tag(m, "physical_id", t->physical_id);
  }
  if (rc) {
    tower_metric_free(m);
    return NULL;
  }
  return m;
}

static int emit_times(const cpu_state *s, tower_acc *acc, const cpu_slot *c, const char *cpu,
                      long index) {
  tower_metric *m = new_metric(s, cpu, index, TOWER_COUNTER);
  if (!m)
    return -ENOMEM;
  int rc = 0;
  for (int i = 0; rc == 0 && i < NSTATS; i++)
    rc = tower_metric_add_float(m, time_fields[i], (double)c->cur.v[i] / s->ticks_per_sec);
  if (rc == 0 && s->report_active) {
    uint64_t active = total_ticks(&c->cur) - c->cur.v[IDLE];
    rc = tower_metric_add_float(m, "time_active", (double)active / s->ticks_per_sec);
  }
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(acc, m);
}

/* Share of `delta` ticks in `total` (> 0), in percent. A state counter that
 * went backwards or ran ahead of the total (iowait may decrease, proc(5))
 * is clamped into [0, total], as Telegraf's clamp_percentages does, so no
 * value leaves [0, 100]. */
static double percent(int64_t delta, int64_t total) {
  if (delta < 0)
    delta = 0;
  if (delta > total)
    delta = total;
  return 100.0 * (double)delta / (double)total;
}

/* Ticks state i advanced since the previous sample (signed). */
static int64_t delta_of(const cpu_slot *c, int i) {
  return (int64_t)(c->cur.v[i] - c->prev.v[i]);
}

/* Per-state deltas as Telegraf computes usage: guest time out of user,
 * guest_nice out of nice. */
static void usage_deltas(const cpu_slot *c, int64_t d[NSTATS]) {
  for (int i = 0; i < NSTATS; i++)
    d[i] = delta_of(c, i);
  d[USER] -= d[GUEST];
  d[NICE] -= d[GUEST_NICE];
}

static int emit_usage(const cpu_state *s, tower_acc *acc, const cpu_slot *c, const char *cpu,
                      long index) {
  int64_t total = (int64_t)(total_ticks(&c->cur) - total_ticks(&c->prev));
  if (total < 0) {
    /* Telegraf fails the gather ("current total CPU time is less than
     * previous total CPU time"); a reset counter (CPU hotplug, suspend) is
     * not worth an error: skip this CPU once, the new sample is the base. */
    tower_debug(s->ctx,
                "%s: current total CPU time is less than previous total CPU time (counters "
                "reset?); no usage for it this round",
                cpu);
    return 0;
  }
  if (total == 0) /* no tick elapsed: no share to report (Telegraf too) */
    return 0;
  int64_t d[NSTATS];
  usage_deltas(c, d);
  tower_metric *m = new_metric(s, cpu, index, TOWER_GAUGE);
  if (!m)
    return -ENOMEM;
  int rc = 0;
  for (int i = 0; rc == 0 && i < NSTATS; i++)
    rc = tower_metric_add_float(m, usage_fields[i], percent(d[i], total));
  if (rc == 0 && s->report_active)
    rc = tower_metric_add_float(m, "usage_active", percent(total - delta_of(c, IDLE), total));
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(acc, m);
}

static int emit_cpu(const cpu_state *s, tower_acc *acc, const cpu_slot *c, long index) {
  char name[32];
  if (index < 0)
    snprintf(name, sizeof name, "cpu-total");
  else
    snprintf(name, sizeof name, "cpu%ld", index);
  int rc = 0;
  if (s->collect_time)
    rc = emit_times(s, acc, c, name, index);
  if (rc == 0 && c->has_prev)
    rc = emit_usage(s, acc, c, name, index);
  return rc;
}

/* Telegraf's order: every CPU, then the total. */
static int emit_all(const cpu_state *s, tower_acc *acc) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && s->percpu && i < s->ncpus; i++)
    if (s->cpus[i].seen)
      rc = emit_cpu(s, acc, &s->cpus[i], (long)i);
  if (rc == 0 && s->totalcpu && s->total.seen)
    rc = emit_cpu(s, acc, &s->total, -1);
  return rc;
}

/* The samples of this gather become the base of the next; a CPU absent now
 * starts over when it comes back. */
static void end_round(cpu_slot *c) {
  c->has_prev = c->seen;
  if (c->seen)
    c->prev = c->cur;
  c->seen = false;
}

static int cpu_gather(void *state, tower_acc *acc) {
  cpu_state *s = state;
  ssize_t len = read_stat(s);
  if (len < 0) {
    tower_acc_error(acc,
                    "cannot read %s: %s (set HOST_PROC when the host's /proc is mounted "
                    "elsewhere)",
                    s->stat_path, strerror((int)-len));
    return (int)len;
  }
  int rc = parse_stat(s, (size_t)len);
  if (rc == 0) {
    tower_acc_error(acc, "%s has no cpu lines; is it a Linux /proc/stat?", s->stat_path);
    rc = -EINVAL;
  } else if (rc > 0) {
    rc = emit_all(s, acc);
  }
  end_round(&s->total);
  for (size_t i = 0; i < s->ncpus; i++)
    end_round(&s->cpus[i]);
  return rc < 0 ? rc : 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void cpu_destroy(void *state) {
  cpu_state *s = state;
  if (!s)
    return;
  free(s->buf);
  free(s->cpus);
  free(s->topo);
  free(s);
}

/* gopsutil honours HOST_PROC (for containers that mount the host's /proc
 * elsewhere); so do we, read once at init. */
static const char *proc_root(void) {
  const char *proc = getenv("HOST_PROC");
  return proc && *proc ? proc : "/proc";
}

static int cpu_configure(cpu_state *s, const tower_config *cfg) {
  s->percpu = tower_config_bool(cfg, "percpu");
  s->totalcpu = tower_config_bool(cfg, "totalcpu");
  s->collect_time = tower_config_bool(cfg, "collect_cpu_time");
  s->report_active = tower_config_bool(cfg, "report_active");
  if (!s->percpu && !s->totalcpu)
    tower_warn(s->ctx, "percpu and totalcpu are both false: this input reports nothing");
  long hz = sysconf(_SC_CLK_TCK);
  s->ticks_per_sec = hz > 0 ? (double)hz : 100.0;
  const char *proc = proc_root();
  if ((size_t)snprintf(s->stat_path, sizeof s->stat_path, "%s/stat", proc) >= sizeof s->stat_path)
    return tower_config_error(cfg, NULL, "HOST_PROC is too long (%zu bytes)", strlen(proc));
  if (!(s->buf = malloc(BUF_INITIAL)))
    return -ENOMEM;
  s->buf_cap = BUF_INITIAL;
  return tower_config_bool(cfg, "core_tags") ? load_topology(s, proc) : 0;
}

static int cpu_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  cpu_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  int rc = cpu_configure(s, cfg);
  if (rc) {
    cpu_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .flags = TOWER_PLUGIN_TWO_SAMPLES,
    .name = "cpu",
    .description = "CPU time and usage per CPU and in total, from /proc/stat",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = cpu_init,
    .destroy = cpu_destroy,
    .gather = cpu_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
