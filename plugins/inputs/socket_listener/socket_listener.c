/* inputs.socket_listener: a service input that receives metrics pushed to
 * a TCP, UDP or unix socket, in any data format tower parses, like
 * Telegraf's inputs.socket_listener (same options; README.md has the
 * deviations).
 *
 * This file reads the options and starts and stops the service; sl_loop.c
 * runs it (socket_listener.h maps the other files). Decisions:
 *   - the socket is bound in start, not init, and closed in stop: a reload
 *     that changes the block then frees the port before the new instance
 *     takes it, and clients see a refused connection while the agent is
 *     down rather than a backlog nobody reads; init resolves and checks all
 *     it can (address, TLS files, the unix socket's directory), so that
 *     --config-check catches what start would fail on;
 *   - one event-loop thread, whatever the number of connections;
 *   - metrics are committed once per turn of the loop (and every
 *     SL_COMMIT_BATCH), not per line: a commit runs the processors and
 *     takes the outputs' buffer locks.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../../common/check/path_check.h"
#include "../../common/plural.h"
#include "socket_listener.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "service_address",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "where to listen: tcp://:8094, tcp4://, tcp6://[::1]:8094, udp://:8094, udp4://, "
             "udp6://, unix:///path, unixpacket:///path, unixgram:///path"},
    {.name = "max_connections",
     .type = TOWER_OPT_INT,
     .default_value = "0",
     .min = "0",
     .max = "1000000",
     .help = "stream sockets: connections open at once (0: no limit); more are closed at accept"},
    {.name = "read_timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "0s",
     .min = "0s",
     .help = "stream sockets: close a connection that sent no complete line for this long "
             "(0: never)"},
    {.name = "read_buffer_size",
     .type = TOWER_OPT_SIZE,
     .default_value = "0",
     .min = "0",
     .max = "1GiB",
     .help = "socket receive buffer (SO_RCVBUF; capped by net.core.rmem_max); 0: the system's"},
    {.name = "keep_alive_period",
     .type = TOWER_OPT_DURATION,
     .min = "0s",
     .help = "TCP: time between keep-alive probes (0: off); unset: the system's setting"},
    {.name = "socket_mode",
     .type = TOWER_OPT_STRING,
     .help = "unix sockets: file mode in octal, e.g. \"660\""},
    {.name = "max_line_size",
     .type = TOWER_OPT_SIZE,
     .default_value = "64KiB",
     .min = "16B",
     .max = "1MiB",
     .help = "stream sockets: longer lines are errors, skipped (the connection goes on)"},
    {.name = "content_encoding",
     .type = TOWER_OPT_ENUM,
     .default_value = "identity",
     .choices = "identity|gzip|zlib",
     .help = "compression of the data: a gzip (or zlib) stream per connection, or per datagram"},
    {.name = "max_decompression_size",
     .type = TOWER_OPT_SIZE,
     .default_value = "500MB",
     .min = "1B",
     .help = "datagrams: the most a compressed datagram may inflate to; larger ones are skipped"},
    {.name = "tls_cert",
     .type = TOWER_OPT_STRING,
     .help = "stream sockets: serve TLS with this PEM certificate (chain) file"},
    {.name = "tls_key", .type = TOWER_OPT_STRING, .help = "PEM private key file of tls_cert"},
    {.name = "tls_allowed_cacerts",
     .type = TOWER_OPT_STRINGS,
     .help = "PEM CA files; clients must present a certificate signed by one"},
    {.name = "tls_min_version",
     .type = TOWER_OPT_ENUM,
     .default_value = "TLS12",
     .choices = "TLS10|TLS11|TLS12|TLS13",
     .help = "oldest TLS version accepted"},
    TOWER_OPTION_END,
};

/* ---- options ------------------------------------------------------------ */

static const tower_setting *at(const sl_state *s, const char *key) {
  return tower_config_setting(s->cfg, key);
}

static int read_mode(sl_state *s) {
  const char *m = tower_config_string(s->cfg, "socket_mode");
  if (!m || !*m) /* Telegraf's default is "": leave the mode alone */
    return 0;
  if (s->addr.family != AF_UNIX)
    return tower_config_error(s->cfg, at(s, "socket_mode"),
                              "socket_mode applies to unix sockets only, not to %s://; remove it",
                              s->addr.scheme);
  char *end;
  unsigned long v = strtoul(m, &end, 8);
  if (*end || end == m || v > 07777 || m[0] == '-' || m[0] == '+')
    return tower_config_error(s->cfg, at(s, "socket_mode"),
                              "socket_mode \"%s\" is not a file mode in octal; write e.g. \"660\"",
                              m);
  s->mode = (mode_t)v;
  s->mode_set = true;
  return 0;
}

static int read_address(sl_state *s) {
  char why[256];
  s->address = tower_config_string(s->cfg, "service_address");
  if (sl_addr_parse(s->address, &s->addr, why, sizeof why) == 0)
    return 0;
  return tower_config_error(s->cfg, at(s, "service_address"), "service_address \"%s\": %s",
                            s->address, why);
}

/* Options that make sense for one kind of socket only are errors on the
 * other kind when they would give a false sense of safety (TLS). */
static int check_kind(sl_state *s) {
  if (s->tls && !s->addr.stream)
    return tower_config_error(s->cfg, at(s, "tls_cert"),
                              "TLS needs a stream socket (tcp, unix); %s:// datagrams are not "
                              "encrypted; remove the tls_* options or listen on tcp",
                              s->addr.scheme);
  return 0;
}

static sl_encoding encoding(const char *name) {
  return strcmp(name, "gzip") == 0 ? SL_GZIP : strcmp(name, "zlib") == 0 ? SL_ZLIB : SL_IDENTITY;
}

static void read_options(sl_state *s) {
  const tower_config *cfg = s->cfg;
  s->max_conns = (size_t)tower_config_int(cfg, "max_connections");
  s->read_timeout = tower_config_duration(cfg, "read_timeout");
  s->keepalive_set = tower_config_isset(cfg, "keep_alive_period");
  s->keepalive = tower_config_duration(cfg, "keep_alive_period");
  s->rcvbuf = tower_config_size(cfg, "read_buffer_size");
  s->max_line = (size_t)tower_config_size(cfg, "max_line_size");
  s->encoding = encoding(tower_config_string(cfg, "content_encoding"));
  s->max_inflated = tower_config_size(cfg, "max_decompression_size");
  s->data_format = tower_config_string(cfg, "data_format");
  if (!s->data_format)
    s->data_format = "influx";
  /* Line formats stream through a parser per connection; any other format
   * (json, value, and formats added later) takes one line as a document. */
  s->per_message =
      strcmp(s->data_format, "influx") != 0 && strcmp(s->data_format, "prometheus") != 0;
}

/* --config-check: the directory of a unix socket must let tower create
 * it there. */
static int check_socket_dir(sl_state *s) {
  if (s->addr.family != AF_UNIX || s->addr.abstract)
    return 0;
  char copy[sizeof s->addr.path], why[PATH_WHY_MAX];
  memcpy(copy, s->addr.path, sizeof copy);
  const char *dir = dirname(copy);
  int rc = path_check(dir, PATH_DIR, W_OK | X_OK, why, sizeof why);
  if (rc == 0)
    return 0;
  return tower_config_error(s->cfg, at(s, "service_address"),
                            "service_address \"%s\": cannot create the socket: %s; %s", s->address,
                            why, path_check_hint(rc));
}

/* ---- init / destroy ----------------------------------------------------- */

static void sl_destroy(void *state) {
  sl_state *s = state;
  tower_parser_free(s->msg_parser);
  sl_tls_free(s->tls);
  free(s);
}

static int sl_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  sl_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->cfg = cfg;
  s->lfd = s->ep = s->wake = -1;
  read_options(s);
  int rc = read_address(s);
  if (rc == 0)
    rc = read_mode(s);
  if (rc == 0)
    rc = sl_tls_load(cfg, &s->tls);
  if (rc == 0)
    rc = check_kind(s);
  if (rc == 0 && tower_ctx_check_only(ctx))
    rc = check_socket_dir(s);
  if (rc == 0)
    rc = tower_parser_new(ctx, cfg, &s->msg_parser);
  /* json and value data carry no measurement name; Telegraf's is the
   * plugin's name. */
  if (rc == 0)
    rc = tower_parser_set_default_name(s->msg_parser, "socket_listener");
  if (rc) {
    sl_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* ---- start / stop ------------------------------------------------------- */

static void release(sl_state *s) {
  if (s->ep >= 0)
    close(s->ep);
  if (s->wake >= 0)
    close(s->wake);
  s->ep = s->wake = -1;
  sl_unlisten(s);
  sl_dgram_teardown(s);
  free(s->rbuf);
  free(s->zbuf);
  s->rbuf = s->zbuf = NULL;
}

static int watch(sl_state *s, int fd, void *tag) {
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
  return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

static int prepare(sl_state *s) {
  int rc = sl_listen(s);
  if (rc)
    return rc;
  s->rbuf = malloc(SL_READ_SIZE);
  s->zbuf = s->encoding ? malloc(SL_READ_SIZE) : NULL;
  if (!s->rbuf || (s->encoding && !s->zbuf) || sl_dgram_setup(s))
    return -ENOMEM;
  s->ep = epoll_create1(EPOLL_CLOEXEC);
  s->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->ep < 0 || s->wake < 0 || (rc = watch(s, s->lfd, &s->lfd)) ||
      (rc = watch(s, s->wake, &s->wake))) {
    rc = rc ? rc : -errno;
    tower_error(s->ctx, "cannot set up the event loop: %s", strerror(-rc));
  }
  return rc;
}

static int sl_start(void *state, tower_acc *acc) {
  sl_state *s = state;
  s->acc = acc;
  atomic_store(&s->stop, false);
  s->connections = s->refused = s->metrics = s->lines_too_long = 0;
  s->msg_source = UINT64_MAX; /* names nothing yet */
  int rc = prepare(s);
  if (rc == 0 && (rc = -pthread_create(&s->thread, NULL, sl_loop_main, s)) != 0)
    tower_error(s->ctx, "cannot start the listener thread: %s", strerror(-rc));
  if (rc) {
    release(s);
    return rc;
  }
  s->thread_started = true;
  tower_info(s->ctx, "listening on %s (%s data%s)", s->where, s->data_format,
             sl_tls_describe(s->tls));
  return 0;
}

static void sl_stop(void *state) {
  sl_state *s = state;
  if (!s->thread_started)
    return;
  atomic_store(&s->stop, true);
  uint64_t one = 1;
  if (write(s->wake, &one, sizeof one) < 0) /* the eventfd counter cannot overflow here */
    tower_debug(s->ctx, "waking the listener thread: %s", strerror(errno));
  pthread_join(s->thread, NULL); /* it closed the connections and committed */
  s->thread_started = false;
  release(s);
  s->acc = NULL;
  if (s->addr.stream)
    tower_info(s->ctx,
               "stopped after %llu connection%s (%llu refused), %llu metric%s, %llu line%s too "
               "long",
               (unsigned long long)s->connections, plural_s(s->connections),
               (unsigned long long)s->refused, (unsigned long long)s->metrics, plural_s(s->metrics),
               (unsigned long long)s->lines_too_long, plural_s(s->lines_too_long));
  else
    tower_info(s->ctx, "stopped after %llu metric%s", (unsigned long long)s->metrics,
               plural_s(s->metrics));
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .flags = TOWER_PLUGIN_PARSER,
    .name = "socket_listener",
    .description = "receive metrics pushed over TCP, UDP or unix sockets (TLS, gzip), in any "
                   "data format",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = sl_init,
    .destroy = sl_destroy,
    .start = sl_start,
    .stop = sl_stop,
};

TOWER_PLUGIN_ENTRY(plugin)
