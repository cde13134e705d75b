/* inputs.system: load averages, CPU counts, logged-in users and uptime, with
 * the metrics, fields and types of Telegraf's inputs.system
 * (plugins/inputs/system/system.go).
 *
 * `include` picks the groups, as in Telegraf. The default, "legacy", gives
 * Telegraf's three metrics named "system", all with the gather's timestamp:
 *   - GAUGE: load1, load5, load15 (floats), n_cpus, n_physical_cpus,
 *     n_users, n_unique_users (integers);
 *   - COUNTER: uptime (seconds, integer);
 *   - UNTYPED: uptime_format ("3 days, 4:05", a string).
 * The groups "load", "users", "cpus" and "uptime" put their fields into one
 * more, UNTYPED, "system" metric, after the legacy ones.
 *
 * Sources (HOST_PROC, HOST_SYS, HOST_RUN): /proc/loadavg, /proc/uptime,
 * /proc/cpuinfo and /sys/devices/system/cpu (system_cpus.c), /run/utmp
 * (system_users.c). A source that cannot be read leaves its fields out with
 * one gather error; the other fields are still reported (Telegraf drops the
 * legacy metrics on any error).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "system.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "include",
     .type = TOWER_OPT_STRINGS,
     .default_value = "legacy",
     .help = "groups to report: legacy (Telegraf's three metrics), load, users, cpus, uptime "
             "(one metric with the fields of those groups)"},
    TOWER_OPTION_END,
};

/* ---- load and uptime ----------------------------------------------------- */

static void report_unreadable(tower_acc *acc, const char *path, int rc, const char *fields) {
  tower_acc_error(acc,
                  "cannot read %s: %s; %s left out (set HOST_PROC when the host's /proc is "
                  "mounted elsewhere)",
                  path, strerror(-rc), fields);
}

/* /proc/loadavg: "0.20 0.18 0.12 1/80 11206". */
static void read_load(sys_state *s, tower_acc *acc, sys_reading *r) {
  int rc = host_read(&s->buf, s->loadavg, 0);
  if (rc) {
    report_unreadable(acc, s->loadavg, rc, "load1, load5 and load15 are");
    return;
  }
  const char *p = s->buf.data, *end = s->buf.data + s->buf.len;
  for (int i = 0; i < 3; i++)
    if (!host_parse_double(&p, end, &r->load[i])) {
      tower_acc_error(acc, "%s: cannot parse \"%.*s\" as three load averages", s->loadavg,
                      (int)(s->buf.len > 80 ? 80 : s->buf.len), s->buf.data);
      return;
    }
  r->have_load = true;
}

/* /proc/uptime: "350735.47 234388.90", seconds with two decimals. Telegraf
 * takes uptime from sysinfo(2), which rounds any fraction up; so do we. */
static void read_uptime(sys_state *s, tower_acc *acc, sys_reading *r) {
  int rc = host_read(&s->buf, s->uptime, 0);
  if (rc) {
    report_unreadable(acc, s->uptime, rc, "uptime and uptime_format are");
    return;
  }
  const char *p = s->buf.data, *end = s->buf.data + s->buf.len;
  if (!host_parse_u64(&p, end, &r->uptime)) {
    tower_acc_error(acc, "%s: cannot parse \"%.*s\" as an uptime", s->uptime,
                    (int)(s->buf.len > 80 ? 80 : s->buf.len), s->buf.data);
    return;
  }
  bool fraction = false;
  if (p < end && *p == '.')
    for (p++; p < end && *p >= '0' && *p <= '9'; p++)
      fraction |= *p != '0';
  r->uptime += fraction;
  r->have_uptime = true;
}

/* Telegraf's formatUptime: "[N day[s], ]H:MM", hours padded to two places
 * with a space. */
static void format_uptime(uint64_t up, char *out, size_t len) {
  uint64_t days = up / 86400, hours = up / 3600 % 24, minutes = up / 60 % 60;
  if (days)
    snprintf(out, len, "%llu day%s, %2llu:%02llu", (unsigned long long)days, days > 1 ? "s" : "",
             (unsigned long long)hours, (unsigned long long)minutes);
  else
    snprintf(out, len, "%2llu:%02llu", (unsigned long long)hours, (unsigned long long)minutes);
}

/* ---- metrics ------------------------------------------------------------- */

static int add_load(tower_metric *m, const sys_reading *r) {
  int rc = tower_metric_add_float(m, "load1", r->load[0]);
  rc = rc ? rc : tower_metric_add_float(m, "load5", r->load[1]);
  return rc ? rc : tower_metric_add_float(m, "load15", r->load[2]);
}

static int add_users(tower_metric *m, const sys_reading *r) {
  int rc = tower_metric_add_int(m, "n_users", r->n_users);
  return rc ? rc : tower_metric_add_int(m, "n_unique_users", r->n_unique_users);
}

static int add_cpus(tower_metric *m, const sys_reading *r) {
  int rc = r->have_cpus ? tower_metric_add_int(m, "n_cpus", r->n_cpus) : 0;
  if (rc == 0 && r->have_physical)
    rc = tower_metric_add_int(m, "n_physical_cpus", r->n_physical_cpus);
  return rc;
}

/* The fields of the groups in `groups` that could be read. */
static int add_groups(tower_metric *m, const sys_reading *r, unsigned groups) {
  int rc = 0;
  if (rc == 0 && (groups & SYS_LOAD) && r->have_load)
    rc = add_load(m, r);
  if (rc == 0 && (groups & SYS_USERS) && r->have_users)
    rc = add_users(m, r);
  if (rc == 0 && (groups & SYS_CPUS))
    rc = add_cpus(m, r);
  if (rc == 0 && (groups & SYS_UPTIME) && r->have_uptime)
    rc = tower_metric_add_uint(m, "uptime", r->uptime);
  return rc;
}

/* Hands `m` on when it has a field; frees it otherwise or on error. */
static int finish(tower_acc *acc, tower_metric *m, int rc) {
  if (rc == 0 && tower_metric_field_count(m) > 0)
    return tower_acc_add(acc, m);
  tower_metric_free(m);
  return rc;
}

static int emit(tower_acc *acc, tower_value_type type, const sys_reading *r, unsigned groups) {
  tower_metric *m = tower_metric_new("system", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_set_type(m, type);
  return finish(acc, m, rc ? rc : add_groups(m, r, groups));
}

static int emit_uptime_format(tower_acc *acc, const sys_reading *r) {
  if (!r->have_uptime)
    return 0;
  char text[64];
  format_uptime(r->uptime, text, sizeof text);
  tower_metric *m = tower_metric_new("system", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  return finish(acc, m, tower_metric_add_string(m, "uptime_format", text));
}

static int emit_legacy(tower_acc *acc, const sys_reading *r) {
  int rc = emit(acc, TOWER_GAUGE, r, SYS_LOAD | SYS_CPUS | SYS_USERS);
  rc = rc ? rc : emit(acc, TOWER_COUNTER, r, SYS_UPTIME);
  return rc ? rc : emit_uptime_format(acc, r);
}

static int system_gather(void *state, tower_acc *acc) {
  sys_state *s = state;
  unsigned want = s->include & SYS_LEGACY ? ~0u : s->include;
  sys_reading r = {0};
  int rc = 0;
  if (want & SYS_LOAD)
    read_load(s, acc, &r);
  if (want & SYS_CPUS)
    rc = sys_read_cpus(s, acc, &r);
  if (want & SYS_USERS)
    sys_read_users(s, acc, &r);
  if (want & SYS_UPTIME)
    read_uptime(s, acc, &r);
  if (rc == 0 && (s->include & SYS_LEGACY))
    rc = emit_legacy(acc, &r);
  if (rc == 0 && (s->include & ~SYS_LEGACY))
    rc = emit(acc, TOWER_UNTYPED, &r, s->include & ~SYS_LEGACY);
  return rc;
}

/* ---- lifecycle ----------------------------------------------------------- */

static const struct {
  const char *name;
  unsigned bit;
} groups[] = {
    {"legacy", SYS_LEGACY}, {"load", SYS_LOAD},     {"users", SYS_USERS},
    {"cpus", SYS_CPUS},     {"uptime", SYS_UPTIME},
};

static int parse_include(sys_state *s, const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "include");
  for (size_t i = 0; i < n; i++) {
    const char *g = tower_config_strings_at(cfg, "include", i);
    size_t k = 0;
    while (k < sizeof groups / sizeof groups[0] && strcmp(groups[k].name, g) != 0)
      k++;
    if (k < sizeof groups / sizeof groups[0]) {
      s->include |= groups[k].bit;
    } else if (strcmp(g, "os") == 0 || strcmp(g, "dmi") == 0) {
      return tower_config_error(cfg, tower_config_setting(cfg, "include"),
                                "include \"%s\" is a Telegraf group tower does not have yet; "
                                "use legacy, load, users, cpus or uptime",
                                g);
    } else {
      return tower_config_error(cfg, tower_config_setting(cfg, "include"),
                                "invalid include \"%s\"; use legacy, load, users, cpus or uptime",
                                g);
    }
  }
  if (s->include == 0) /* include = []: Telegraf's default too */
    s->include = SYS_LEGACY;
  return 0;
}

/* Telegraf (gopsutil) reads $HOST_VAR/run/utmp; HOST_RUN, when set, names
 * /run directly, and wins. */
static bool utmp_path(char *out, size_t len, const host_roots *roots) {
  const char *run = getenv("HOST_RUN"), *var = getenv("HOST_VAR");
  if ((!run || !*run) && var && *var) {
    int n = snprintf(out, len, "%s/run/utmp", var);
    return n >= 0 && (size_t)n < len;
  }
  return host_path(out, len, roots->run, "utmp");
}

static int set_paths(sys_state *s, const host_roots *roots) {
  bool ok = host_path(s->loadavg, sizeof s->loadavg, roots->proc, "loadavg") &&
            host_path(s->uptime, sizeof s->uptime, roots->proc, "uptime") &&
            host_path(s->cpuinfo, sizeof s->cpuinfo, roots->proc, "cpuinfo") &&
            host_path(s->stat, sizeof s->stat, roots->proc, "stat") &&
            host_path(s->cpu_dir, sizeof s->cpu_dir, roots->sys, "devices/system/cpu") &&
            utmp_path(s->utmp, sizeof s->utmp, roots);
  return ok ? 0 : -ENAMETOOLONG;
}

static void system_destroy(void *state) {
  sys_state *s = state;
  if (!s)
    return;
  host_buf_free(&s->buf);
  host_buf_free(&s->cpuinfo_buf);
  free(s->cores);
  free(s->pkgs);
  free(s);
}

static int system_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  sys_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  host_roots roots;
  int rc = parse_include(s, cfg);
  rc = rc ? rc : host_roots_load(&roots, ctx, cfg);
  if (rc == 0 && set_paths(s, &roots))
    rc = tower_config_error(cfg, NULL,
                            "HOST_PROC, HOST_SYS, HOST_RUN or HOST_VAR is too long for a path");
  if (rc) {
    system_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "system",
    .description = "load, CPU counts, logged-in users and uptime, as Telegraf's inputs.system",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = system_init,
    .destroy = system_destroy,
    .gather = system_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
