/* inputs.netstat: TCP sockets by state and the number of UDP sockets, from
 * the kernel's socket tables <HOST_PROC>/net/{tcp,tcp6,udp,udp6}, with the
 * measurement and fields of Telegraf's inputs.netstat
 * (plugins/inputs/netstat/netstat.go).
 *
 * One untyped metric "netstat" per gather, every field an int64 count:
 * tcp_established, tcp_syn_sent, tcp_syn_recv, tcp_fin_wait1,
 * tcp_fin_wait2, tcp_time_wait, tcp_close, tcp_close_wait, tcp_last_ack,
 * tcp_listen, tcp_closing, tcp_none (a state with no other name) and
 * udp_socket.
 *
 * A busy host has hundreds of thousands of sockets (15 MB of tables), so a
 * table is never held whole: it is read in chunks into one buffer of the
 * instance, and of each line only the state column is looked at. Nothing
 * is allocated per gather but the metric. Telegraf (gopsutil's
 * net.Connections("all")) also decodes every address, reads every
 * process's fd table to find the sockets' owners and the Unix socket
 * table; none of that reaches its counts but the Unix sockets, which it
 * counts as tcp_none (stream) and udp_socket (datagram): see README.md.
 *
 * The kernel prints a table while sockets come and go, one chunk per
 * read(2), so a socket may be seen twice or missed under churn, as with
 * ss(8) or netstat(8); large chunks keep that rare. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#include "../../common/host/host.h"
#include "../../common/plural.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* Bytes asked of the kernel per read(2): about 440 lines of /proc/net/tcp. */
#define CHUNK (64u * 1024u)

/* Telegraf's field for each kernel TCP state (include/net/tcp_states.h);
 * states past TCP_CLOSING (NEW_SYN_RECV, BOUND_INACTIVE: never listed by a
 * kernel so far) count as tcp_none. */
enum { TCP_STATES = 12 };
static const char *const tcp_fields[TCP_STATES] = {
    "tcp_none",       "tcp_established", "tcp_syn_sent",  "tcp_syn_recv",
    "tcp_fin_wait1",  "tcp_fin_wait2",   "tcp_time_wait", "tcp_close",
    "tcp_close_wait", "tcp_last_ack",    "tcp_listen",    "tcp_closing",
};

enum { TCP4, TCP6, UDP4, UDP6, NTABLES };
static const struct {
  const char *rel;
  bool tcp;
  bool ipv6; /* absent when the kernel runs without IPv6: no sockets */
} tables[NTABLES] = {
    {"net/tcp", true, false},
    {"net/tcp6", true, true},
    {"net/udp", false, false},
    {"net/udp6", false, true},
};

typedef struct {
  uint64_t tcp[TCP_STATES];
  uint64_t udp;
  unsigned bad;          /* TCP entries without a readable state */
  const char *bad_table; /* the first table that had one */
} sock_counts;

typedef struct {
  char path[NTABLES][PATH_MAX];
  char *buf; /* CHUNK bytes */
} netstat_state;

/* ---- counting ------------------------------------------------------------ */

static const char *skip_blanks(const char *p, const char *end) {
  while (p < end && *p == ' ')
    p++;
  return p;
}

static const char *skip_token(const char *p, const char *end) {
  while (p < end && *p != ' ')
    p++;
  return p;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* The two-digit hex state at p ("0A"), or -1. */
static int parse_state(const char *p, const char *end) {
  if (end - p < 2 || (end - p > 2 && p[2] != ' '))
    return -1;
  int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Counts one line of a table: "   12: <local> <remote> <state> ...". The
 * head ("  sl  local_address ...") and blank lines have no "<slot>:". */
static void count_line(const char *p, const char *end, bool tcp, sock_counts *c,
                       const char *table) {
  p = skip_blanks(p, end);
  const char *digits = p;
  while (p < end && *p >= '0' && *p <= '9')
    p++;
  if (p == digits || p == end || *p != ':')
    return;
  if (!tcp) {
    c->udp++;
    return;
  }
  p = skip_token(skip_blanks(p + 1, end), end); /* the local address */
  p = skip_token(skip_blanks(p, end), end);     /* the remote address */
  int state = parse_state(skip_blanks(p, end), end);
  if (state < 0) {
    if (c->bad++ == 0)
      c->bad_table = table;
    return;
  }
  c->tcp[state < TCP_STATES ? state : 0]++;
}

/* Counts the complete lines of buf[0, len) and moves the unfinished last
 * one to the front; returns its length. A line that fills the whole buffer
 * (none in a kernel's table) is counted from its start, and *skip set
 * until its end is passed. */
static size_t count_lines(char *buf, size_t len, bool tcp, sock_counts *c, const char *table,
                          bool *skip) {
  const char *p = buf, *end = buf + len, *nl;
  while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
    if (!*skip)
      count_line(p, nl, tcp, c, table);
    *skip = false;
    p = nl + 1;
  }
  size_t rest = (size_t)(end - p);
  if (rest == CHUNK) {
    if (!*skip)
      count_line(p, end, tcp, c, table);
    *skip = true;
  }
  if (*skip)
    return 0;
  memmove(buf, p, rest);
  return rest;
}

/* Counts the entries of one table. 0 or a negative errno. */
static int count_table(netstat_state *s, int t, sock_counts *c) {
  const char *path = s->path[t];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  size_t have = 0;
  bool skip = false;
  int rc = 0;
  for (;;) {
    ssize_t n = read(fd, s->buf + have, CHUNK - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = -errno;
      break;
    }
    if (n == 0) { /* a last line without a newline */
      if (have && !skip)
        count_line(s->buf, s->buf + have, tables[t].tcp, c, path);
      break;
    }
    have = count_lines(s->buf, have + (size_t)n, tables[t].tcp, c, path, &skip);
  }
  close(fd);
  return rc;
}

/* ---- gather -------------------------------------------------------------- */

static tower_metric *build_metric(const sock_counts *c, bool with_tcp, bool with_udp) {
  tower_metric *m = tower_metric_new("netstat", TOWER_TIME_UNSET);
  if (!m)
    return NULL;
  int rc = 0;
  for (int i = 0; rc == 0 && with_tcp && i < TCP_STATES; i++)
    rc = tower_metric_add_int(m, tcp_fields[i], (int64_t)c->tcp[i]);
  if (rc == 0 && with_udp)
    rc = tower_metric_add_int(m, "udp_socket", (int64_t)c->udp);
  if (rc) {
    tower_metric_free(m);
    return NULL;
  }
  return m;
}

/* What a failed read costs: the fields of the protocol left out. */
static const char *left_out(const bool ok[2]) {
  if (!ok[0] && !ok[1])
    return "nothing reported";
  return ok[1] ? "udp_socket left out" : "the tcp_* fields left out";
}

/* One error for every table that could not be read. */
static void report_unread(tower_acc *acc, const netstat_state *s, int first, int err,
                          unsigned failed, const bool ok[2]) {
  char others[64] = "";
  if (failed > 1)
    snprintf(others, sizeof others, " and %u other socket table%s", failed - 1,
             plural_s(failed - 1));
  tower_acc_error(acc,
                  "cannot read %s%s: %s (set HOST_PROC when the host's /proc is mounted "
                  "elsewhere); %s",
                  s->path[first], others, strerror(-err), left_out(ok));
}

static int netstat_gather(void *state, tower_acc *acc) {
  netstat_state *s = state;
  sock_counts c = {.bad = 0};
  bool ok[2] = {true, true}; /* [0] udp, [1] tcp */
  int err = 0, first = -1;
  unsigned failed = 0;
  for (int t = 0; t < NTABLES; t++) {
    int rc = count_table(s, t, &c);
    if (rc == 0 || (rc == -ENOENT && tables[t].ipv6))
      continue;
    if (failed++ == 0) {
      first = t;
      err = rc;
    }
    ok[tables[t].tcp] = false; /* a partial count would be a wrong one */
  }
  if (failed)
    report_unread(acc, s, first, err, failed, ok);
  if (c.bad)
    tower_acc_error(acc, "%s: %u TCP entr%s without a readable state; is it a Linux socket table?",
                    c.bad_table, c.bad, c.bad == 1 ? "y" : "ies");
  if (!ok[0] && !ok[1])
    return err;
  tower_metric *m = build_metric(&c, ok[1], ok[0]);
  return m ? tower_acc_add(acc, m) : -ENOMEM;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void netstat_destroy(void *state) {
  netstat_state *s = state;
  if (!s)
    return;
  free(s->buf);
  free(s);
}

static int netstat_configure(netstat_state *s, tower_ctx *ctx, const tower_config *cfg) {
  host_roots roots;
  int rc = host_roots_load(&roots, ctx, cfg);
  if (rc)
    return rc;
  for (int t = 0; t < NTABLES; t++)
    if (!host_path(s->path[t], sizeof s->path[t], roots.proc, tables[t].rel))
      return tower_config_error(cfg, NULL, "HOST_PROC is too long");
  s->buf = malloc(CHUNK);
  return s->buf ? 0 : -ENOMEM;
}

static int netstat_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  netstat_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  int rc = netstat_configure(s, ctx, cfg);
  if (rc) {
    netstat_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "netstat",
    .description = "TCP sockets by state and UDP sockets, from /proc/net/{tcp,udp}[6]",
    .version = PLUGIN_VERSION,
    .options = NULL, /* none, as Telegraf's */
    .init = netstat_init,
    .destroy = netstat_destroy,
    .gather = netstat_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
