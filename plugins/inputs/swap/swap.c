/* inputs.swap: swap space and swap traffic, with the metrics, fields and
 * types of Telegraf's inputs.swap (plugins/inputs/swap/swap.go over
 * gopsutil's mem.SwapMemory, mem/mem_linux.go):
 *   - a GAUGE metric "swap": total, used, free (bytes) and used_percent,
 *     from SwapTotal and SwapFree of <HOST_PROC>/meminfo;
 *   - a COUNTER metric "swap": in and out, the bytes swapped in and out
 *     since boot, from pswpin and pswpout (pages) of <HOST_PROC>/vmstat.
 *
 * gopsutil takes total and free from sysinfo(2), which ignores HOST_PROC;
 * meminfo holds the same numbers (both count swap pages) and follows it. It
 * multiplies the page counts by 4096 whatever the page size; we use the
 * machine's page size, which is the same on x86_64.
 *
 * Both files are read into the instance's one buffer, in turn: a gather
 * allocates nothing but its two metrics.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#include "../../common/host/host.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef struct {
  tower_ctx *ctx;
  char meminfo[PATH_MAX], vmstat[PATH_MAX];
  uint64_t page_size;
  host_buf buf;
} swap_state;

/* What one gather read; have_* say which numbers the files had. */
typedef struct {
  uint64_t total, free, in_pages, out_pages;
  bool have_space, have_in, have_out;
} swap_reading;

/* ---- reading ------------------------------------------------------------- */

/* Reads `path` into the buffer; reports a failure once. */
static int read_file(swap_state *s, tower_acc *acc, const char *path) {
  int rc = host_read(&s->buf, path, 0);
  if (rc)
    tower_acc_error(acc,
                    "cannot read %s: %s (set HOST_PROC when the host's /proc is mounted "
                    "elsewhere)",
                    path, strerror(-rc));
  return rc;
}

static void read_space(swap_state *s, tower_acc *acc, swap_reading *r) {
  if (read_file(s, acc, s->meminfo))
    return;
  uint64_t total_kb, free_kb;
  r->have_space =
      host_key_u64(&s->buf, "SwapTotal", &total_kb) && host_key_u64(&s->buf, "SwapFree", &free_kb);
  if (!r->have_space) {
    tower_acc_error(acc, "%s has no SwapTotal and SwapFree lines (is HOST_PROC a Linux /proc?)",
                    s->meminfo);
    return;
  }
  r->total = total_kb * 1024;
  r->free = free_kb * 1024;
}

/* The value of the "<key> <value>" line of /proc/vmstat. */
static bool vmstat_value(const host_buf *b, const char *key, uint64_t *out) {
  size_t klen = strlen(key);
  host_lines it;
  host_lines_init(&it, b);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len)) {
    if (len <= klen || line[klen] != ' ' || memcmp(line, key, klen) != 0)
      continue;
    const char *p = line + klen;
    return host_parse_u64(&p, line + len, out);
  }
  return false;
}

static void read_traffic(swap_state *s, tower_acc *acc, swap_reading *r) {
  if (read_file(s, acc, s->vmstat))
    return;
  r->have_in = vmstat_value(&s->buf, "pswpin", &r->in_pages);
  r->have_out = vmstat_value(&s->buf, "pswpout", &r->out_pages);
  if (!r->have_in && !r->have_out)
    tower_acc_error(acc, "%s has no pswpin and pswpout lines (is HOST_PROC a Linux /proc?)",
                    s->vmstat);
}

/* ---- metrics ------------------------------------------------------------- */

static int emit_space(tower_acc *acc, const swap_reading *r) {
  tower_metric *m = tower_metric_new("swap", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  /* free above total cannot be; should a broken file say so, used is 0
   * rather than gopsutil's wrapped 2^64 - n. */
  uint64_t used = r->total > r->free ? r->total - r->free : 0;
  double pct = r->total ? 100.0 * (double)used / (double)r->total : 0.0;
  int rc = tower_metric_set_type(m, TOWER_GAUGE);
  rc = rc ? rc : tower_metric_add_uint(m, "total", r->total);
  rc = rc ? rc : tower_metric_add_uint(m, "used", used);
  rc = rc ? rc : tower_metric_add_uint(m, "free", r->free);
  rc = rc ? rc : tower_metric_add_float(m, "used_percent", pct);
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(acc, m);
}

/* Counters are reported as the kernel has them: one that went back (a
 * reboot behind a fixed HOST_PROC) goes back here too. Bytes wrap modulo
 * 2^64 as in Telegraf, after 2^52 pages. */
static int emit_traffic(const swap_state *s, tower_acc *acc, const swap_reading *r) {
  tower_metric *m = tower_metric_new("swap", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_set_type(m, TOWER_COUNTER);
  if (rc == 0 && r->have_in)
    rc = tower_metric_add_uint(m, "in", r->in_pages * s->page_size);
  if (rc == 0 && r->have_out)
    rc = tower_metric_add_uint(m, "out", r->out_pages * s->page_size);
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(acc, m);
}

static int swap_gather(void *state, tower_acc *acc) {
  swap_state *s = state;
  swap_reading r = {0};
  read_space(s, acc, &r);
  read_traffic(s, acc, &r);
  int rc = 0;
  if (r.have_space)
    rc = emit_space(acc, &r);
  if (rc == 0 && (r.have_in || r.have_out))
    rc = emit_traffic(s, acc, &r);
  return rc == -ENOMEM ? rc : 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void swap_destroy(void *state) {
  swap_state *s = state;
  if (!s)
    return;
  host_buf_free(&s->buf);
  free(s);
}

static int swap_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  swap_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  long page = sysconf(_SC_PAGESIZE);
  s->page_size = page > 0 ? (uint64_t)page : 4096;
  host_roots roots;
  int rc = host_roots_load(&roots, ctx, cfg);
  if (rc == 0 && (!host_path(s->meminfo, sizeof s->meminfo, roots.proc, "meminfo") ||
                  !host_path(s->vmstat, sizeof s->vmstat, roots.proc, "vmstat")))
    rc = tower_config_error(cfg, NULL, "HOST_PROC is too long (%zu bytes)", strlen(roots.proc));
  if (rc) {
    swap_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "swap",
    .description = "swap space and swap traffic from /proc, as Telegraf's inputs.swap",
    .version = PLUGIN_VERSION,
    .init = swap_init,
    .destroy = swap_destroy,
    .gather = swap_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
