/* inputs.kernel: kernel activity counters, with the metric, fields and types
 * of Telegraf's inputs.kernel (plugins/inputs/kernel/kernel.go): one COUNTER
 * metric "kernel" with integer fields
 *   boot_time         btime of <HOST_PROC>/stat (seconds since the epoch)
 *   context_switches  ctxt
 *   interrupts        the first number of intr (the total)
 *   processes_forked  processes
 *   disk_pages_in/out the "page" line, which only 2.4 kernels print
 *   entropy_avail     <HOST_PROC>/sys/kernel/random/entropy_avail
 * and with collect = ["ksm"] the ksm_* fields from <HOST_SYS>/kernel/mm/ksm;
 * with collect = ["psi"] the "pressure" metrics follow (kernel_psi.c).
 *
 * Telegraf reads /proc/stat, entropy_avail and the KSM directory at fixed
 * paths; we follow HOST_PROC and HOST_SYS. The counters are reported as the
 * kernel has them, also when one goes back (a reboot seen through a fixed
 * HOST_PROC); /proc/stat's intr line, thousands of columns long on big
 * machines, is read whole into the reused buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernel.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "collect",
     .type = TOWER_OPT_STRINGS,
     .help = "more to gather: ksm (kernel same-page merging), psi (pressure stall information)"},
    TOWER_OPTION_END,
};

/* The KSM files Telegraf reads, each reported as ksm_<name>. */
static const char *const ksm_files[] = {
    "full_scans",       "max_page_sharing",   "merge_across_nodes",
    "pages_shared",     "pages_sharing",      "pages_to_scan",
    "pages_unshared",   "pages_volatile",     "run",
    "sleep_millisecs",  "stable_node_chains", "stable_node_chains_prune_millisecs",
    "stable_node_dups", "use_zero_pages",     "general_profit", /* Linux 6.7+; may be negative */
};

/* ---- /proc/stat ---------------------------------------------------------- */

enum { K_BOOT, K_CTXT, K_INTR, K_FORKS, K_PAGE_IN, K_PAGE_OUT, K_NSTAT };

static const char *const stat_fields[K_NSTAT] = {"boot_time",     "context_switches",
                                                 "interrupts",    "processes_forked",
                                                 "disk_pages_in", "disk_pages_out"};

typedef struct {
  uint64_t v[K_NSTAT];
  bool have[K_NSTAT];
  const char *bad; /* the first line that did not parse (in the buffer) */
  size_t bad_len;
} stat_values;

/* The slot of a /proc/stat line's first word, or -1. */
static int stat_slot(const char *word, size_t len) {
  static const char *const words[] = {"btime", "ctxt", "intr", "processes", "page"};
  for (int i = 0; i < 5; i++)
    if (strlen(words[i]) == len && memcmp(words[i], word, len) == 0)
      return i; /* K_BOOT .. K_PAGE_IN, in that order */
  return -1;
}

static void parse_stat_line(stat_values *sv, const char *line, size_t len) {
  const char *sp = memchr(line, ' ', len);
  int k = sp ? stat_slot(line, (size_t)(sp - line)) : -1;
  if (k < 0)
    return;
  const char *p = sp, *end = line + len;
  bool ok = host_parse_u64(&p, end, &sv->v[k]);
  if (ok && k == K_PAGE_IN)
    ok = host_parse_u64(&p, end, &sv->v[K_PAGE_OUT]);
  if (!ok) {
    if (!sv->bad)
      sv->bad = line, sv->bad_len = len;
    return;
  }
  sv->have[k] = true;
  if (k == K_PAGE_IN)
    sv->have[K_PAGE_OUT] = true;
}

static void parse_stat(const host_buf *b, stat_values *sv) {
  host_lines it;
  host_lines_init(&it, b);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len))
    parse_stat_line(sv, line, len);
}

/* ---- fields -------------------------------------------------------------- */

/* Telegraf parses these as int64: a value beyond it cannot be one. */
static int add_int(tower_metric *m, tower_acc *acc, const char *key, uint64_t v, const char *from) {
  if (v > INT64_MAX) {
    tower_acc_error(acc, "%s: %s = %llu does not fit a signed 64-bit integer; left out", from, key,
                    (unsigned long long)v);
    return 0;
  }
  return tower_metric_add_int(m, key, (int64_t)v);
}

static int add_stat(kernel_state *s, tower_acc *acc, tower_metric *m) {
  int rc = host_read(&s->buf, s->stat, 0);
  if (rc) {
    tower_acc_error(acc,
                    "cannot read %s: %s (set HOST_PROC when the host's /proc is mounted "
                    "elsewhere)",
                    s->stat, strerror(-rc));
    return 0;
  }
  stat_values sv = {0};
  parse_stat(&s->buf, &sv);
  if (sv.bad)
    tower_acc_error(acc, "%s: cannot parse the line \"%.*s\"; its field is left out", s->stat,
                    (int)(sv.bad_len > 80 ? 80 : sv.bad_len), sv.bad);
  else if (!sv.have[K_CTXT] && !sv.have[K_BOOT])
    tower_acc_error(acc, "%s has no ctxt nor btime line (is HOST_PROC a Linux /proc?)", s->stat);
  for (int k = 0; rc == 0 && k < K_NSTAT; k++)
    if (sv.have[k])
      rc = add_int(m, acc, stat_fields[k], sv.v[k], s->stat);
  return rc;
}

/* A signed decimal: general_profit goes below 0 when KSM costs more than it
 * saves. */
static bool parse_i64(const host_buf *b, int64_t *out) {
  const char *p = b->data, *end = b->data + b->len;
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  bool neg = p < end && *p == '-';
  p += neg;
  uint64_t v;
  if (!host_parse_u64(&p, end, &v) || v > (uint64_t)INT64_MAX + neg)
    return false;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return true;
}

/* Reads one number file into *out. 0, -errno of the read, or -EINVAL. */
static int read_number(kernel_state *s, const char *path, int64_t *out) {
  int rc = host_read(&s->buf, path, 4096);
  return rc ? rc : parse_i64(&s->buf, out) ? 0 : -EINVAL;
}

static int add_entropy(kernel_state *s, tower_acc *acc, tower_metric *m) {
  int64_t v;
  int rc = read_number(s, s->entropy, &v);
  if (rc == 0)
    return tower_metric_add_int(m, "entropy_avail", v);
  tower_acc_error(acc, "cannot read %s: %s; entropy_avail is left out", s->entropy,
                  rc == -EINVAL ? "not a number" : strerror(-rc));
  return 0;
}

/* ---- KSM ------------------------------------------------------------------- */

/* A file missing (older kernels have fewer) leaves its field out; other
 * failures are said once per gather, with the first of them. */
static int add_ksm(kernel_state *s, tower_acc *acc, tower_metric *m) {
  size_t n = sizeof ksm_files / sizeof ksm_files[0], failed = 0, missing = 0;
  char path[PATH_MAX], first[PATH_MAX];
  int first_rc = 0, rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    int64_t v;
    int r = host_path(path, sizeof path, s->ksm_dir, ksm_files[i]) ? read_number(s, path, &v)
                                                                   : -ENAMETOOLONG;
    if (r == 0) {
      char key[64];
      snprintf(key, sizeof key, "ksm_%s", ksm_files[i]);
      rc = tower_metric_add_int(m, key, v);
    } else if (r == -ENOENT) {
      missing++;
    } else if (failed++ == 0) {
      first_rc = r;
      memcpy(first, path, sizeof first);
    }
  }
  if (failed)
    tower_acc_error(acc, "cannot read %s: %s; %zu ksm_ field%s left out", first,
                    first_rc == -EINVAL ? "not a number" : strerror(-first_rc), failed,
                    failed == 1 ? " is" : "s are");
  else if (missing == n)
    tower_acc_error(acc, "%s has no KSM file: is KSM still enabled (CONFIG_KSM)? (HOST_SYS)",
                    s->ksm_dir);
  return rc;
}

/* ---- gather -------------------------------------------------------------- */

static int kernel_gather(void *state, tower_acc *acc) {
  kernel_state *s = state;
  tower_metric *m = tower_metric_new("kernel", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_set_type(m, TOWER_COUNTER);
  rc = rc ? rc : add_stat(s, acc, m);
  rc = rc ? rc : add_entropy(s, acc, m);
  if (rc == 0 && s->ksm)
    rc = add_ksm(s, acc, m);
  if (rc == 0 && tower_metric_field_count(m) > 0)
    rc = tower_acc_add(acc, m);
  else
    tower_metric_free(m);
  if (rc == 0 && s->psi)
    rc = kernel_gather_psi(s, acc);
  return rc;
}

/* ---- lifecycle ----------------------------------------------------------- */

/* Telegraf refuses to start when the KSM directory is missing; so do we, and
 * likewise for PSI, which Linux has since 4.20 (CONFIG_PSI, not psi=0). */
static int check_dir(const tower_config *cfg, const char *dir, const char *what) {
  struct stat st;
  if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
    return 0;
  return tower_config_error(cfg, tower_config_setting(cfg, "collect"),
                            "collect: directory %s does not exist: %s", dir, what);
}

static int parse_collect(kernel_state *s, const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "collect");
  for (size_t i = 0; i < n; i++) {
    const char *c = tower_config_strings_at(cfg, "collect", i);
    if (strcmp(c, "ksm") == 0)
      s->ksm = true;
    else if (strcmp(c, "psi") == 0)
      s->psi = true;
    else
      return tower_config_error(cfg, tower_config_setting(cfg, "collect"),
                                "invalid collect \"%s\"; use ksm or psi", c);
  }
  int rc = 0;
  if (s->ksm)
    rc = check_dir(cfg, s->ksm_dir,
                   "KSM is not enabled in this kernel (or set HOST_SYS when the host's /sys is "
                   "mounted elsewhere)");
  if (rc == 0 && s->psi)
    rc = check_dir(cfg, s->pressure_dir,
                   "pressure stall information needs Linux 4.20+ with CONFIG_PSI and without "
                   "psi=0 (or set HOST_PROC when the host's /proc is mounted elsewhere)");
  return rc;
}

static int set_paths(kernel_state *s, const host_roots *r) {
  bool ok = host_path(s->stat, sizeof s->stat, r->proc, "stat") &&
            host_path(s->entropy, sizeof s->entropy, r->proc, "sys/kernel/random/entropy_avail") &&
            host_path(s->pressure_dir, sizeof s->pressure_dir, r->proc, "pressure") &&
            host_path(s->ksm_dir, sizeof s->ksm_dir, r->sys, "kernel/mm/ksm");
  return ok ? 0 : -ENAMETOOLONG;
}

static void kernel_destroy(void *state) {
  kernel_state *s = state;
  if (!s)
    return;
  host_buf_free(&s->buf);
  free(s);
}

static int kernel_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  kernel_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  host_roots roots;
  int rc = host_roots_load(&roots, ctx, cfg);
  if (rc == 0 && set_paths(s, &roots))
    rc = tower_config_error(cfg, NULL, "HOST_PROC or HOST_SYS is too long for a path");
  rc = rc ? rc : parse_collect(s, cfg);
  if (rc) {
    kernel_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "kernel",
    .description = "kernel counters from /proc/stat, entropy, KSM and PSI, as Telegraf's "
                   "inputs.kernel",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = kernel_init,
    .destroy = kernel_destroy,
    .gather = kernel_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
