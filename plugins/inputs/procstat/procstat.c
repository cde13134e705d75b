/* inputs.procstat: resource usage of selected processes, with the metrics of
 * Telegraf's procstat (plugins/inputs/procstat): one "procstat" metric per
 * process found, then one "procstat_lookup" metric telling how many were
 * found and are running, so that "the API server is not running" is one
 * alert rule on procstat_lookup.running.
 *
 * Processes are found by ps_find.c, read by ps_read.c and reported by
 * ps_metric.c. cpu_usage compares each process's CPU time with the previous
 * gather's (TOWER_PLUGIN_TWO_SAMPLES, as inputs.cpu): the samples are kept
 * sorted by pid in the instance, and a pid whose start time changed is a new
 * process (a reused pid), which Telegraf does not notice.
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/plural.h"
#include "procstat.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "pid_file", .type = TOWER_OPT_STRING, .help = "the process whose pid this file holds"},
    {.name = "exe",
     .type = TOWER_OPT_STRING,
     .help = "processes whose name matches this extended regular expression (pgrep <exe>)"},
    {.name = "pattern",
     .type = TOWER_OPT_STRING,
     .help = "processes whose command line matches this extended regular expression (pgrep -f)"},
    {.name = "user", .type = TOWER_OPT_STRING, .help = "processes of this user (pgrep -u)"},
    {.name = "systemd_unit",
     .type = TOWER_OPT_STRING,
     .help = "the main process of this systemd unit, found in its cgroup"},
    {.name = "include_systemd_children",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "with systemd_unit: every process of the unit, tagged cgroup/cgroup_full"},
    {.name = "cgroup",
     .type = TOWER_OPT_STRING,
     .help = "processes of this cgroup (path or glob; relative to /sys/fs/cgroup)"},
    {.name = "pid_finder",
     .type = TOWER_OPT_ENUM,
     .default_value = "pgrep",
     .choices = "pgrep|native",
     .help = "pgrep semantics (exe: process name, user: effective uid) or native (exe: "
             "executable path, user: real uid); both read /proc, no command is run"},
    {.name = "process_name",
     .type = TOWER_OPT_STRING,
     .help = "the process_name tag, instead of the process's own name"},
    {.name = "prefix", .type = TOWER_OPT_STRING, .help = "prefix of the field names (prefix_...)"},
    {.name = "mode",
     .type = TOWER_OPT_ENUM,
     .default_value = "irix",
     .choices = "irix|solaris",
     .help = "cpu_usage per CPU (irix: 200 is two CPUs busy) or of all CPUs (solaris)"},
    {.name = "properties",
     .type = TOWER_OPT_STRINGS,
     .default_value = "cpu,memory,mmap",
     .help = "what to collect: cpu, memory, mmap, limits"},
    {.name = "tag_with",
     .type = TOWER_OPT_STRINGS,
     .help = "make these tags instead of fields: cmdline, pid, ppid, status, user"},
    {.name = "pid_tag",
     .type = TOWER_OPT_BOOL,
     .flags = TOWER_OPT_DEPRECATED,
     .default_value = "false",
     .help = "use tag_with = [\"pid\"]"},
    {.name = "cmdline_tag",
     .type = TOWER_OPT_BOOL,
     .flags = TOWER_OPT_DEPRECATED,
     .default_value = "false",
     .help = "use tag_with = [\"cmdline\"]"},
    TOWER_OPTION_END,
};

/* ---- cpu_usage ----------------------------------------------------------- */

static int sample_cmp(const void *a, const void *b) {
  const ps_sample *x = a, *y = b;
  return (x->pid > y->pid) - (x->pid < y->pid);
}

static int reserve_samples(ps_state *s, size_t n) {
  if (n <= s->cap_samples)
    return 0;
  size_t cap = s->cap_samples ? s->cap_samples : 16;
  while (cap < n)
    cap *= 2;
  ps_sample *a = realloc(s->prev, cap * sizeof *a);
  if (!a)
    return -ENOMEM;
  s->prev = a;
  ps_sample *b = realloc(s->cur, cap * sizeof *b);
  if (!b)
    return -ENOMEM;
  s->cur = b;
  s->cap_samples = cap;
  return 0;
}

/* Percent of one CPU (irix) or of all (solaris) the process used since its
 * previous sample, as gopsutil's Percent(0): -1 on its first sample. */
static double cpu_usage(const ps_state *s, const ps_proc *p, const ps_sample *now) {
  ps_sample key = {.pid = p->pid};
  const ps_sample *prev =
      s->nprev ? bsearch(&key, s->prev, s->nprev, sizeof key, sample_cmp) : NULL;
  if (!prev || prev->starttime != now->starttime || now->mono_ns <= prev->mono_ns)
    return -1;
  if (now->ticks <= prev->ticks)
    return 0;
  double secs = (double)(now->mono_ns - prev->mono_ns) / 1e9;
  double usage = 100.0 * (double)(now->ticks - prev->ticks) / s->rd.ticks_per_sec / secs;
  return s->solaris ? usage / s->ncpu : usage;
}

static void end_samples(ps_state *s) {
  ps_sample *t = s->prev;
  s->prev = s->cur;
  s->cur = t;
  s->nprev = s->ncur;
  s->ncur = 0;
  if (s->nprev > 1) /* qsort wants a non-null array even for 0 elements */
    qsort(s->prev, s->nprev, sizeof *s->prev, sample_cmp);
}

/* ---- the gather ---------------------------------------------------------- */

static int report_process(ps_state *s, tower_acc *acc, ps_proc *p, size_t group) {
  ps_read_details(&s->rd, p, s->props);
  ps_sample *now = &s->cur[s->ncur++];
  *now = (ps_sample){.pid = p->pid,
                     .starttime = p->starttime,
                     .ticks = p->utime + p->stime,
                     .mono_ns = p->mono_ns};
  tower_metric *m = ps_metric(s, p, group, cpu_usage(s, p, now));
  return m ? tower_acc_add(acc, m) : -ENOMEM;
}

/* Reads and reports every process found; *running counts those alive. */
static int report_all(ps_state *s, tower_acc *acc, size_t *running) {
  int rc = reserve_samples(s, s->found.n);
  for (size_t i = 0; rc == 0 && i < s->found.n; i++) {
    ps_proc p;
    int r = ps_read_stat(&s->rd, s->found.v[i], &p);
    if (r == -EINVAL) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s/%d/stat", s->rd.roots.proc, p.pid);
      ps_reader_fail(&s->rd, path, EINVAL);
    }
    if (r || !p.comm[0]) /* gone (or a pid file naming a dead process) */
      continue;
    ++*running;
    rc = report_process(s, acc, &p, (size_t)s->group_of.v[i]);
  }
  end_samples(s);
  return rc;
}

static void report_read_failures(ps_state *s, tower_acc *acc) {
  ps_reader *r = &s->rd;
  if (!r->failed)
    return;
  const char *why =
      r->failed_err == EINVAL ? "not what Linux writes there" : strerror(r->failed_err);
  const char *hint = r->failed_err == EACCES || r->failed_err == EPERM
                         ? "; another user's io, fd, smaps_rollup and limits need root or "
                           "CAP_SYS_PTRACE"
                         : "";
  if (r->failed == 1)
    tower_acc_error(acc, "cannot read %s: %s; its fields are left out%s", r->failed_path, why,
                    hint);
  else
    tower_acc_error(acc,
                    "cannot read %s: %s, nor %u other process file%s; their fields are left out%s",
                    r->failed_path, why, r->failed - 1, plural_s(r->failed - 1), hint);
}

/* The finder's tags on procstat_lookup. */
static int lookup_tags(const ps_state *s, tower_metric *m) {
  if (s->by == PS_BY_CGROUP || (s->by == PS_BY_SYSTEMD_UNIT && s->systemd_children)) {
    /* Telegraf merges the groups' tags: the last cgroup_full stays */
    const char *full = s->ngroups ? ps_group_name(s, s->ngroups - 1) : "";
    const char *rel = strncmp(full, "/sys/fs/cgroup/", 15) == 0 ? full + 15 : full;
    const char *cg = s->by == PS_BY_CGROUP ? s->target : rel;
    int rc = *cg ? tower_metric_add_tag(m, "cgroup", cg) : 0;
    if (rc == 0 && *full)
      rc = tower_metric_add_tag(m, "cgroup_full", full);
    if (rc == 0 && s->by == PS_BY_SYSTEMD_UNIT && !*full)
      rc = tower_metric_add_tag(m, "systemd_unit", s->target);
    return rc;
  }
  return tower_metric_add_tag(m, s->target_tag, s->target);
}

static int emit_lookup(const ps_state *s, tower_acc *acc, bool ok, size_t count, size_t running) {
  tower_metric *m = tower_metric_new("procstat_lookup", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_add_tag(m, "pid_finder", s->finder);
  if (rc == 0)
    rc = tower_metric_add_tag(m, "result", ok ? "success" : "lookup_error");
  if (rc == 0)
    rc = lookup_tags(s, m);
  if (rc == 0)
    rc = tower_metric_add_int(m, "pid_count", (int64_t)count);
  if (rc == 0)
    rc = tower_metric_add_int(m, "running", (int64_t)running);
  if (rc == 0)
    rc = tower_metric_add_int(m, "result_code", ok ? 0 : 1);
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(acc, m);
}

static int procstat_gather(void *state, tower_acc *acc) {
  ps_state *s = state;
  s->rd.failed = 0;
  ps_users_reset(&s->users);
  int rc = ps_find(s, acc);
  if (rc < 0) {
    int lrc = emit_lookup(s, acc, false, 0, 0);
    return lrc ? lrc : rc;
  }
  if (s->props & PS_MEMORY)
    s->mem_total = ps_mem_total(&s->rd);
  if (!s->boot_time)
    s->boot_time = ps_boot_time(&s->rd);
  size_t running = 0;
  rc = report_all(s, acc, &running);
  report_read_failures(s, acc);
  int lrc = emit_lookup(s, acc, true, s->found.n, running);
  return rc ? rc : lrc;
}

/* ---- configuration ------------------------------------------------------- */

/* The selector in Telegraf's priority order; a second one set is ignored
 * with a warning (Telegraf ignores it silently). */
static int pick_selector(ps_state *s, const tower_config *cfg) {
  static const struct {
    const char *option, *tag;
    ps_by by;
  } sel[] = {
      {"systemd_unit", "systemd_unit", PS_BY_SYSTEMD_UNIT},
      {"cgroup", "cgroup", PS_BY_CGROUP},
      {"pid_file", "pidfile", PS_BY_PID_FILE},
      {"exe", "exe", PS_BY_EXE},
      {"pattern", "pattern", PS_BY_PATTERN},
      {"user", "user", PS_BY_USER},
  };
  for (size_t i = 0; i < sizeof sel / sizeof *sel; i++) {
    const char *v = tower_config_string(cfg, sel[i].option);
    if (!v || !*v)
      continue;
    if (s->target) {
      tower_warn(s->ctx,
                 "%s is ignored: %s selects the processes (one selector per input, in "
                 "Telegraf's order systemd_unit, cgroup, pid_file, exe, pattern, user)",
                 sel[i].option, s->target_tag);
      continue;
    }
    s->by = sel[i].by;
    s->target = v;
    s->target_tag = sel[i].tag;
  }
  if (!s->target)
    return tower_config_error(cfg, NULL,
                              "no process selector: set one of pid_file, exe, pattern, user, "
                              "systemd_unit or cgroup");
  return 0;
}

static int compile_regex(ps_state *s, const tower_config *cfg) {
  if (s->by != PS_BY_EXE && s->by != PS_BY_PATTERN)
    return 0;
  int rc = regcomp(&s->re, s->target, REG_EXTENDED | REG_NOSUB);
  if (rc) {
    char msg[128];
    regerror(rc, &s->re, msg, sizeof msg);
    return tower_config_error(cfg, tower_config_setting(cfg, s->target_tag),
                              "%s \"%s\" is not "
                              "an extended regular expression: %s",
                              s->target_tag, s->target, msg);
  }
  s->re_set = true;
  return 0;
}

/* Maps the strings of `key` onto bits; an unknown word is a config error. */
static int parse_words(const tower_config *cfg, const char *key, const char *const *words,
                       const char *unsupported, unsigned *out) {
  size_t n = tower_config_strings_len(cfg, key);
  for (size_t i = 0; i < n; i++) {
    const char *w = tower_config_strings_at(cfg, key, i);
    size_t k = 0;
    while (words[k] && strcmp(words[k], w) != 0)
      k++;
    if (words[k]) {
      *out |= 1u << k;
      continue;
    }
    bool later = strstr(unsupported, w) != NULL;
    return tower_config_error(cfg, tower_config_setting(cfg, key), "%s: \"%s\" is %s", key, w,
                              later ? "not supported by tower's procstat (see its README)"
                                    : "unknown");
  }
  return 0;
}

static int configure(ps_state *s, const tower_config *cfg) {
  int rc = pick_selector(s, cfg);
  if (rc == 0)
    rc = compile_regex(s, cfg);
  static const char *const props[] = {"cpu", "memory", "mmap", "limits", NULL};
  static const char *const tags[] = {"cmdline", "pid", "ppid", "status", "user", NULL};
  if (rc == 0)
    rc = parse_words(cfg, "properties", props, "sockets", &s->props);
  if (rc == 0)
    rc = parse_words(cfg, "tag_with", tags,
                     "protocol state src src_port dest dest_port name level child_level "
                     "parent_pid",
                     &s->tag_with);
  if (rc)
    return rc;
  if (tower_config_bool(cfg, "pid_tag"))
    s->tag_with |= PS_TAG_PID;
  if (tower_config_bool(cfg, "cmdline_tag"))
    s->tag_with |= PS_TAG_CMDLINE;
  s->finder = tower_config_string(cfg, "pid_finder");
  s->native = strcmp(s->finder, "native") == 0;
  s->systemd_children = tower_config_bool(cfg, "include_systemd_children");
  s->solaris = strcmp(tower_config_string(cfg, "mode"), "solaris") == 0;
  s->prefix = tower_config_string(cfg, "prefix");
  s->process_name = tower_config_string(cfg, "process_name");
  if (s->process_name && !*s->process_name)
    s->process_name = NULL;
  return 0;
}

/* Go's runtime.NumCPU(): the CPUs this process may run on. */
static int usable_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

static void procstat_destroy(void *state) {
  ps_state *s = state;
  if (!s)
    return;
  if (s->re_set)
    regfree(&s->re);
  host_buf_free(&s->rd.file);
  host_buf_free(&s->rd.cmdline);
  host_buf_free(&s->rd.dir);
  host_buf_free(&s->users.buf);
  host_buf_free(&s->group_names);
  free(s->found.v);
  free(s->group_of.v);
  free(s->prev);
  free(s->cur);
  free(s);
}

static int procstat_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  ps_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  int rc = host_roots_load(&s->rd.roots, ctx, cfg);
  if (rc == 0)
    rc = configure(s, cfg);
  if (rc) {
    procstat_destroy(s);
    return rc;
  }
  long hz = sysconf(_SC_CLK_TCK);
  s->rd.ticks_per_sec = hz > 0 ? (double)hz : 100.0;
  long page = sysconf(_SC_PAGESIZE);
  s->rd.page_size = page > 0 ? page : 4096;
  s->ncpu = usable_cpus();
  host_path(s->users.path, sizeof s->users.path, s->rd.roots.etc, "passwd");
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .flags = TOWER_PLUGIN_TWO_SAMPLES,
    .name = "procstat",
    .description = "CPU, memory, I/O and limits of selected processes, and whether they run",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = procstat_init,
    .destroy = procstat_destroy,
    .gather = procstat_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
