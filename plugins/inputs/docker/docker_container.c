/* One container's answers turned into metrics, with Telegraf's names:
 * /containers/{id}/json gives docker_container_status and _health (and the
 * container_status tag), /containers/{id}/stats gives docker_container_mem,
 * _cpu, _net and _blkio. Both cgroup v1 payloads (memory_stats.stats with
 * cache and total_* keys, percpu_usage, blkio ops "Read"/"Total") and v2
 * ones (inactive_file, no percpu_usage, ops "read"/"write") are read.
 *
 * Every measurement is a clone of the container's template metric (the
 * common tags, built once from inspect), so a container costs one tag set
 * and one allocation per metric; fields are read from the parsed JSON
 * directly. A field the payload does not have is left out, never written
 * as 0 (podman sends no max_usage, cgroup v2 no per-cpu usage). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

/* ---- JSON helpers ---------------------------------------------------------- */

/* A non-negative number as uint64 (every number is a real when the body
 * had an integer beyond int64 and was parsed again for it). */
static bool u64_of(const json_t *v, uint64_t *out) {
  if (json_is_integer(v) && json_integer_value(v) >= 0) {
    *out = (uint64_t)json_integer_value(v);
    return true;
  }
  if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 18446744073709551616.0) {
    *out = (uint64_t)json_real_value(v);
    return true;
  }
  return false;
}

static bool get_u64(const json_t *o, const char *key, uint64_t *out) {
  return u64_of(json_object_get(o, key), out);
}

static const char *get_str(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

static int add_u64(tower_metric *m, const json_t *o, const char *key, const char *field) {
  uint64_t v;
  return get_u64(o, key, &v) ? tower_metric_add_uint(m, field, v) : 0;
}

static int add_int(tower_metric *m, const json_t *o, const char *key, const char *field) {
  const json_t *v = json_object_get(o, key);
  if (json_is_integer(v))
    return tower_metric_add_int(m, field, (int64_t)json_integer_value(v));
  if (json_is_real(v) && json_real_value(v) >= -9.2e18 && json_real_value(v) <= 9.2e18)
    return tower_metric_add_int(m, field, (int64_t)json_real_value(v));
  return 0;
}

/* A clone of the container's template named `name`. */
static tower_metric *from_template(const docker_ctr *c, const char *name) {
  tower_metric *m = tower_metric_clone(c->tmpl);
  if (m && tower_metric_set_name(m, name)) {
    tower_metric_free(m);
    return NULL;
  }
  return m;
}

/* Hands `m` to the sink, or frees it when building it failed (rc). */
static int emit(tower_metric *m, int rc, tower_sink_fn sink, void *sink_ctx) {
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return sink(sink_ctx, m);
}

/* ---- the template: the tags of every metric of the container ----------------- */

static int tag(tower_metric *m, const char *key, const char *value) {
  /* tower refuses empty tag values (no output can carry them); Telegraf's
   * line protocol drops them too. */
  return key && *key && value && *value ? tower_metric_add_tag(m, key, value) : 0;
}

static int image_tags(tower_metric *m, const char *image) {
  size_t name_len;
  const char *version = docker_image_split(image, &name_len);
  int rc = name_len ? tower_metric_add_tag_n(m, "container_image", 15, image, name_len) : 0;
  return rc ? rc : tag(m, "container_version", version);
}

static int label_tags(tower_metric *m, const docker_filters *f, const json_t *labels) {
  const char *key;
  const json_t *v;
  int rc = 0;
  json_object_foreach((json_t *)labels, key, v) {
    if (f->label_include && !tower_globs_match(f->label_include, key))
      continue;
    if (f->label_exclude && tower_globs_match(f->label_exclude, key))
      continue;
    if ((rc = tag(m, key, json_string_value(v))))
      break;
  }
  return rc;
}

/* tag_env: the container's environment variables named there become tags
 * (Telegraf: only those with a non-blank value). */
static int env_tags(tower_metric *m, const docker_filters *f, const json_t *env) {
  size_t i;
  const json_t *e;
  json_array_foreach(env, i, e) {
    const char *s = json_string_value(e), *eq = s ? strchr(s, '=') : NULL;
    if (!eq || eq == s || !eq[1 + strspn(eq + 1, " \t\r\n")])
      continue;
    for (size_t k = 0; k < f->ntag_env; k++) {
      const char *want = f->tag_env[k];
      if (strlen(want) == (size_t)(eq - s) && strncmp(want, s, (size_t)(eq - s)) == 0) {
        int rc = tower_metric_add_tag(m, want, eq + 1);
        if (rc)
          return rc;
      }
    }
  }
  return 0;
}

/* Tags in Telegraf's order of precedence: engine and container tags, then
 * labels (a label may replace one), then tag_env, then container_status. */
static int build_template(const docker_filters *f, const docker_engine *e, docker_ctr *c,
                          const json_t *inspect) {
  tower_metric *m = tower_metric_new("docker_container_status", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = tag(m, "engine_host", e->name);
  rc = rc ? rc : tag(m, "server_version", e->server_version);
  rc = rc ? rc : tag(m, "container_name", c->name);
  rc = rc ? rc : image_tags(m, c->image);
  if (rc == 0 && f->source_tag)
    rc = tower_metric_add_tag_n(m, "source", 6, c->id, strnlen(c->id, 12));
  rc = rc ? rc : label_tags(m, f, c->labels);
  if (rc == 0 && f->ntag_env)
    rc = env_tags(m, f, json_object_get(json_object_get(inspect, "Config"), "Env"));
  const json_t *state = json_object_get(inspect, "State");
  rc = rc ? rc : tag(m, "container_status", get_str(state, "Status"));
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  tower_metric_free(c->tmpl);
  c->tmpl = m;
  return 0;
}

/* ---- docker_container_status and _health ------------------------------------------ */

/* An RFC 3339 time of the State; false when absent, unparsable or Go's
 * zero time "0001-01-01T00:00:00Z" (not started, not finished yet). */
static bool state_time(const json_t *state, const char *key, int64_t *ns) {
  const char *s = get_str(state, key);
  return s && tower_parse_time(s, strlen(s), "rfc3339", ns) == 0;
}

/* started_at, finished_at and uptime_ns as Telegraf computes them: the
 * uptime runs to the finish, or to now while running (a finish before the
 * start is the previous run's). */
static int add_times(tower_metric *m, const json_t *state, int64_t now_ns) {
  int64_t started, finished;
  bool has_start = state_time(state, "StartedAt", &started);
  bool has_finish = state_time(state, "FinishedAt", &finished);
  int rc = has_finish ? tower_metric_add_int(m, "finished_at", finished) : 0;
  if (rc || !has_start)
    return rc;
  int64_t end = has_finish ? finished : now_ns;
  if (end < started)
    end = now_ns;
  rc = tower_metric_add_int(m, "started_at", started);
  return rc ? rc : tower_metric_add_int(m, "uptime_ns", end - started);
}

static int emit_status(docker_ctr *c, const json_t *inspect, int64_t now_ns, tower_sink_fn sink,
                       void *sink_ctx) {
  const json_t *state = json_object_get(inspect, "State");
  tower_metric *m = from_template(c, "docker_container_status");
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_add_string(m, "container_id", c->id);
  const json_t *oom = json_object_get(state, "OOMKilled");
  if (rc == 0 && json_is_boolean(oom))
    rc = tower_metric_add_bool(m, "oomkilled", json_is_true(oom));
  rc = rc ? rc : add_int(m, state, "Pid", "pid");
  rc = rc ? rc : add_int(m, state, "ExitCode", "exitcode");
  rc = rc ? rc : add_int(m, inspect, "RestartCount", "restart_count");
  rc = rc ? rc : add_times(m, state, now_ns);
  return emit(m, rc, sink, sink_ctx);
}

/* Only for containers with a health check: Docker sends no Health then;
 * podman sends one with an empty Status, which is not a health state. */
static int emit_health(docker_ctr *c, const json_t *state, tower_sink_fn sink, void *sink_ctx) {
  const json_t *h = json_object_get(state, "Health");
  if (!h)
    h = json_object_get(state, "Healthcheck"); /* podman before 4.x */
  const char *status = get_str(h, "Status");
  if (!status || !*status)
    return 0;
  tower_metric *m = from_template(c, "docker_container_health");
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_add_string(m, "health_status", status);
  rc = rc ? rc : add_int(m, h, "FailingStreak", "failing_streak");
  return emit(m, rc, sink, sink_ctx);
}

int docker_emit_inspect(const docker_filters *f, const docker_engine *e, docker_ctr *c,
                        const json_t *inspect, int64_t now_ns, tower_sink_fn sink, void *sink_ctx) {
  if (!json_is_object(inspect))
    return -EINVAL;
  int rc = build_template(f, e, c, inspect);
  rc = rc ? rc : emit_status(c, inspect, now_ns, sink, sink_ctx);
  return rc ? rc : emit_health(c, json_object_get(inspect, "State"), sink, sink_ctx);
}

/* ---- docker_container_mem ------------------------------------------------------------ */

/* The memory.stat keys Telegraf copies (cgroup v1 names; v2 shares some). */
static const char *const mem_keys[] = {
    "active_anon",
    "active_file",
    "cache",
    "hierarchical_memory_limit",
    "inactive_anon",
    "inactive_file",
    "mapped_file",
    "pgfault",
    "pgmajfault",
    "pgpgin",
    "pgpgout",
    "rss",
    "rss_huge",
    "total_active_anon",
    "total_active_file",
    "total_cache",
    "total_inactive_anon",
    "total_inactive_file",
    "total_mapped_file",
    "total_pgfault",
    "total_pgmajfault",
    "total_pgpgin",
    "total_pgpgout",
    "total_rss",
    "total_rss_huge",
    "total_unevictable",
    "total_writeback",
    "unevictable",
    "writeback",
};

/* Telegraf's (and docker stats') usage without the page cache: usage minus
 * "cache" (Docker <= 19.03 on cgroup v1), else minus total_inactive_file
 * (cgroup v1), else minus inactive_file (cgroup v2); never below 0. */
static uint64_t usage_no_cache(uint64_t usage, const json_t *stats) {
  uint64_t v;
  if (get_u64(stats, "cache", &v) && v < usage)
    return usage - v;
  if (get_u64(stats, "total_inactive_file", &v) && v < usage)
    return usage - v;
  if (get_u64(stats, "inactive_file", &v) && v < usage)
    return usage - v;
  return usage;
}

static int mem_fields(tower_metric *m, const json_t *mem) {
  const json_t *stats = json_object_get(mem, "stats");
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < sizeof mem_keys / sizeof mem_keys[0]; i++)
    rc = add_u64(m, stats, mem_keys[i], mem_keys[i]);
  uint64_t failcnt, usage, limit;
  if (rc == 0 && get_u64(mem, "failcnt", &failcnt) && failcnt)
    rc = tower_metric_add_uint(m, "fail_count", failcnt);
  rc = rc ? rc : add_u64(m, mem, "limit", "limit");
  rc = rc ? rc : add_u64(m, mem, "max_usage", "max_usage"); /* cgroup v1 only */
  if (rc || !get_u64(mem, "usage", &usage))
    return rc;
  uint64_t used = usage_no_cache(usage, stats);
  rc = tower_metric_add_uint(m, "usage", used);
  if (rc == 0 && get_u64(mem, "limit", &limit))
    rc = tower_metric_add_float(m, "usage_percent",
                                limit ? (double)used / (double)limit * 100.0 : 0.0);
  return rc;
}

static int emit_mem(docker_ctr *c, const json_t *stats, tower_sink_fn sink, void *sink_ctx) {
  const json_t *mem = json_object_get(stats, "memory_stats");
  if (!json_is_object(mem) || json_object_size(mem) == 0)
    return 0; /* a stopped container's stats: nothing to report */
  tower_metric *m = from_template(c, "docker_container_mem");
  if (!m)
    return -ENOMEM;
  int rc = mem_fields(m, mem);
  if (rc == 0 && tower_metric_field_count(m) == 0) {
    tower_metric_free(m);
    return 0;
  }
  rc = rc ? rc : tower_metric_add_string(m, "container_id", c->id);
  return emit(m, rc, sink, sink_ctx);
}

/* ---- docker_container_cpu -------------------------------------------------------------- */

/* The daemon's "read" time of a stats answer; 0 when absent or Go's zero
 * time. */
static int64_t read_time(const json_t *stats) {
  const char *s = get_str(stats, "read");
  int64_t ns;
  return s && tower_parse_time(s, strlen(s), "rfc3339", &ns) == 0 ? ns : 0;
}

/* The previous sample for usage_percent: the daemon's precpu_stats when
 * it primed one (Docker without one-shot; podman's is always zero, so its
 * is ignored as Telegraf does), else this plugin's from the last gather. */
static bool previous_cpu(const docker_engine *e, const docker_ctr *c, const json_t *stats,
                         const docker_cpu_cache *cache, int64_t ttl_ns, int64_t mono_ns,
                         docker_cpu_prev *prev) {
  const json_t *pre = json_object_get(stats, "precpu_stats");
  memset(prev, 0, sizeof *prev);
  if (!e->podman && get_u64(pre, "system_cpu_usage", &prev->system) && prev->system > 0) {
    if (!get_u64(json_object_get(pre, "cpu_usage"), "total_usage", &prev->total))
      prev->total = 0;
    return true;
  }
  const docker_cpu_prev *p = docker_cache_get(cache, c->id, mono_ns, ttl_ns);
  if (p)
    *prev = *p;
  return p != NULL;
}

/* CPUs the usage is spread over: online_cpus, else the per-cpu count. */
static double online_cpus(const json_t *cpu) {
  uint64_t n;
  if (get_u64(cpu, "online_cpus", &n) && n > 0)
    return (double)n;
  return (double)json_array_size(
      json_object_get(json_object_get(cpu, "cpu_usage"), "percpu_usage"));
}

/* docker stats' and Telegraf's formula: the container's share of the
 * host's CPU time between two samples, times the CPUs (100 = one CPU). */
static double docker_percent(double cpu_delta, uint64_t system, const docker_cpu_prev *prev,
                             const json_t *cpu) {
  double sys_delta = (double)system - (double)prev->system;
  if (sys_delta > 0.0 && cpu_delta > 0.0)
    return cpu_delta / sys_delta * online_cpus(cpu) * 100.0;
  return 0.0;
}

/* podman's system_cpu_usage is the CPU time used by all cgroups (the root
 * cgroup's cpuacct.usage), not the time elapsed on all CPUs as Docker's:
 * the formula above then reads 140 % for a container held to half a CPU
 * on a busy host. The same meaning (100 = one CPU) comes from the elapsed
 * time between the samples: the daemon's read times, else tower's. */
static double podman_percent(double cpu_delta, int64_t read_ns, int64_t mono_ns,
                             const docker_cpu_prev *prev) {
  double wall = read_ns && prev->read_ns ? (double)(read_ns - prev->read_ns)
                                         : (double)(mono_ns - prev->seen_ns);
  return wall > 0.0 && cpu_delta > 0.0 ? cpu_delta / wall * 100.0 : 0.0;
}

static int add_usage_percent(tower_metric *m, const docker_engine *e, const docker_ctr *c,
                             const json_t *stats, docker_cpu_cache *cache, int64_t ttl_ns,
                             int64_t mono_ns) {
  const json_t *cpu = json_object_get(stats, "cpu_stats");
  uint64_t total, system;
  docker_cpu_prev prev;
  if (!get_u64(json_object_get(cpu, "cpu_usage"), "total_usage", &total) ||
      !get_u64(cpu, "system_cpu_usage", &system))
    return 0; /* no sample (a stopped container, Windows) */
  int64_t read_ns = read_time(stats);
  int rc = 0;
  if (previous_cpu(e, c, stats, cache, ttl_ns, mono_ns, &prev)) {
    double cpu_delta = (double)total - (double)prev.total;
    rc = tower_metric_add_float(m, "usage_percent",
                                e->podman ? podman_percent(cpu_delta, read_ns, mono_ns, &prev)
                                          : docker_percent(cpu_delta, system, &prev, cpu));
  }
  /* A cache that cannot grow only costs the next usage_percent. */
  docker_cache_put(cache, c->id, total, system, read_ns, mono_ns);
  return rc;
}

static int cpu_total_fields(tower_metric *m, const json_t *cpu) {
  const json_t *u = json_object_get(cpu, "cpu_usage");
  const json_t *t = json_object_get(cpu, "throttling_data");
  int rc = add_u64(m, u, "total_usage", "usage_total");
  rc = rc ? rc : add_u64(m, u, "usage_in_usermode", "usage_in_usermode");
  rc = rc ? rc : add_u64(m, u, "usage_in_kernelmode", "usage_in_kernelmode");
  rc = rc ? rc : add_u64(m, cpu, "system_cpu_usage", "usage_system");
  rc = rc ? rc : add_u64(m, t, "periods", "throttling_periods");
  rc = rc ? rc : add_u64(m, t, "throttled_periods", "throttling_throttled_periods");
  return rc ? rc : add_u64(m, t, "throttled_time", "throttling_throttled_time");
}

static int emit_cpu_total(const docker_engine *e, docker_ctr *c, const json_t *stats,
                          docker_cpu_cache *cache, int64_t ttl_ns, int64_t mono_ns,
                          tower_sink_fn sink, void *sink_ctx) {
  const json_t *cpu = json_object_get(stats, "cpu_stats");
  tower_metric *m = from_template(c, "docker_container_cpu");
  if (!m)
    return -ENOMEM;
  int rc = cpu_total_fields(m, cpu);
  rc = rc ? rc : add_usage_percent(m, e, c, stats, cache, ttl_ns, mono_ns);
  if (rc == 0 && tower_metric_field_count(m) == 0) {
    tower_metric_free(m);
    return 0;
  }
  rc = rc ? rc : tower_metric_add_tag(m, "cpu", "cpu-total");
  rc = rc ? rc : tower_metric_add_string(m, "container_id", c->id);
  return emit(m, rc, sink, sink_ctx);
}

/* cpu0, cpu1, ...: cgroup v1 only (v2 has no per-cpu accounting); only
 * the online CPUs, as Telegraf (moby commit 115f91d). */
static int emit_percpu(docker_ctr *c, const json_t *cpu, tower_sink_fn sink, void *sink_ctx) {
  const json_t *per = json_object_get(json_object_get(cpu, "cpu_usage"), "percpu_usage");
  size_t n = json_array_size(per);
  uint64_t online;
  if (get_u64(cpu, "online_cpus", &online) && online > 0 && online < n)
    n = (size_t)online;
  for (size_t i = 0; i < n; i++) {
    uint64_t v;
    if (!u64_of(json_array_get(per, i), &v))
      continue;
    tower_metric *m = from_template(c, "docker_container_cpu");
    if (!m)
      return -ENOMEM;
    char name[32];
    snprintf(name, sizeof name, "cpu%zu", i);
    int rc = tower_metric_add_tag(m, "cpu", name);
    rc = rc ? rc : tower_metric_add_uint(m, "usage_total", v);
    rc = rc ? rc : tower_metric_add_string(m, "container_id", c->id);
    if ((rc = emit(m, rc, sink, sink_ctx)))
      return rc;
  }
  return 0;
}

/* ---- docker_container_net ------------------------------------------------------------------ */

static const char *const net_keys[] = {"rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                                       "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"};

/* Adds the numeric fields of `from` (all but container_id) to `into`,
 * summing fields both have: the `total` device or network. */
static int sum_into(tower_metric *into, const tower_metric *from) {
  for (size_t i = 0; i < tower_metric_field_count(from); i++) {
    if (tower_metric_field_type(from, i) != TOWER_FIELD_UINT)
      continue;
    const char *key = tower_metric_field_key(from, i);
    uint64_t v = tower_metric_field_uint(from, i);
    ptrdiff_t j = tower_metric_field_index(into, key);
    if (j >= 0)
      v += tower_metric_field_uint(into, (size_t)j);
    int rc = tower_metric_add_uint(into, key, v);
    if (rc)
      return rc;
  }
  return 0;
}

/* The `total` metric of a measurement (tag `key` = "total"), made on
 * first use. */
static int total_metric(docker_ctr *c, tower_metric **total, const char *name, const char *key) {
  if (*total)
    return 0;
  *total = from_template(c, name);
  if (!*total)
    return -ENOMEM;
  return tower_metric_add_tag(*total, key, "total");
}

/* One network's metric; summed into *total when totals are wanted, handed
 * on when per-network metrics are. */
static int one_network(const docker_filters *f, docker_ctr *c, const char *name, const json_t *n,
                       tower_metric **total, tower_sink_fn sink, void *sink_ctx) {
  tower_metric *m = from_template(c, "docker_container_net");
  if (!m)
    return -ENOMEM;
  int rc = tag(m, "network", name);
  for (size_t i = 0; rc == 0 && i < sizeof net_keys / sizeof net_keys[0]; i++)
    rc = add_u64(m, n, net_keys[i], net_keys[i]);
  if (rc == 0 && (f->total & DOCKER_CLASS_NETWORK)) {
    rc = total_metric(c, total, "docker_container_net", "network");
    rc = rc ? rc : sum_into(*total, m);
  }
  if (rc || !(f->perdevice & DOCKER_CLASS_NETWORK)) {
    tower_metric_free(m);
    return rc;
  }
  rc = tower_metric_add_string(m, "container_id", c->id);
  return emit(m, rc, sink, sink_ctx);
}

/* Per network (perdevice_include "network") and their sum as network=total
 * (total_include "network"; none for a container without networks, such
 * as --network host or none on Docker). */
static int emit_net(const docker_filters *f, docker_ctr *c, const json_t *stats, tower_sink_fn sink,
                    void *sink_ctx) {
  if (!(f->perdevice & DOCKER_CLASS_NETWORK) && !(f->total & DOCKER_CLASS_NETWORK))
    return 0;
  const json_t *nets = json_object_get(stats, "networks");
  tower_metric *total = NULL;
  const char *name;
  const json_t *n;
  int rc = 0;
  json_object_foreach((json_t *)nets, name, n) {
    if (json_is_object(n) && (rc = one_network(f, c, name, n, &total, sink, sink_ctx)))
      break;
  }
  if (!total || rc) {
    tower_metric_free(total);
    return rc;
  }
  rc = tower_metric_add_string(total, "container_id", c->id);
  return emit(total, rc, sink, sink_ctx);
}

/* ---- docker_container_blkio ------------------------------------------------------------------ */

/* blkio_stats arrays and Telegraf's field names: prefix + lower-case op,
 * or the prefix alone for the arrays without ops. */
static const struct {
  const char *array, *prefix;
  bool op;
} blkio_arrays[] = {
    {"io_service_bytes_recursive", "io_service_bytes_recursive_", true},
    {"io_serviced_recursive", "io_serviced_recursive_", true},
    {"io_queue_recursive", "io_queue_recursive_", true},
    {"io_service_time_recursive", "io_service_time_recursive_", true},
    {"io_wait_time_recursive", "io_wait_time_", true},
    {"io_merged_recursive", "io_merged_recursive_", true},
    {"io_time_recursive", "io_time_recursive", false},
    {"sectors_recursive", "sectors_recursive", false},
};

typedef struct blk_dev {
  uint64_t major, minor;
  tower_metric *m;
} blk_dev;

typedef struct blk_devs {
  blk_dev *v;
  size_t n, cap;
} blk_devs;

/* The metric of device major:minor, made on first use. */
static tower_metric *device(docker_ctr *c, blk_devs *d, uint64_t major, uint64_t minor) {
  for (size_t i = 0; i < d->n; i++)
    if (d->v[i].major == major && d->v[i].minor == minor)
      return d->v[i].m;
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    blk_dev *v = realloc(d->v, cap * sizeof *v);
    if (!v)
      return NULL;
    d->v = v;
    d->cap = cap;
  }
  tower_metric *m = from_template(c, "docker_container_blkio");
  char name[48];
  snprintf(name, sizeof name, "%llu:%llu", (unsigned long long)major, (unsigned long long)minor);
  if (!m || tower_metric_add_tag(m, "device", name)) {
    tower_metric_free(m);
    return NULL;
  }
  d->v[d->n++] = (blk_dev){major, minor, m};
  return m;
}

/* "io_service_bytes_recursive_" + "Read" -> "io_service_bytes_recursive_read". */
static bool blkio_field(char *out, size_t size, const char *prefix, const char *op) {
  int n = snprintf(out, size, "%s%s", prefix, op ? op : "");
  if (n < 0 || (size_t)n >= size)
    return false;
  for (char *p = out + strlen(prefix); *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  return true;
}

static int blkio_array(docker_ctr *c, blk_devs *d, const json_t *arr, const char *prefix,
                       bool with_op) {
  size_t i;
  const json_t *e;
  json_array_foreach(arr, i, e) {
    uint64_t major, minor, value;
    const char *op = with_op ? get_str(e, "op") : NULL;
    char field[96];
    if (!get_u64(e, "major", &major) || !get_u64(e, "minor", &minor) ||
        !get_u64(e, "value", &value) || (with_op && (!op || !*op)) ||
        !blkio_field(field, sizeof field, prefix, op))
      continue;
    tower_metric *m = device(c, d, major, minor);
    if (!m)
      return -ENOMEM;
    int rc = tower_metric_add_uint(m, field, value); /* a repeated op: the last wins */
    if (rc)
      return rc;
  }
  return 0;
}

/* Hands on (or frees) the per-device metrics and their sum as
 * device=total; all are freed on error. */
static int blkio_flush(const docker_filters *f, docker_ctr *c, blk_devs *d, tower_sink_fn sink,
                       void *sink_ctx) {
  tower_metric *total = NULL;
  int rc = 0;
  for (size_t i = 0; i < d->n; i++) {
    tower_metric *m = d->v[i].m;
    d->v[i].m = NULL;
    if (rc == 0 && (f->total & DOCKER_CLASS_BLKIO)) {
      rc = total_metric(c, &total, "docker_container_blkio", "device");
      rc = rc ? rc : sum_into(total, m);
    }
    if (rc || !(f->perdevice & DOCKER_CLASS_BLKIO)) {
      tower_metric_free(m);
      continue;
    }
    rc = tower_metric_add_string(m, "container_id", c->id);
    rc = emit(m, rc, sink, sink_ctx);
  }
  if (!total || rc) {
    tower_metric_free(total);
    return rc;
  }
  rc = tower_metric_add_string(total, "container_id", c->id);
  return emit(total, rc, sink, sink_ctx);
}

/* Per device (perdevice_include "blkio") and their sum as device=total
 * (total_include "blkio"). Telegraf writes a total with only container_id
 * for a container without block I/O; tower writes none. */
static int emit_blkio(const docker_filters *f, docker_ctr *c, const json_t *stats,
                      tower_sink_fn sink, void *sink_ctx) {
  if (!(f->perdevice & DOCKER_CLASS_BLKIO) && !(f->total & DOCKER_CLASS_BLKIO))
    return 0;
  const json_t *b = json_object_get(stats, "blkio_stats");
  blk_devs d = {0};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < sizeof blkio_arrays / sizeof blkio_arrays[0]; i++)
    rc = blkio_array(c, &d, json_object_get(b, blkio_arrays[i].array), blkio_arrays[i].prefix,
                     blkio_arrays[i].op);
  if (rc)
    for (size_t i = 0; i < d.n; i++)
      tower_metric_free(d.v[i].m);
  else
    rc = blkio_flush(f, c, &d, sink, sink_ctx);
  free(d.v);
  return rc;
}

/* ---- all of a stats answer ------------------------------------------------------------------ */

int docker_emit_stats(const docker_filters *f, const docker_engine *e, docker_ctr *c,
                      const json_t *stats, docker_cpu_cache *cache, int64_t ttl_ns, int64_t mono_ns,
                      tower_sink_fn sink, void *sink_ctx) {
  if (!json_is_object(stats) || !c->tmpl)
    return -EINVAL;
  /* Go's zero time: the daemon has no sample (the container stopped
   * between inspect and stats); its zeros are not measurements. */
  const char *read = get_str(stats, "read");
  if (read && strncmp(read, "0001-01-01", 10) == 0)
    return 0;
  int rc = emit_mem(c, stats, sink, sink_ctx);
  if (rc == 0 && (f->total & DOCKER_CLASS_CPU))
    rc = emit_cpu_total(e, c, stats, cache, ttl_ns, mono_ns, sink, sink_ctx);
  if (rc == 0 && (f->perdevice & DOCKER_CLASS_CPU))
    rc = emit_percpu(c, json_object_get(stats, "cpu_stats"), sink, sink_ctx);
  rc = rc ? rc : emit_net(f, c, stats, sink, sink_ctx);
  return rc ? rc : emit_blkio(f, c, stats, sink, sink_ctx);
}
