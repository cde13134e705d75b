/* inputs.mem: memory usage from <HOST_PROC>/meminfo, with the fields, types
 * and arithmetic of Telegraf's inputs.mem on Linux (plugins/inputs/mem/mem.go
 * over gopsutil's mem.VirtualMemory, mem/mem_linux.go).
 *
 * Every gather reads the file into the instance's buffer and looks each line
 * up in a table of the keys Telegraf reports, so that nothing is allocated
 * but the metric itself. Values are in bytes (the file's kB times 1024),
 * except the huge page counts; every field is an unsigned integer but the
 * two percentages.
 *
 * Derived fields, as gopsutil computes them (v4.25.8 and later, Telegraf
 * 1.36.2 and later):
 *   cached    = Cached + SReclaimable
 *   available = MemAvailable, or on kernels before 3.14 an estimate
 *               (mem_avail.c)
 *   used      = total - available
 * A key missing from the file leaves its field out of the metric (Telegraf
 * reports 0), and counts as 0 in the arithmetic, as it does in gopsutil.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* How a /proc/meminfo line becomes a field. */
#define KB 0x1u    /* the value is in kB: reported times 1024 */
#define EXT 0x2u   /* only with collect_extended */
#define CALC 0x4u  /* not reported as read: an input of a derived field */
#define LIMIT 0x8u /* 32-bit kernels only (HighTotal ...): absent elsewhere */

typedef struct {
  const char *key;   /* as in /proc/meminfo, before the colon */
  const char *field; /* Telegraf's field name */
  unsigned flags;
} mem_key;

/* Indexed by enum mem_slot (mem.h): keep both in the same order. */
static const mem_key keys[MEM_NKEYS] = {
    [MEM_TOTAL] = {"MemTotal", "total", KB},
    [MEM_FREE] = {"MemFree", "free", KB},
    [MEM_AVAILABLE] = {"MemAvailable", NULL, KB | CALC},
    [MEM_BUFFERS] = {"Buffers", "buffered", KB},
    [MEM_CACHED] = {"Cached", NULL, KB | CALC},
    [MEM_SRECLAIMABLE] = {"SReclaimable", "sreclaimable", KB},
    [MEM_ACTIVE_FILE] = {"Active(file)", "active_file", KB | EXT},
    [MEM_INACTIVE_FILE] = {"Inactive(file)", "inactive_file", KB | EXT},
    [MEM_ACTIVE] = {"Active", "active", KB},
    [MEM_INACTIVE] = {"Inactive", "inactive", KB},
    [MEM_ACTIVE_ANON] = {"Active(anon)", "active_anon", KB | EXT},
    [MEM_INACTIVE_ANON] = {"Inactive(anon)", "inactive_anon", KB | EXT},
    [MEM_UNEVICTABLE] = {"Unevictable", "unevictable", KB | EXT},
    [MEM_PERCPU] = {"Percpu", "percpu", KB | EXT},
    [MEM_WRITEBACK] = {"Writeback", "write_back", KB},
    [MEM_WRITEBACK_TMP] = {"WritebackTmp", "write_back_tmp", KB},
    [MEM_DIRTY] = {"Dirty", "dirty", KB},
    [MEM_SHMEM] = {"Shmem", "shared", KB},
    [MEM_SLAB] = {"Slab", "slab", KB},
    [MEM_SUNRECLAIM] = {"SUnreclaim", "sunreclaim", KB},
    [MEM_PAGE_TABLES] = {"PageTables", "page_tables", KB},
    [MEM_SWAP_CACHED] = {"SwapCached", "swap_cached", KB},
    [MEM_COMMIT_LIMIT] = {"CommitLimit", "commit_limit", KB},
    [MEM_COMMITTED_AS] = {"Committed_AS", "committed_as", KB},
    [MEM_HIGH_TOTAL] = {"HighTotal", "high_total", KB | LIMIT},
    [MEM_HIGH_FREE] = {"HighFree", "high_free", KB | LIMIT},
    [MEM_LOW_TOTAL] = {"LowTotal", "low_total", KB | LIMIT},
    [MEM_LOW_FREE] = {"LowFree", "low_free", KB | LIMIT},
    [MEM_SWAP_TOTAL] = {"SwapTotal", "swap_total", KB},
    [MEM_SWAP_FREE] = {"SwapFree", "swap_free", KB},
    [MEM_MAPPED] = {"Mapped", "mapped", KB},
    [MEM_VMALLOC_TOTAL] = {"VmallocTotal", "vmalloc_total", KB},
    [MEM_VMALLOC_USED] = {"VmallocUsed", "vmalloc_used", KB},
    [MEM_VMALLOC_CHUNK] = {"VmallocChunk", "vmalloc_chunk", KB},
    [MEM_HUGE_TOTAL] = {"HugePages_Total", "huge_pages_total", 0},
    [MEM_HUGE_FREE] = {"HugePages_Free", "huge_pages_free", 0},
    [MEM_HUGE_SIZE] = {"Hugepagesize", "huge_page_size", KB},
};

static const tower_option options[] = {
    {.name = "collect_extended",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "also report active_file, inactive_file, active_anon, inactive_anon, unevictable "
             "and percpu"},
    TOWER_OPTION_END,
};

/* ---- parsing ------------------------------------------------------------- */

/* The slot of the key `name` (len bytes), or -1 for a key not reported. */
static int slot_of(const char *name, size_t len) {
  for (int i = 0; i < MEM_NKEYS; i++)
    if (strncmp(keys[i].key, name, len) == 0 && keys[i].key[len] == '\0')
      return i;
  return -1;
}

/* Reads one "Key:   value [kB]" line into its slot. A line of a known key
 * whose value does not parse is remembered in s->bad (the first one). */
static void parse_line(mem_state *s, mem_values *v, const char *line, size_t len) {
  const char *colon = memchr(line, ':', len);
  if (!colon)
    return;
  int k = slot_of(line, (size_t)(colon - line));
  if (k < 0)
    return;
  const char *p = colon + 1;
  uint64_t n;
  if (!host_parse_u64(&p, line + len, &n)) {
    if (!s->bad)
      s->bad = line, s->bad_len = len;
    return;
  }
  v->v[k] = keys[k].flags & KB ? n * 1024 : n;
  v->have[k] = true;
}

static void parse_meminfo(mem_state *s, mem_values *v) {
  memset(v, 0, sizeof *v);
  s->bad = NULL;
  host_lines it;
  host_lines_init(&it, &s->buf);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len))
    parse_line(s, v, line, len);
}

/* ---- the metric ---------------------------------------------------------- */

/* Adds the fields read as they are. */
static int add_read_fields(const mem_state *s, const mem_values *v, tower_metric *m) {
  int rc = 0;
  for (int i = 0; rc == 0 && i < MEM_NKEYS; i++) {
    const mem_key *k = &keys[i];
    if (!v->have[i] || (k->flags & CALC) || ((k->flags & EXT) && !s->extended))
      continue;
    rc = tower_metric_add_uint(m, k->field, v->v[i]);
  }
  return rc;
}

/* Adds cached, available, used and the percentages. */
static int add_derived_fields(mem_state *s, const mem_values *v, tower_metric *m) {
  int rc = 0;
  if (v->have[MEM_CACHED])
    rc = tower_metric_add_uint(m, "cached", v->v[MEM_CACHED] + v->v[MEM_SRECLAIMABLE]);
  if (rc || !v->have[MEM_TOTAL])
    return rc;
  uint64_t total = v->v[MEM_TOTAL], avail = mem_available(s, v);
  /* MemAvailable above MemTotal is not a state the kernel reports; should
   * a broken file say so, used is 0 rather than a wrapped 2^64 - n. */
  uint64_t used = total > avail ? total - avail : 0;
  rc = tower_metric_add_uint(m, "available", avail);
  if (rc == 0)
    rc = tower_metric_add_uint(m, "used", used);
  if (rc == 0 && total > 0) /* Telegraf divides anyway and sends NaN */
    rc = tower_metric_add_float(m, "used_percent", 100.0 * (double)used / (double)total);
  if (rc == 0 && total > 0)
    rc = tower_metric_add_float(m, "available_percent", 100.0 * (double)avail / (double)total);
  return rc;
}

static int emit(mem_state *s, const mem_values *v, tower_acc *acc) {
  tower_metric *m = tower_metric_new("mem", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_set_type(m, TOWER_GAUGE);
  if (rc == 0)
    rc = add_read_fields(s, v, m);
  if (rc == 0)
    rc = add_derived_fields(s, v, m);
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(acc, m);
}

/* Problems with a file that could be read: said once per gather, the
 * fields that could be read are still reported. */
static void report_content(const mem_state *s, const mem_values *v, tower_acc *acc) {
  if (!v->have[MEM_TOTAL])
    tower_acc_error(acc,
                    "%s has no MemTotal line: total, available, used and the percentages are "
                    "left out (is HOST_PROC a Linux /proc?)",
                    s->path);
  if (s->bad)
    tower_acc_error(acc, "%s: cannot parse the line \"%.*s\"; its field is left out", s->path,
                    (int)(s->bad_len > 80 ? 80 : s->bad_len), s->bad);
}

static int mem_gather(void *state, tower_acc *acc) {
  mem_state *s = state;
  int rc = host_read(&s->buf, s->path, 0);
  if (rc) {
    tower_acc_error(acc,
                    "cannot read %s: %s (set HOST_PROC when the host's /proc is mounted "
                    "elsewhere)",
                    s->path, strerror(-rc));
    return rc;
  }
  mem_values v;
  parse_meminfo(s, &v);
  report_content(s, &v, acc);
  rc = emit(s, &v, acc);
  return rc == -ENOMEM ? rc : 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void mem_destroy(void *state) {
  mem_state *s = state;
  if (!s)
    return;
  host_buf_free(&s->buf);
  host_buf_free(&s->zoneinfo);
  free(s);
}

static int mem_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  mem_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->extended = tower_config_bool(cfg, "collect_extended");
  s->page_size = sysconf(_SC_PAGESIZE);
  if (s->page_size <= 0)
    s->page_size = 4096;
  host_roots roots;
  int rc = host_roots_load(&roots, ctx, cfg);
  if (rc == 0 && (!host_path(s->path, sizeof s->path, roots.proc, "meminfo") ||
                  !host_path(s->zoneinfo_path, sizeof s->zoneinfo_path, roots.proc, "zoneinfo")))
    rc = tower_config_error(cfg, NULL, "HOST_PROC is too long (%zu bytes)", strlen(roots.proc));
  if (rc) {
    mem_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "mem",
    .description = "memory usage from /proc/meminfo, as Telegraf's inputs.mem",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = mem_init,
    .destroy = mem_destroy,
    .gather = mem_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
