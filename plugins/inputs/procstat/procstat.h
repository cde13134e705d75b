/* inputs.procstat: what its files share (not installed, not SDK).
 *
 *   procstat.c   options, lifecycle, the gather and procstat_lookup
 *   ps_find.c    finding the processes (pid_file, exe, pattern, user,
 *                systemd_unit, cgroup)
 *   ps_read.c    reading one process's /proc files into a ps_proc
 *   ps_metric.c  the procstat metric of one process
 *   ps_users.c   user names and ids from <HOST_ETC>/passwd
 */
#ifndef TOWER_PROCSTAT_H
#define TOWER_PROCSTAT_H

#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <tower/tower.h>

#include "../../common/host/host.h"

/* How processes are selected, in Telegraf's order of priority. */
typedef enum {
  PS_BY_SYSTEMD_UNIT,
  PS_BY_CGROUP,
  PS_BY_PID_FILE,
  PS_BY_EXE,
  PS_BY_PATTERN,
  PS_BY_USER,
} ps_by;

/* What to collect (Telegraf's `properties`) and how to tag. */
enum {
  PS_CPU = 1u << 0,
  PS_MEMORY = 1u << 1,
  PS_MMAP = 1u << 2,
  PS_LIMITS = 1u << 3,
};
enum {
  PS_TAG_CMDLINE = 1u << 0,
  PS_TAG_PID = 1u << 1,
  PS_TAG_PPID = 1u << 2,
  PS_TAG_STATUS = 1u << 3,
  PS_TAG_USER = 1u << 4,
};

/* A growing array of pids (kept across gathers). */
typedef struct {
  int *v;
  size_t n, cap;
} ps_pids;
int ps_pids_push(ps_pids *p, int pid);

/* One process as its /proc files describe it at this gather. `has`
 * says which parts could be read (a file missing on an older kernel or
 * unreadable for lack of privilege leaves its fields out). */
enum {
  HAS_STATUS = 1u << 0,
  HAS_IO = 1u << 1,
  HAS_STATM = 1u << 2,
  HAS_FDS = 1u << 3,
  HAS_SMAPS = 1u << 4,
  HAS_LIMITS = 1u << 5,
  HAS_CMDLINE = 1u << 6,
  HAS_DELAYACCT = 1u << 7,
  HAS_SMAPS_SIZE = 1u << 8,
};

enum {
  RL_CPU,
  RL_DATA,
  RL_STACK,
  RL_RSS,
  RL_NOFILE,
  RL_MEMLOCK,
  RL_AS,
  RL_LOCKS,
  RL_SIGPENDING,
  RL_NICE,
  RL_RTPRIO,
  RL_COUNT
};

enum {
  SM_SIZE,
  SM_PSS,
  SM_SHARED_CLEAN,
  SM_SHARED_DIRTY,
  SM_PRIVATE_CLEAN,
  SM_PRIVATE_DIRTY,
  SM_REFERENCED,
  SM_ANONYMOUS,
  SM_SWAP,
  SM_COUNT
};

typedef struct {
  int pid;
  unsigned has;
  /* stat */
  char comm[64];
  char state;
  int ppid;
  uint64_t minflt, cminflt, majflt, cmajflt, utime, stime, starttime, delayacct;
  int64_t priority, nice;
  /* status */
  char name[64];
  char status_state;
  uint32_t ruid, euid;
  uint64_t threads, vol_ctx, invol_ctx;
  uint64_t vm_rss, vm_size, vm_data, vm_stk, vm_lck, shd_pnd; /* bytes; mask */
  /* io */
  uint64_t rchar, wchar, syscr, syscw, read_bytes, write_bytes;
  /* statm, in bytes */
  uint64_t statm_size, statm_rss;
  long nfds;
  uint64_t smaps[SM_COUNT]; /* kB, as the file says */
  uint64_t rl_soft[RL_COUNT], rl_hard[RL_COUNT];
  bool rl_seen[RL_COUNT];
  /* cmdline, arguments joined by spaces (empty ones dropped) */
  const char *cmdline;
  size_t cmdline_len;
  /* the monotonic time the stat file was read, for cpu_usage */
  int64_t mono_ns;
} ps_proc;

/* The reader's buffers and facts, kept in the instance. */
typedef struct {
  host_roots roots;
  host_buf file, cmdline, dir;
  long page_size;
  double ticks_per_sec;
  /* the first unreadable file of this gather, and how many */
  unsigned failed;
  char failed_path[PATH_MAX];
  int failed_err;
} ps_reader;

/* Reads <proc>/<pid>/stat (and comm); -ENOENT/-ESRCH when the process is
 * gone, -EINVAL when the file is not a stat line. */
int ps_read_stat(ps_reader *r, int pid, ps_proc *p);
/* Reads the rest `what` (PS_* properties) needs; files that cannot be read
 * leave their part out of p->has and are noted in r. */
void ps_read_details(ps_reader *r, ps_proc *p, unsigned what);
/* Reads <proc>/<pid>/cmdline into r->cmdline as Telegraf joins it; `keep_empty`
 * keeps empty arguments as pgrep -f does. false when unreadable. */
bool ps_read_cmdline(ps_reader *r, int pid, bool keep_empty, const char **out, size_t *len);
/* Reads "Name:" and the uids of <pid>/status only. */
int ps_read_uids(ps_reader *r, int pid, uint32_t *ruid, uint32_t *euid);
/* Notes an unreadable file for the gather's one error. */
void ps_reader_fail(ps_reader *r, const char *path, int err);
/* gopsutil's process name: comm, or status' Name lengthened from argv[0]
 * when it was cut at 15 bytes. Into out[len]. */
void ps_process_name(ps_reader *r, ps_proc *p, char *out, size_t len);
/* MemTotal of <proc>/meminfo in bytes, 0 when unreadable. */
uint64_t ps_mem_total(ps_reader *r);
/* btime of <proc>/stat (seconds since the epoch), 0 when unreadable. */
uint64_t ps_boot_time(ps_reader *r);

/* The passwd file of the host, read once per gather on demand. */
typedef struct {
  host_buf buf;
  bool loaded;
  int err; /* errno of the last load, 0 when read */
  char path[PATH_MAX];
} ps_users;
void ps_users_reset(ps_users *u);
/* The name of uid into out (the number when unknown). */
void ps_user_name(ps_users *u, uint32_t uid, char *out, size_t len);
/* The uid of a user name or number; false when unknown. */
bool ps_user_id(ps_users *u, const char *name, uint32_t *uid);

/* The instance. */
typedef struct ps_state ps_state;

typedef struct ps_sample {
  int pid;
  uint64_t starttime, ticks;
  int64_t mono_ns;
} ps_sample;

struct ps_state {
  tower_ctx *ctx;
  ps_by by;
  const char *target;     /* the selector's value, as configured */
  const char *target_tag; /* its tag: pidfile, exe, pattern, user, ... */
  bool native;            /* pid_finder = "native" */
  const char *finder;     /* pid_finder's value, for the lookup tag */
  bool systemd_children;
  regex_t re;
  bool re_set;
  uint32_t user_uid; /* PS_BY_USER with a number */
  const char *prefix, *process_name;
  unsigned props, tag_with;
  bool solaris;
  int ncpu;
  ps_reader rd;
  ps_users users;
  ps_pids found;        /* pids of this gather */
  ps_pids group_of;     /* for cgroup globs: the group of found.v[i] */
  host_buf group_names; /* NUL-separated cgroup_full of each group */
  size_t ngroups;
  ps_sample *prev, *cur;
  size_t nprev, ncur, cap_samples;
  uint64_t boot_time, mem_total;
};

/* Fills s->found (and groups) for this gather. 0, or a negative errno after
 * tower_acc_error() said what failed (the lookup then reports
 * lookup_error). */
int ps_find(ps_state *s, tower_acc *acc);
/* The cgroup_full of group g ("" when none). */
const char *ps_group_name(const ps_state *s, size_t g);

/* Builds the procstat metric of p; `usage` < 0 when there is none. */
tower_metric *ps_metric(ps_state *s, ps_proc *p, size_t group, double usage);

#endif
