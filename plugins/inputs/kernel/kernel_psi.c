/* inputs.kernel, collect = ["psi"]: pressure stall information from
 * <HOST_PROC>/pressure/{cpu,memory,io}, as Telegraf's inputs.kernel reports
 * it (plugins/inputs/kernel/psi.go over prometheus/procfs): for each
 * resource and each of its lines ("some", "full"), a COUNTER metric
 * "pressure" with total (microseconds stalled, unsigned integer) and a GAUGE
 * metric "pressure" with avg10, avg60, avg300 (percent, floats), both tagged
 * resource and type. cpu's "full" line is left out, as in Telegraf (it is
 * all zeros, or missing before Linux 5.13).
 *
 * A line reads "some avg10=0.00 avg60=0.00 avg300=0.00 total=0". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"

typedef struct {
  double avg[3];
  uint64_t total;
} psi_line;

static const char *const avg_keys[3] = {"avg10", "avg60", "avg300"};

/* Expects "<key>=" at *p (after one blank), advancing past it. */
static bool expect_key(const char **p, const char *end, const char *key) {
  size_t n = strlen(key);
  if (*p < end && **p == ' ')
    (*p)++;
  if ((size_t)(end - *p) <= n || memcmp(*p, key, n) != 0 || (*p)[n] != '=')
    return false;
  *p += n + 1;
  return true;
}

/* Parses what follows "some"/"full" on a line. */
static bool parse_values(const char *p, const char *end, psi_line *out) {
  for (int i = 0; i < 3; i++)
    if (!expect_key(&p, end, avg_keys[i]) || !host_parse_double(&p, end, &out->avg[i]))
      return false;
  return expect_key(&p, end, "total") && host_parse_u64(&p, end, &out->total);
}

static tower_metric *pressure_metric(const char *resource, const char *type,
                                     tower_value_type vtype) {
  tower_metric *m = tower_metric_new("pressure", TOWER_TIME_UNSET);
  if (!m)
    return NULL;
  if (tower_metric_set_type(m, vtype) || tower_metric_add_tag(m, "resource", resource) ||
      tower_metric_add_tag(m, "type", type)) {
    tower_metric_free(m);
    return NULL;
  }
  return m;
}

/* The counter, then the gauge, as Telegraf adds them. */
static int emit(tower_acc *acc, const char *resource, const char *type, const psi_line *l) {
  tower_metric *c = pressure_metric(resource, type, TOWER_COUNTER);
  if (!c || tower_metric_add_uint(c, "total", l->total)) {
    tower_metric_free(c);
    return -ENOMEM;
  }
  int rc = tower_acc_add(acc, c);
  tower_metric *g = rc ? NULL : pressure_metric(resource, type, TOWER_GAUGE);
  if (!g)
    return -ENOMEM;
  for (int i = 0; rc == 0 && i < 3; i++)
    rc = tower_metric_add_float(g, avg_keys[i], l->avg[i]);
  if (rc) {
    tower_metric_free(g);
    return rc;
  }
  return tower_acc_add(acc, g);
}

/* One line: "some ..." or "full ...". Unknown first words are skipped (a
 * later kernel may add lines). */
static int gather_line(tower_acc *acc, const char *path, const char *resource, const char *line,
                       size_t len) {
  const char *type = len >= 4 && memcmp(line, "some", 4) == 0   ? "some"
                     : len >= 4 && memcmp(line, "full", 4) == 0 ? "full"
                                                                : NULL;
  if (!type || (len > 4 && line[4] != ' '))
    return 0;
  if (strcmp(resource, "cpu") == 0 && strcmp(type, "full") == 0)
    return 0;
  psi_line l;
  if (!parse_values(line + 4, line + len, &l)) {
    tower_acc_error(acc, "%s: cannot parse the line \"%.*s\"", path, (int)(len > 80 ? 80 : len),
                    line);
    return 0;
  }
  return emit(acc, resource, type, &l);
}

static int gather_resource(kernel_state *s, tower_acc *acc, const char *resource) {
  char path[PATH_MAX];
  int rc = host_path(path, sizeof path, s->pressure_dir, resource) ? host_read(&s->buf, path, 0)
                                                                   : -ENAMETOOLONG;
  if (rc) {
    tower_acc_error(acc, "cannot read %s: %s; no %s pressure this time", path, strerror(-rc),
                    resource);
    return 0;
  }
  host_lines it;
  host_lines_init(&it, &s->buf);
  const char *line;
  size_t len;
  while (rc == 0 && host_lines_next(&it, &line, &len))
    rc = gather_line(acc, path, resource, line, len);
  return rc;
}

int kernel_gather_psi(kernel_state *s, tower_acc *acc) {
  static const char *const resources[] = {"cpu", "memory", "io"};
  int rc = 0;
  for (int i = 0; rc == 0 && i < 3; i++)
    rc = gather_resource(s, acc, resources[i]);
  return rc;
}
