/* inputs.processes: how many processes are in each state, from the state
 * letter of every <HOST_PROC>/<pid>/stat, counted as Telegraf's Linux
 * implementation counts them (plugins/inputs/processes/
 * processes_notwindows.go, gatherFromProc):
 *   R running, S sleeping, D blocked, Z zombies, X dead, T and t stopped,
 *   W paging, I idle, P parked;
 * total is the number of processes (thread group leaders: the numeric
 * entries of /proc, not their tasks) and total_threads the sum of their
 * num_threads (field 20 of stat).
 *
 * One gauge metric "processes" without tags, all fields int64.
 *
 * A process may exit between the listing of /proc and the read of its stat
 * file: open fails with ENOENT, or read with ESRCH. It is skipped silently,
 * as Telegraf does. Any other failure is counted and reported once per
 * gather (naming the first file), and the metric still carries what the
 * readable files said.
 *
 * The listing (host_dir) and the stat text (host_buf) reuse buffers kept in
 * the instance, so a gather allocates only its metric once warm.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "../../common/host/host.h"
#include "../../common/plural.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* A stat line is about 300 bytes; a corrupt or foreign file is cut here. */
#define STAT_MAX (64u * 1024u)

/* The counters, in the order of the field names below. */
enum {
  BLOCKED,
  DEAD,
  IDLE,
  PAGING,
  RUNNING,
  SLEEPING,
  STOPPED,
  TOTAL,
  TOTAL_THREADS,
  UNKNOWN,
  ZOMBIES,
  NCOUNTS,
  PARKED = NCOUNTS, /* only reported when a process is parked */
  NSLOTS
};

static const char *const field_names[NSLOTS] = {
    "blocked", "dead",  "idle",          "paging",  "running", "sleeping",
    "stopped", "total", "total_threads", "unknown", "zombies", "parked",
};

typedef struct {
  tower_ctx *ctx;
  host_roots roots;
  host_buf dirbuf; /* getdents64 records of /proc */
  host_buf stat;   /* one <pid>/stat file */
} processes_state;

/* What one gather found that it could not read, reported once. */
typedef struct {
  unsigned failed;
  int first_err;
  char first_path[PATH_MAX];
} read_failures;

static const tower_option options[] = {
    TOWER_OPTION_END,
};

/* The counter a state letter adds to (proc(5), Telegraf's mapping). */
static int slot_of_state(char state) {
  switch (state) {
  case 'R':
    return RUNNING;
  case 'S':
    return SLEEPING;
  case 'D':
    return BLOCKED;
  case 'Z':
    return ZOMBIES;
  case 'X':
    return DEAD;
  case 'T':
  case 't':
    return STOPPED;
  case 'W':
    return PAGING;
  case 'I':
    return IDLE;
  case 'P':
    return PARKED;
  default:
    return UNKNOWN;
  }
}

/* Skips blanks then one space-separated field at *p. */
static bool skip_field(const char **p, const char *end) {
  const char *s = *p;
  while (s < end && *s == ' ')
    s++;
  if (s == end)
    return false;
  while (s < end && *s != ' ' && *s != '\n')
    s++;
  *p = s;
  return true;
}

/* Counts one stat text: the state after the command name (which may hold
 * spaces and parentheses, so the last ')' ends it) and num_threads, 17
 * fields after the state. false when the text is not a stat line. */
static bool count_stat(const char *text, size_t len, uint64_t counts[NSLOTS]) {
  const char *end = text + len;
  const char *paren = NULL;
  for (const char *p = text; p < end; p++)
    if (*p == ')')
      paren = p;
  if (!paren || end - paren < 3 || paren[1] != ' ')
    return false;
  const char *p = paren + 2;
  counts[slot_of_state(*p)]++;
  counts[TOTAL]++;
  /* Telegraf counts the state even when num_threads does not parse. */
  for (int i = 0; i < 17; i++)
    if (!skip_field(&p, end))
      return true;
  uint64_t threads;
  if (host_parse_u64(&p, end, &threads))
    counts[TOTAL_THREADS] += threads;
  return true;
}

static bool is_pid(const char *name) {
  if (*name < '0' || *name > '9')
    return false;
  while (*name >= '0' && *name <= '9')
    name++;
  return *name == '\0';
}

/* Reads and counts <proc>/<pid>/stat. A process that vanished is skipped;
 * other failures are noted in `f`. */
static void count_pid(processes_state *s, const char *pid, uint64_t counts[NSLOTS],
                      read_failures *f) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s/stat", s->roots.proc, pid);
  int rc = host_read(&s->stat, path, STAT_MAX);
  if (rc == -ENOENT || rc == -ESRCH)
    return;
  if (rc == 0 && count_stat(s->stat.data, s->stat.len, counts))
    return;
  if (rc == 0 && s->stat.len == 0)
    return; /* a process being reaped can show an empty stat */
  if (f->failed++ == 0) {
    f->first_err = rc ? -rc : EINVAL;
    snprintf(f->first_path, sizeof f->first_path, "%s", path);
  }
}

static int emit(tower_acc *acc, const uint64_t counts[NSLOTS]) {
  tower_metric *m = tower_metric_new("processes", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_set_type(m, TOWER_GAUGE);
  for (int i = 0; rc == 0 && i < NCOUNTS; i++)
    rc = tower_metric_add_int(m, field_names[i], (int64_t)counts[i]);
  if (rc == 0 && counts[PARKED])
    rc = tower_metric_add_int(m, field_names[PARKED], (int64_t)counts[PARKED]);
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(acc, m);
}

static void report_failures(const processes_state *s, tower_acc *acc, const read_failures *f) {
  if (!f->failed)
    return;
  const char *why = f->first_err == EINVAL ? "not a /proc/<pid>/stat line" : strerror(f->first_err);
  if (f->failed == 1)
    tower_acc_error(acc, "cannot read %s: %s; the counts leave this process out", f->first_path,
                    why);
  else
    tower_acc_error(acc,
                    "cannot read %s: %s, nor the stat files of %u other process%s in %s; the "
                    "counts leave them out",
                    f->first_path, why, f->failed - 1, plural_es(f->failed - 1), s->roots.proc);
}

static int processes_gather(void *state, tower_acc *acc) {
  processes_state *s = state;
  host_dir d;
  int rc = host_dir_open(&d, &s->dirbuf, s->roots.proc);
  if (rc) {
    tower_acc_error(acc,
                    "cannot list %s: %s (set HOST_PROC when the host's /proc is mounted "
                    "elsewhere)",
                    s->roots.proc, strerror(-rc));
    return rc;
  }
  uint64_t counts[NSLOTS] = {0};
  read_failures f = {0};
  unsigned pids = 0;
  for (const char *name; (name = host_dir_next(&d));) {
    if (!is_pid(name))
      continue;
    pids++;
    count_pid(s, name, counts, &f);
  }
  host_dir_close(&d);
  if (d.err) {
    tower_acc_error(acc, "listing %s failed: %s", s->roots.proc, strerror(d.err));
    return -d.err;
  }
  if (pids == 0) {
    tower_acc_error(acc,
                    "%s has no process directories; is it a Linux /proc? (set HOST_PROC when "
                    "the host's /proc is mounted elsewhere)",
                    s->roots.proc);
    return -ENOENT;
  }
  report_failures(s, acc, &f);
  return emit(acc, counts);
}

static void processes_destroy(void *state) {
  processes_state *s = state;
  if (!s)
    return;
  host_buf_free(&s->dirbuf);
  host_buf_free(&s->stat);
  free(s);
}

static int processes_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  processes_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  int rc = host_roots_load(&s->roots, ctx, cfg);
  if (rc) {
    processes_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "processes",
    .description = "number of processes per state and of threads, from /proc/<pid>/stat",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = processes_init,
    .destroy = processes_destroy,
    .gather = processes_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
