/* Reading one process's /proc files, with gopsutil's interpretation
 * (process/process_linux.go), into a ps_proc. Every file is read whole into
 * a buffer kept in the reader, so reading allocates nothing once warm. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "procstat.h"

/* Kernel text files of one process: stat ~300 bytes, status ~1.5 KiB,
 * limits ~1.3 KiB; smaps grows with the mappings (16 MiB cap). */
#define SMALL_MAX (256u * 1024u)

void ps_reader_fail(ps_reader *r, const char *path, int err) {
  if (r->failed++ == 0) {
    snprintf(r->failed_path, sizeof r->failed_path, "%s", path);
    r->failed_err = err;
  }
}

static void pid_path(const ps_reader *r, char *buf, size_t len, int pid, const char *file) {
  snprintf(buf, len, "%s/%d/%s", r->roots.proc, pid, file);
}

/* A file of a process that may have exited: 0, -ENOENT/-ESRCH when gone,
 * other failures noted for the gather's error. */
static int read_pid_file(ps_reader *r, int pid, const char *file, host_buf *b, size_t max) {
  char path[PATH_MAX];
  pid_path(r, path, sizeof path, pid, file);
  int rc = host_read(b, path, max);
  if (rc && rc != -ENOENT && rc != -ESRCH)
    ps_reader_fail(r, path, -rc);
  return rc;
}

static bool parse_i64(const char **p, const char *end, int64_t *out) {
  const char *s = *p;
  while (s < end && *s == ' ')
    s++;
  bool neg = s < end && *s == '-';
  if (neg)
    s++;
  uint64_t v;
  if (!host_parse_u64(&s, end, &v) || v > (uint64_t)INT64_MAX)
    return false;
  *out = neg ? -(int64_t)v : (int64_t)v;
  *p = s;
  return true;
}

static bool skip_fields(const char **p, const char *end, int n) {
  const char *s = *p;
  for (int i = 0; i < n; i++) {
    while (s < end && *s == ' ')
      s++;
    if (s == end || *s == '\n')
      return false;
    while (s < end && *s != ' ' && *s != '\n')
      s++;
  }
  *p = s;
  return true;
}

static int64_t mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Fields 4 to 42 of stat (proc(5)), after the state at *p (field 3). */
static bool parse_stat_numbers(const char *p, const char *end, ps_proc *out) {
  int64_t ppid;
  p++; /* the state letter */
  if (!parse_i64(&p, end, &ppid) || !skip_fields(&p, end, 5) ||
      !host_parse_u64(&p, end, &out->minflt) || !host_parse_u64(&p, end, &out->cminflt) ||
      !host_parse_u64(&p, end, &out->majflt) || !host_parse_u64(&p, end, &out->cmajflt) ||
      !host_parse_u64(&p, end, &out->utime) || !host_parse_u64(&p, end, &out->stime) ||
      !skip_fields(&p, end, 2) || !parse_i64(&p, end, &out->priority) ||
      !parse_i64(&p, end, &out->nice) || !skip_fields(&p, end, 2) ||
      !host_parse_u64(&p, end, &out->starttime))
    return false; /* fields 4..22: gopsutil wants at least 23 */
  out->ppid = (int)ppid;
  /* delayacct_blkio_ticks is field 42 (Linux 2.6.18): 19 after starttime */
  if (skip_fields(&p, end, 19) && host_parse_u64(&p, end, &out->delayacct))
    out->has |= HAS_DELAYACCT;
  return true;
}

int ps_read_stat(ps_reader *r, int pid, ps_proc *p) {
  memset(p, 0, sizeof *p);
  p->pid = pid;
  p->nfds = -1;
  int rc = read_pid_file(r, pid, "stat", &r->file, SMALL_MAX);
  if (rc)
    return rc;
  p->mono_ns = mono_now();
  const char *text = r->file.data, *end = text + r->file.len;
  const char *open = memchr(text, '(', r->file.len);
  const char *close = NULL;
  for (const char *q = text; q < end; q++)
    if (*q == ')')
      close = q;
  if (r->file.len == 0)
    return -ESRCH; /* a process being reaped shows an empty stat */
  if (!open || !close || close < open || end - close < 3)
    return -EINVAL;
  size_t n = (size_t)(close - open - 1);
  if (n >= sizeof p->comm)
    n = sizeof p->comm - 1;
  memcpy(p->comm, open + 1, n);
  p->comm[n] = '\0';
  p->state = close[2];
  return parse_stat_numbers(close + 2, end, p) ? 0 : -EINVAL;
}

/* ---- status -------------------------------------------------------------- */

/* The value after "Key:" of a status line, blanks skipped. */
static const char *status_value(const char *line, size_t len, const char *key, const char **end) {
  size_t k = strlen(key);
  if (len <= k || line[k] != ':' || memcmp(line, key, k) != 0)
    return NULL;
  const char *v = line + k + 1;
  *end = line + len;
  while (v < *end && (*v == ' ' || *v == '\t'))
    v++;
  return v;
}

static bool status_u64(const char *line, size_t len, const char *key, uint64_t *out,
                       uint64_t scale) {
  const char *end, *v = status_value(line, len, key, &end);
  if (!v)
    return false;
  uint64_t x;
  if (host_parse_u64(&v, end, &x))
    *out = x * scale;
  return true;
}

static bool status_hex(const char *line, size_t len, const char *key, uint64_t *out) {
  const char *end, *v = status_value(line, len, key, &end);
  if (!v)
    return false;
  if (end - v > 16) /* gopsutil keeps the low 64 bits */
    v = end - 16;
  uint64_t x = 0;
  for (; v < end; v++) {
    int d = *v >= '0' && *v <= '9'   ? *v - '0'
            : *v >= 'a' && *v <= 'f' ? *v - 'a' + 10
            : *v >= 'A' && *v <= 'F' ? *v - 'A' + 10
                                     : -1;
    if (d < 0)
      break;
    x = x << 4 | (uint64_t)d;
  }
  *out = x;
  return true;
}

static bool status_uids(const char *line, size_t len, ps_proc *p) {
  const char *end, *v = status_value(line, len, "Uid", &end);
  uint64_t ruid, euid;
  if (!v)
    return false;
  if (host_parse_u64(&v, end, &ruid) && host_parse_u64(&v, end, &euid)) {
    p->ruid = (uint32_t)ruid;
    p->euid = (uint32_t)euid;
  }
  return true;
}

static bool status_name(const char *line, size_t len, ps_proc *p) {
  const char *end, *v = status_value(line, len, "Name", &end);
  if (!v)
    return false;
  size_t n = (size_t)(end - v);
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  if (n >= sizeof p->name)
    n = sizeof p->name - 1;
  memcpy(p->name, v, n);
  p->name[n] = '\0';
  return true;
}

static void parse_status_line(const char *l, size_t n, ps_proc *p) {
  const char *end, *v;
  if (status_name(l, n, p) || status_uids(l, n, p))
    return;
  if ((v = status_value(l, n, "State", &end))) {
    p->status_state = v < end ? *v : '\0';
    return;
  }
  (void)(status_u64(l, n, "Threads", &p->threads, 1) ||
         status_u64(l, n, "voluntary_ctxt_switches", &p->vol_ctx, 1) ||
         status_u64(l, n, "nonvoluntary_ctxt_switches", &p->invol_ctx, 1) ||
         status_u64(l, n, "VmRSS", &p->vm_rss, 1024) ||
         status_u64(l, n, "VmSize", &p->vm_size, 1024) ||
         status_u64(l, n, "VmData", &p->vm_data, 1024) ||
         status_u64(l, n, "VmStk", &p->vm_stk, 1024) ||
         status_u64(l, n, "VmLck", &p->vm_lck, 1024) || status_hex(l, n, "ShdPnd", &p->shd_pnd));
}

static void read_status(ps_reader *r, ps_proc *p) {
  if (read_pid_file(r, p->pid, "status", &r->file, SMALL_MAX))
    return;
  host_lines it;
  host_lines_init(&it, &r->file);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len))
    parse_status_line(line, len, p);
  p->has |= HAS_STATUS;
}

int ps_read_uids(ps_reader *r, int pid, uint32_t *ruid, uint32_t *euid) {
  int rc = read_pid_file(r, pid, "status", &r->file, SMALL_MAX);
  if (rc)
    return rc;
  ps_proc p = {0};
  host_lines it;
  host_lines_init(&it, &r->file);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len))
    if (status_uids(line, len, &p)) {
      *ruid = p.ruid;
      *euid = p.euid;
      return 0;
    }
  return -EINVAL;
}

/* ---- io, statm, fd ------------------------------------------------------- */

static void read_io(ps_reader *r, ps_proc *p) {
  if (read_pid_file(r, p->pid, "io", &r->file, SMALL_MAX))
    return;
  const host_buf *b = &r->file;
  if (host_key_u64(b, "rchar", &p->rchar) && host_key_u64(b, "wchar", &p->wchar) &&
      host_key_u64(b, "syscr", &p->syscr) && host_key_u64(b, "syscw", &p->syscw) &&
      host_key_u64(b, "read_bytes", &p->read_bytes) &&
      host_key_u64(b, "write_bytes", &p->write_bytes))
    p->has |= HAS_IO;
}

static void read_statm(ps_reader *r, ps_proc *p) {
  if (read_pid_file(r, p->pid, "statm", &r->file, SMALL_MAX))
    return;
  const char *s = r->file.data, *end = s + r->file.len;
  uint64_t size, rss;
  if (host_parse_u64(&s, end, &size) && host_parse_u64(&s, end, &rss)) {
    p->statm_size = size * (uint64_t)r->page_size;
    p->statm_rss = rss * (uint64_t)r->page_size;
    p->has |= HAS_STATM;
  }
}

static void read_fds(ps_reader *r, ps_proc *p) {
  char path[PATH_MAX];
  pid_path(r, path, sizeof path, p->pid, "fd");
  long n = host_dir_count(&r->dir, path);
  if (n >= 0) {
    p->nfds = n;
    p->has |= HAS_FDS;
  } else if (n != -ENOENT && n != -ESRCH) {
    ps_reader_fail(r, path, (int)-n);
  }
}

/* ---- smaps --------------------------------------------------------------- */

static const char *const smaps_keys[SM_COUNT] = {
    "Size",          "Pss",        "Shared_Clean", "Shared_Dirty", "Private_Clean",
    "Private_Dirty", "Referenced", "Anonymous",    "Swap",
};

/* Sums the kB lines of smaps_rollup (one block) or of smaps (one block per
 * mapping), as gopsutil's MemoryMaps(grouped) does. */
static void sum_smaps(const host_buf *b, ps_proc *p) {
  host_lines it;
  host_lines_init(&it, b);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len)) {
    for (int k = 0; k < SM_COUNT; k++) {
      const char *end, *v = status_value(line, len, smaps_keys[k], &end);
      uint64_t x;
      if (v && host_parse_u64(&v, end, &x)) {
        p->smaps[k] += x;
        if (k == SM_SIZE)
          p->has |= HAS_SMAPS_SIZE;
        break;
      }
    }
  }
}

static void read_smaps(ps_reader *r, ps_proc *p) {
  /* smaps_rollup (Linux 4.15) is pre-summed; older kernels have smaps. */
  int rc = read_pid_file(r, p->pid, "smaps_rollup", &r->file, 0);
  if (rc == -ENOENT)
    rc = read_pid_file(r, p->pid, "smaps", &r->file, 0);
  if (rc)
    return;
  sum_smaps(&r->file, p);
  p->has |= HAS_SMAPS;
}

/* ---- limits -------------------------------------------------------------- */

static const char *const limit_names[RL_COUNT] = {
    "Max cpu time",        "Max data size",     "Max stack size",        "Max resident set",
    "Max open files",      "Max locked memory", "Max address space",     "Max file locks",
    "Max pending signals", "Max nice priority", "Max realtime priority",
};

static bool limit_value(const char **p, const char *end, uint64_t *out) {
  const char *s = *p;
  while (s < end && *s == ' ')
    s++;
  if ((size_t)(end - s) >= 9 && memcmp(s, "unlimited", 9) == 0) {
    *out = UINT64_MAX; /* gopsutil's limitToUint */
    *p = s + 9;
    return true;
  }
  return host_parse_u64(p, end, out);
}

static void parse_limit_line(const char *line, size_t len, ps_proc *p) {
  for (int i = 0; i < RL_COUNT; i++) {
    size_t k = strlen(limit_names[i]);
    /* the name column is padded with spaces: "Max cpu time   ..." */
    if (len <= k || memcmp(line, limit_names[i], k) != 0 || line[k] != ' ')
      continue;
    const char *s = line + k, *end = line + len;
    if (limit_value(&s, end, &p->rl_soft[i]) && limit_value(&s, end, &p->rl_hard[i]))
      p->rl_seen[i] = true;
    return;
  }
}

static void read_limits(ps_reader *r, ps_proc *p) {
  if (read_pid_file(r, p->pid, "limits", &r->file, SMALL_MAX))
    return;
  host_lines it;
  host_lines_init(&it, &r->file);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len))
    parse_limit_line(line, len, p);
  p->has |= HAS_LIMITS;
}

void ps_read_details(ps_reader *r, ps_proc *p, unsigned what) {
  read_status(r, p);
  read_io(r, p);
  read_fds(r, p);
  if (what & (PS_MEMORY | PS_MMAP))
    read_statm(r, p);
  if (what & PS_MMAP)
    read_smaps(r, p);
  if (what & PS_LIMITS)
    read_limits(r, p);
}

/* ---- cmdline and name ---------------------------------------------------- */

bool ps_read_cmdline(ps_reader *r, int pid, bool keep_empty, const char **out, size_t *len) {
  if (read_pid_file(r, pid, "cmdline", &r->cmdline, 0))
    return false;
  char *s = r->cmdline.data;
  size_t n = r->cmdline.len;
  while (n && s[n - 1] == '\0') /* gopsutil trims the trailing terminators */
    n--;
  size_t w = 0;
  bool first = true;
  for (size_t i = 0; i < n;) {
    size_t alen = strnlen(s + i, n - i);
    /* gopsutil's FieldsFunc drops empty arguments; pgrep -f keeps them */
    if (alen > 0 || keep_empty) {
      if (!first)
        s[w++] = ' ';
      memmove(s + w, s + i, alen);
      w += alen;
      first = false;
    }
    i += alen + 1;
  }
  s[w] = '\0';
  *out = s;
  *len = w;
  return true;
}

/* basename(argv[0]) from the raw cmdline file into out. */
static bool argv0_base(ps_reader *r, int pid, char *out, size_t len) {
  if (read_pid_file(r, pid, "cmdline", &r->file, 0) || r->file.len == 0)
    return false;
  const char *a = r->file.data;
  size_t n = strnlen(a, r->file.len);
  while (n > 1 && a[n - 1] == '/')
    n--;
  const char *b = a;
  for (size_t i = 0; i + 1 < n; i++)
    if (a[i] == '/')
      b = a + i + 1;
  size_t bn = (size_t)(a + n - b);
  if (bn >= len)
    bn = len - 1;
  memcpy(out, b, bn);
  out[bn] = '\0';
  return true;
}

void ps_process_name(ps_reader *r, ps_proc *p, char *out, size_t len) {
  size_t n = strlen(p->comm);
  if (n > 0 && n < 15) {
    snprintf(out, len, "%s", p->comm);
    return;
  }
  const char *name = p->has & HAS_STATUS ? p->name : p->comm;
  snprintf(out, len, "%s", name);
  char base[256];
  /* comm is cut at 15 bytes: gopsutil takes argv[0]'s base name instead
   * when it starts with the cut name */
  if (strlen(name) >= 15 && argv0_base(r, p->pid, base, sizeof base) &&
      strncmp(base, name, strlen(name)) == 0)
    snprintf(out, len, "%s", base);
}

/* ---- host facts ---------------------------------------------------------- */

uint64_t ps_mem_total(ps_reader *r) {
  char path[PATH_MAX];
  uint64_t kb;
  snprintf(path, sizeof path, "%s/meminfo", r->roots.proc);
  if (host_read(&r->file, path, SMALL_MAX) || !host_key_u64(&r->file, "MemTotal", &kb))
    return 0;
  return kb * 1024;
}

uint64_t ps_boot_time(ps_reader *r) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/stat", r->roots.proc);
  if (host_read(&r->file, path, 0))
    return 0;
  host_lines it;
  host_lines_init(&it, &r->file);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len))
    if (len > 6 && memcmp(line, "btime ", 6) == 0) {
      const char *v = line + 6;
      uint64_t t;
      return host_parse_u64(&v, line + len, &t) ? t : 0;
    }
  return 0;
}
