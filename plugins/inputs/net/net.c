/* inputs.net: traffic counters per network interface from
 * <HOST_PROC>/net/dev, with the names, tags and types of Telegraf's
 * inputs.net (plugins/inputs/net/net.go over gopsutil's net.IOCounters),
 * and on request the protocol counters of /proc/net/snmp (net_snmp.c).
 *
 * Every gather reads /proc/net/dev whole into the instance's buffer and
 * emits, in the file's order, one COUNTER metric "net" per selected
 * interface: tag interface, the uint64 fields bytes_sent, bytes_recv,
 * packets_sent, packets_recv, err_in, err_out, drop_in and drop_out, and
 * the int64 field speed (Mbit/s) from <HOST_SYS>/class/net/<if>/speed, -1
 * when the file cannot be read or parsed (virtual interfaces, links that
 * are down), as Telegraf does.
 *
 * Counters are the kernel's, read afresh at each gather: nothing is kept
 * between gathers, so tower never resets, clamps or rebases them. A counter
 * that goes back (a driver reset, an interface re-created under the same
 * name) is reported as the kernel says.
 *
 * Selection, as Telegraf: with `interfaces`, the interfaces whose name
 * matches one of its globs, whatever their state; without it, those that
 * are up and not a loopback. Telegraf asks the kernel (net.Interfaces) for
 * the flags; we read <HOST_SYS>/class/net/<if>/flags, so that a tower in a
 * container with the host's /sys mounted judges the host's interfaces. An
 * interface whose flags cannot be read (gone since /proc/net/dev was read,
 * or absent from that /sys) is reported rather than silently dropped. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "../../common/plural.h"
#include "net.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* Linux names are at most 15 bytes (IFNAMSIZ - 1); far longer ones are
 * taken as a corrupt line. */
#define NAME_LEN 64
/* The sysfs attributes read here (flags, speed) are one short line. */
#define ATTR_MAX 64

/* Columns of a /proc/net/dev line after "<name>:", receive then transmit. */
enum {
  RX_BYTES,
  RX_PACKETS,
  RX_ERRS,
  RX_DROP,
  RX_FIFO,
  RX_FRAME,
  RX_COMPRESSED,
  RX_MULTICAST,
  TX_BYTES,
  TX_PACKETS,
  TX_ERRS,
  TX_DROP,
  TX_FIFO,
  TX_COLLS,
  TX_CARRIER,
  TX_COMPRESSED,
  NCOLS
};
/* Every kernel since 2.2 prints 16 columns; the fields need 12. */
#define MIN_COLS (TX_DROP + 1)

static const struct {
  const char *field;
  int col;
} dev_fields[] = {
    {"bytes_sent", TX_BYTES},     {"bytes_recv", RX_BYTES}, {"packets_sent", TX_PACKETS},
    {"packets_recv", RX_PACKETS}, {"err_in", RX_ERRS},      {"err_out", TX_ERRS},
    {"drop_in", RX_DROP},         {"drop_out", TX_DROP},
};

typedef struct {
  tower_ctx *ctx;
  tower_globs *interfaces; /* NULL: the interfaces that are up, but loopbacks */
  bool protocol_stats;
  char dev_path[PATH_MAX], snmp_path[PATH_MAX], sys_net[PATH_MAX];
  host_buf dev, snmp, attr; /* reused by every gather */
} net_state;

typedef struct {
  char name[NAME_LEN];
  uint64_t col[NCOLS];
} dev_entry;

static const tower_option options[] = {
    {.name = "interfaces",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "interfaces to report (globs: \"eth*\"), whatever their state; unset: every "
             "interface that is up, but the loopback"},
    {.name = "ignore_protocol_stats",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "leave out the /proc/net/snmp counters (metric interface=all); false reports them "
             "as Telegraf 1.36 and older did"},
    TOWER_OPTION_END,
};

/* ---- /proc/net/dev ------------------------------------------------------- */

/* The unsigned decimal at *p, which must end at a blank or at `end`. */
static bool next_u64(const char **p, const char *end, uint64_t *out) {
  const char *q = *p;
  if (!host_parse_u64(&q, end, out) || (q < end && *q != ' ' && *q != '\t'))
    return false;
  *p = q;
  return true;
}

/* Copies the name before `colon`, blanks trimmed; false when empty or too
 * long. */
static bool copy_name(const char *line, const char *colon, char *name) {
  const char *s = line, *e = colon;
  while (s < e && isblank((unsigned char)*s))
    s++;
  while (e > s && isblank((unsigned char)e[-1]))
    e--;
  size_t n = (size_t)(e - s);
  if (n == 0 || n >= NAME_LEN)
    return false;
  memcpy(name, s, n);
  name[n] = '\0';
  return true;
}

/* "  eth0: 1648 7 0 ..." into e; false when malformed. The name ends at
 * the last colon, as gopsutil reads it. */
static bool parse_dev_line(const char *line, size_t len, dev_entry *e) {
  const char *colon = NULL;
  for (const char *q = line + len; q > line && !colon; q--)
    if (q[-1] == ':')
      colon = q - 1;
  if (!colon || !copy_name(line, colon, e->name))
    return false;
  const char *p = colon + 1, *end = line + len;
  int cols = 0;
  while (cols < NCOLS && next_u64(&p, end, &e->col[cols]))
    cols++;
  return cols >= MIN_COLS;
}

/* ---- /sys/class/net/<if> ------------------------------------------------- */

/* A name that stays one directory below class/net. */
static bool safe_name(const char *name) {
  return !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* The integer in a one-line attribute ("1000\n", "0x1003\n"); false for
 * anything else, as Go's ParseInt after trimming the newline. */
static bool attr_value(const host_buf *b, int base, long long *out) {
  const char *s = b->data;
  if (!s || !*s || isspace((unsigned char)*s))
    return false;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, base);
  if (errno || end == s)
    return false;
  if (*end == '\n')
    end++;
  if (*end != '\0')
    return false;
  *out = v;
  return true;
}

/* Reads <HOST_SYS>/class/net/<name>/<attr> as an integer. */
static bool read_attr(net_state *s, const char *name, const char *attr, int base, long long *out) {
  char path[PATH_MAX];
  if (!safe_name(name))
    return false;
  int n = snprintf(path, sizeof path, "%s/%s/%s", s->sys_net, name, attr);
  if (n < 0 || (size_t)n >= sizeof path || host_read(&s->attr, path, ATTR_MAX) != 0)
    return false;
  return attr_value(&s->attr, base, out);
}

static bool selected(net_state *s, const char *name) {
  if (s->interfaces)
    return tower_globs_match(s->interfaces, name);
  long long flags;
  if (!read_attr(s, name, "flags", 16, &flags)) {
    tower_debug(s->ctx, "%s/%s/flags is unreadable: reporting %s whatever its state", s->sys_net,
                name, name);
    return true;
  }
  return (flags & IFF_UP) && !(flags & IFF_LOOPBACK);
}

/* Mbit/s; -1 when unknown (Telegraf's getInterfaceSpeed). */
static int64_t speed_of(net_state *s, const char *name) {
  long long v;
  return read_attr(s, name, "speed", 10, &v) ? (int64_t)v : -1;
}

/* ---- metrics ------------------------------------------------------------- */

static int emit_interface(net_state *s, tower_acc *acc, const dev_entry *e) {
  tower_metric *m = tower_metric_new("net", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_set_type(m, TOWER_COUNTER);
  if (rc == 0)
    rc = tower_metric_add_tag(m, "interface", e->name);
  for (size_t i = 0; rc == 0 && i < sizeof dev_fields / sizeof *dev_fields; i++)
    rc = tower_metric_add_uint(m, dev_fields[i].field, e->col[dev_fields[i].col]);
  if (rc == 0)
    rc = tower_metric_add_int(m, "speed", speed_of(s, e->name));
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(acc, m);
}

/* Emits the selected interfaces; malformed lines are left out and reported
 * once. 0, or a negative errno after tower_acc_error(); -ENOMEM. */
static int gather_interfaces(net_state *s, tower_acc *acc) {
  int rc = host_read(&s->dev, s->dev_path, 0);
  if (rc) {
    tower_acc_error(acc,
                    "cannot read %s: %s (set HOST_PROC when the host's /proc is mounted "
                    "elsewhere)",
                    s->dev_path, strerror(-rc));
    return rc;
  }
  host_lines it;
  host_lines_init(&it, &s->dev);
  const char *line;
  size_t len;
  unsigned no = 0, bad = 0, first_bad = 0;
  while (host_lines_next(&it, &line, &len)) {
    dev_entry e;
    if (++no <= 2 || len == 0) /* the two heads */
      continue;
    if (!parse_dev_line(line, len, &e)) {
      if (bad++ == 0)
        first_bad = no;
    } else if (selected(s, e.name) && (rc = emit_interface(s, acc, &e))) {
      return rc;
    }
  }
  if (bad)
    tower_acc_error(acc,
                    "%s:%u: cannot parse the counters of an interface (%u line%s left out); is it "
                    "Linux's /proc/net/dev?",
                    s->dev_path, first_bad, bad, plural_s(bad));
  return 0;
}

static int net_gather(void *state, tower_acc *acc) {
  net_state *s = state;
  int rc = gather_interfaces(s, acc);
  if (rc == -ENOMEM)
    return rc;
  if (s->protocol_stats) {
    int prc = net_gather_snmp(&s->snmp, s->snmp_path, acc);
    rc = rc ? rc : prc;
  }
  return rc;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void net_destroy(void *state) {
  net_state *s = state;
  if (!s)
    return;
  tower_globs_free(s->interfaces);
  host_buf_free(&s->dev);
  host_buf_free(&s->snmp);
  host_buf_free(&s->attr);
  free(s);
}

static int net_configure(net_state *s, const tower_config *cfg) {
  s->protocol_stats = !tower_config_bool(cfg, "ignore_protocol_stats");
  /* Telegraf takes an empty list as no list: the default selection. */
  if (tower_config_strings_len(cfg, "interfaces") > 0) {
    int rc = tower_globs_from_config(cfg, "interfaces", &s->interfaces);
    if (rc)
      return rc;
  }
  host_roots roots;
  int rc = host_roots_load(&roots, s->ctx, cfg);
  if (rc)
    return rc;
  if (!host_path(s->dev_path, sizeof s->dev_path, roots.proc, "net/dev") ||
      !host_path(s->snmp_path, sizeof s->snmp_path, roots.proc, "net/snmp") ||
      !host_path(s->sys_net, sizeof s->sys_net, roots.sys, "class/net"))
    return tower_config_error(cfg, NULL, "HOST_PROC or HOST_SYS is too long");
  return 0;
}

static int net_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  net_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  int rc = net_configure(s, cfg);
  if (rc) {
    net_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "net",
    .description = "traffic counters per network interface, from /proc/net/dev",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = net_init,
    .destroy = net_destroy,
    .gather = net_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
