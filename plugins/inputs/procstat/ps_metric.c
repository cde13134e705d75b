/* The "procstat" metric of one process, with the tags, field names, types
 * and units of Telegraf's procstat (plugins/inputs/procstat/process.go
 * metrics(), over gopsutil v4 on Linux). Fields whose file could not be
 * read are left out. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "procstat.h"

/* "<prefix>_<name>" or "<name>". */
typedef struct {
  const char *prefix;
  char buf[128];
} namer;

static const char *nm(namer *n, const char *name) {
  if (!n->prefix || !*n->prefix)
    return name;
  snprintf(n->buf, sizeof n->buf, "%s_%s", n->prefix, name);
  return n->buf;
}

/* gopsutil's convertStatusChar for the letters Linux uses; NULL for others
 * (gopsutil's "", which we leave out rather than report empty). */
static const char *status_word(char state) {
  switch (state) {
  case 'R':
    return "running";
  case 'S':
    return "sleep";
  case 'D':
    return "blocked";
  case 'Z':
    return "zombie";
  case 'T':
  case 't':
    return "stop";
  case 'W':
    return "wait";
  case 'I':
    return "idle";
  default:
    return NULL;
  }
}

static const char *const rl_names[RL_COUNT] = {
    "cpu_time",        "memory_data",   "memory_stack",      "memory_rss",
    "num_fds",         "memory_locked", "memory_vms",        "file_locks",
    "signals_pending", "nice_priority", "realtime_priority",
};

static const char *const smaps_fields[SM_COUNT] = {
    "memory_size",         "memory_pss",           "memory_shared_clean",
    "memory_shared_dirty", "memory_private_clean", "memory_private_dirty",
    "memory_referenced",   "memory_anonymous",     "memory_swap",
};

/* The "used" side of a limit, as gopsutil's RlimitUsage fills it. */
static bool rl_used(const ps_state *s, const ps_proc *p, int i, uint64_t *out) {
  switch (i) {
  case RL_CPU:
    *out = (uint64_t)((double)(p->utime + p->stime) / s->rd.ticks_per_sec);
    return true;
  case RL_DATA:
    *out = p->vm_data;
    return true;
  case RL_STACK:
    *out = p->vm_stk;
    return true;
  case RL_RSS:
    *out = p->vm_rss;
    return true;
  case RL_NOFILE:
    *out = (uint64_t)p->nfds;
    return p->has & HAS_FDS;
  case RL_MEMLOCK:
    *out = p->vm_lck;
    return true;
  case RL_AS:
    *out = p->vm_size;
    return true;
  case RL_SIGPENDING:
    /* gopsutil reports the ShdPnd mask as a number; we count its signals */
    *out = (uint64_t)__builtin_popcountll(p->shd_pnd);
    return true;
  case RL_NICE:
    /* getpriority(2)'s raw value, as Go's unix.Getpriority returns it */
    *out = (uint64_t)(20 - p->nice);
    return true;
  case RL_RTPRIO:
    *out = p->priority < 0 ? (uint64_t)(-p->priority - 1) : 0;
    return true;
  default:
    return false; /* file locks: not counted (gopsutil neither) */
  }
}

static int add_limits(const ps_state *s, const ps_proc *p, tower_metric *m, namer *n) {
  int rc = 0;
  for (int i = 0; rc == 0 && i < RL_COUNT; i++) {
    if (!p->rl_seen[i])
      continue;
    char key[96];
    snprintf(key, sizeof key, "rlimit_%s_soft", rl_names[i]);
    rc = tower_metric_add_uint(m, nm(n, key), p->rl_soft[i]);
    snprintf(key, sizeof key, "rlimit_%s_hard", rl_names[i]);
    if (rc == 0)
      rc = tower_metric_add_uint(m, nm(n, key), p->rl_hard[i]);
    uint64_t used;
    if (rc == 0 && rl_used(s, p, i, &used))
      rc = tower_metric_add_uint(m, nm(n, rl_names[i]), used);
  }
  return rc;
}

static int add_smaps(const ps_proc *p, tower_metric *m, namer *n) {
  int rc = 0;
  for (int i = 0; rc == 0 && i < SM_COUNT; i++) {
    uint64_t v = p->smaps[i];
    /* smaps_rollup has no Size line (gopsutil then reports 0): the sum of
     * the mappings' sizes is the process's virtual size, in kB here */
    if (i == SM_SIZE && !(p->has & HAS_SMAPS_SIZE)) {
      if (!(p->has & HAS_STATM))
        continue;
      v = p->statm_size / 1024;
    }
    rc = tower_metric_add_uint(m, nm(n, smaps_fields[i]), v);
  }
  return rc;
}

static int add_cpu(const ps_state *s, const ps_proc *p, tower_metric *m, namer *n, double usage) {
  double hz = s->rd.ticks_per_sec;
  int rc = tower_metric_add_float(m, nm(n, "cpu_time_user"), (double)p->utime / hz);
  if (rc == 0)
    rc = tower_metric_add_float(m, nm(n, "cpu_time_system"), (double)p->stime / hz);
  if (rc == 0 && (p->has & HAS_DELAYACCT))
    rc = tower_metric_add_float(m, nm(n, "cpu_time_iowait"), (double)p->delayacct / hz);
  if (rc == 0 && usage >= 0)
    rc = tower_metric_add_float(m, nm(n, "cpu_usage"), usage);
  return rc;
}

static int add_memory(const ps_state *s, const ps_proc *p, tower_metric *m, namer *n) {
  if (!(p->has & HAS_STATM))
    return 0;
  int rc = tower_metric_add_uint(m, nm(n, "memory_rss"), p->statm_rss);
  if (rc == 0)
    rc = tower_metric_add_uint(m, nm(n, "memory_vms"), p->statm_size);
  if (rc == 0 && s->mem_total)
    rc = tower_metric_add_float(m, nm(n, "memory_usage"),
                                100.0 * (double)p->statm_rss / (double)s->mem_total);
  return rc;
}

/* Fields every process has (gopsutil's status, fd, stat and io parts). */
static int add_basics(const ps_state *s, const ps_proc *p, tower_metric *m, namer *n) {
  int rc = 0;
  if (p->has & HAS_STATUS) {
    rc = tower_metric_add_int(m, nm(n, "num_threads"), (int64_t)p->threads);
    if (rc == 0)
      rc = tower_metric_add_int(m, nm(n, "voluntary_context_switches"), (int64_t)p->vol_ctx);
    if (rc == 0)
      rc = tower_metric_add_int(m, nm(n, "involuntary_context_switches"), (int64_t)p->invol_ctx);
  }
  if (rc == 0 && (p->has & HAS_FDS))
    rc = tower_metric_add_int(m, nm(n, "num_fds"), p->nfds);
  const struct {
    const char *key;
    uint64_t v;
    bool on;
  } u[] = {
      {"minor_faults", p->minflt, true},
      {"major_faults", p->majflt, true},
      {"child_minor_faults", p->cminflt, true},
      {"child_major_faults", p->cmajflt, true},
      {"read_count", p->syscr, p->has & HAS_IO},
      {"write_count", p->syscw, p->has & HAS_IO},
      {"read_bytes", p->rchar, p->has & HAS_IO},
      {"write_bytes", p->wchar, p->has & HAS_IO},
      {"disk_read_bytes", p->read_bytes, p->has & HAS_IO},
      {"disk_write_bytes", p->write_bytes, p->has & HAS_IO},
  };
  for (size_t i = 0; rc == 0 && i < sizeof u / sizeof *u; i++)
    if (u[i].on)
      rc = tower_metric_add_uint(m, nm(n, u[i].key), u[i].v);
  if (rc == 0 && s->boot_time) {
    /* gopsutil's CreateTime: milliseconds, then Telegraf's * 1e6 */
    uint64_t ms = p->starttime * 1000 / (uint64_t)s->rd.ticks_per_sec + s->boot_time * 1000;
    rc = tower_metric_add_int(m, nm(n, "created_at"), (int64_t)ms * 1000000);
  }
  return rc;
}

/* The finder's tags: how the process was selected. */
static int add_group_tags(const ps_state *s, tower_metric *m, size_t group) {
  const char *full = ps_group_name(s, group);
  if ((s->by == PS_BY_SYSTEMD_UNIT && s->systemd_children) || s->by == PS_BY_CGROUP) {
    const char *rel = strncmp(full, "/sys/fs/cgroup/", 15) == 0 ? full + 15 : full;
    int rc = tower_metric_add_tag(m, "cgroup", s->by == PS_BY_CGROUP ? s->target : rel);
    if (rc == 0 && *full)
      rc = tower_metric_add_tag(m, "cgroup_full", full);
    return rc;
  }
  return tower_metric_add_tag(m, s->target_tag, s->target);
}

/* A value that is a tag with tag_with, a field otherwise. */
static int tag_or_string(tower_metric *m, bool tag, const char *key, const char *field_key,
                         const char *v) {
  if (tag)
    return *v ? tower_metric_add_tag(m, key, v) : 0;
  return tower_metric_add_string(m, field_key, v);
}

static int tag_or_int(tower_metric *m, bool tag, const char *key, const char *field_key,
                      int64_t v) {
  if (!tag)
    return tower_metric_add_int(m, field_key, v);
  char num[24];
  snprintf(num, sizeof num, "%lld", (long long)v);
  return tower_metric_add_tag(m, key, num);
}

static int add_identity(ps_state *s, ps_proc *p, tower_metric *m, namer *n) {
  unsigned t = s->tag_with;
  const char *cmd;
  size_t len;
  int rc = 0;
  if (ps_read_cmdline(&s->rd, p->pid, false, &cmd, &len))
    rc = tag_or_string(m, t & PS_TAG_CMDLINE, "cmdline", nm(n, "cmdline"), cmd);
  /* Telegraf does not prefix the pid field */
  if (rc == 0)
    rc = tag_or_int(m, t & PS_TAG_PID, "pid", "pid", p->pid);
  if (rc == 0)
    rc = tag_or_int(m, t & PS_TAG_PPID, "ppid", nm(n, "ppid"), p->ppid);
  const char *word = status_word(p->status_state);
  if (rc == 0 && (p->has & HAS_STATUS) && word)
    rc = tag_or_string(m, t & PS_TAG_STATUS, "status", nm(n, "status"), word);
  if (rc == 0 && (p->has & HAS_STATUS)) {
    char user[64];
    ps_user_name(&s->users, p->ruid, user, sizeof user);
    rc = tag_or_string(m, t & PS_TAG_USER, "user", nm(n, "user"), user);
  }
  char name[256];
  if (s->process_name)
    snprintf(name, sizeof name, "%s", s->process_name);
  else
    ps_process_name(&s->rd, p, name, sizeof name);
  if (rc == 0 && *name)
    rc = tower_metric_add_tag(m, "process_name", name);
  return rc;
}

tower_metric *ps_metric(ps_state *s, ps_proc *p, size_t group, double usage) {
  tower_metric *m = tower_metric_new("procstat", TOWER_TIME_UNSET);
  if (!m)
    return NULL;
  namer n = {.prefix = s->prefix};
  int rc = add_group_tags(s, m, group);
  if (rc == 0)
    rc = add_basics(s, p, m, &n);
  if (rc == 0 && (s->props & PS_CPU))
    rc = add_cpu(s, p, m, &n, usage);
  if (rc == 0 && (s->props & PS_MEMORY))
    rc = add_memory(s, p, m, &n);
  if (rc == 0 && (s->props & PS_MMAP) && (p->has & HAS_SMAPS))
    rc = add_smaps(p, m, &n);
  if (rc == 0 && (s->props & PS_LIMITS) && (p->has & HAS_LIMITS) && (p->has & HAS_STATUS))
    rc = add_limits(s, p, m, &n);
  if (rc == 0)
    rc = add_identity(s, p, m, &n);
  if (rc) {
    tower_metric_free(m);
    return NULL;
  }
  return m;
}
