/* httpd: the HTTP(S) server of every tower plugin that serves HTTP
 * (outputs.prometheus; an influxdb_listener or a health endpoint build on
 * it the same way). A static convenience library linked into each such
 * plugin (plugins/common/httpd/Makefile.inc), on libmicrohttpd and GnuTLS.
 *
 * It owns everything an endpoint exposed to the network must get right, so
 * that no plugin has to:
 *   - listen = "host:port", ":port" (dual-stack), "[v6]:port"; port 0 picks
 *     a free port (httpd_port() tells which);
 *   - HTTPS from PEM text, optionally mutual TLS (the client chain must
 *     verify against tls_allowed_cacerts, else 403);
 *   - ip_range: clients outside the ranges are disconnected at accept;
 *   - HTTP basic auth, compared in constant time over the decoded bytes and
 *     their lengths (a NUL in a password is just another byte), else 401;
 *   - hard deadlines, whatever the client's activity: the TLS handshake and
 *     the request headers within read_timeout of the accept (or of the end
 *     of the previous response on a kept-alive connection), the request
 *     body within read_timeout of the headers, the response within
 *     write_timeout of the request. A connection past its deadline is cut.
 *   - max_connections in all (when full, the connection idle longest makes
 *     room), max_connections_per_ip from one address.
 *
 * Connection model, and why. libmicrohttpd runs a few event-loop threads
 * (a thread pool of poll() loops), not a thread per connection. An idle or
 * trickling connection then costs a socket and a small buffer, not a
 * thread, so the connection limit can be in the hundreds, and a scrape is
 * answered by whichever loop accepted it instead of waiting for a thread
 * that slow clients hold. poll(), not epoll: libmicrohttpd 0.9.75's epoll
 * loop keeps a TLS connection whose handshake is incomplete on its ready
 * list (GnuTLS reads the socket itself, so the loop never learns that the
 * read would block) and spins a core for as long as a client trickles a
 * handshake; poll() asks the kernel on each turn, and at a few thousand
 * connections its cost per turn is small. libmicrohttpd's
 * own MHD_OPTION_CONNECTION_TIMEOUT is an idle timeout, which every byte of
 * a trickling client resets; the deadlines above are kept here instead: a
 * slot per connection (MHD_OPTION_NOTIFY_CONNECTION) records its phase and
 * deadline, and a reaper thread shutdown()s the socket of a connection past
 * its deadline, so that libmicrohttpd sees the end of the stream and closes
 * the connection in its own thread (libmicrohttpd 0.9.75 has no call to
 * close a connection from outside). The per-address limit is libmicrohttpd's
 * MHD_OPTION_PER_IP_CONNECTION_LIMIT: a connection over it is closed right
 * after accept. And when a connection takes the last free slot of
 * max_connections, the connection that has waited longest without sending
 * a request is cut to make room (requests in progress are never cut).
 * Together: one address can hold at most max_connections_per_ip
 * connections, each for at most read_timeout without sending a complete
 * request; attackers from many addresses cannot fill the server either,
 * since a new connection displaces the oldest idle one; so a scraper from
 * another address always gets a connection and a loop that is not blocked.
 * (On loopback, 127.0.0.2 and 127.0.0.1 are different addresses.) A kept-
 * alive scraper connection may be displaced between scrapes under such an
 * attack; the scraper reconnects for its next scrape.
 *
 * Request flow: accept (ip_range, limits) -> TLS handshake -> request
 * headers -> client certificate and basic auth checks (or the plugin's
 * authorize hook, for tokens and credentials in the query) -> the plugin's
 * handler, which may suspend the request until its answer is ready. A
 * refused request has its body read and dropped, and its 401/403 answered
 * once the request is complete, so the connection stays usable.
 *
 * Use:
 *   static const tower_option options[] = {
 *       {.name = "listen", ...}, HTTPD_OPTIONS, ..., TOWER_OPTION_END};
 *   httpd_cfg hc;
 *   if (httpd_cfg_load(cfg, "listen", &hc) == 0) {
 *     hc.handler = my_handler; hc.handler_cls = state;
 *     rc = httpd_start(ctx, &hc, &server);
 *   }
 *   ... httpd_stop(server); httpd_cfg_free(&hc);
 */
#ifndef TOWER_HTTPD_H
#define TOWER_HTTPD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <tower/tower.h>

/* The option entries every HTTP server plugin takes (Telegraf's names where
 * Telegraf has them), spliced into the plugin's table. The listen address
 * is the plugin's own entry: its name differs between plugins. */
#define HTTPD_OPTIONS                                                                              \
  {.name = "basic_username",                                                                       \
   .type = TOWER_OPT_STRING,                                                                       \
   .help = "require HTTP basic authentication with this user name (no ':')"},                      \
      {.name = "basic_password",                                                                   \
       .type = TOWER_OPT_STRING,                                                                   \
       .flags = TOWER_OPT_SECRET,                                                                  \
       .help = "password for basic_username"},                                                     \
      {.name = "tls_cert",                                                                         \
       .type = TOWER_OPT_STRING,                                                                   \
       .help = "serve HTTPS with this PEM certificate (chain) file"},                              \
      {.name = "tls_key", .type = TOWER_OPT_STRING, .help = "PEM private key file of tls_cert"},   \
      {.name = "tls_allowed_cacerts",                                                              \
       .type = TOWER_OPT_STRINGS,                                                                  \
       .help = "PEM CA files; clients must present a certificate signed by one (mutual TLS)"},     \
      {.name = "ip_range",                                                                         \
       .type = TOWER_OPT_STRINGS,                                                                  \
       .help = "only these CIDR ranges may connect (\"10.0.0.0/8\", \"fd00::/8\"); empty: any"},   \
      {.name = "read_timeout",                                                                     \
       .type = TOWER_OPT_DURATION,                                                                 \
       .default_value = "10s",                                                                     \
       .min = "1s",                                                                                \
       .max = "1h",                                                                                \
       .help = "hard deadline for the TLS handshake and request headers (from the accept or the "  \
               "previous response), and again for the body; the connection is then cut"},          \
      {.name = "write_timeout",                                                                    \
       .type = TOWER_OPT_DURATION,                                                                 \
       .default_value = "10s",                                                                     \
       .min = "1s",                                                                                \
       .max = "1h",                                                                                \
       .help = "hard deadline for sending a response; the connection is then cut"},                \
      {.name = "max_connections",                                                                  \
       .type = TOWER_OPT_INT,                                                                      \
       .default_value = "512",                                                                     \
       .min = "1",                                                                                 \
       .max = "65536",                                                                             \
       .help = "connections open at once; when full, a new one displaces the one idle longest"},   \
  {                                                                                                \
    .name = "max_connections_per_ip", .type = TOWER_OPT_INT, .default_value = "16", .min = "0",    \
    .max = "65536",                                                                                \
    .help = "connections open at once from one client address (0: no limit); more are "            \
            "closed at accept"                                                                     \
  }

/* An ip_range entry. */
typedef struct httpd_cidr {
  int family;             /* AF_INET or AF_INET6 */
  unsigned prefix;        /* bits */
  unsigned char addr[16]; /* network address, masked */
} httpd_cidr;

/* Parses "10.0.0.0/8", "fd00::/8", "192.168.1.7" (a /32), "::1". 0 or
 * -EINVAL. */
int httpd_cidr_parse(const char *text, httpd_cidr *out);
/* True when `sa` (IPv4, IPv6, or IPv4-mapped IPv6) falls in any range. */
bool httpd_cidr_match(const httpd_cidr *v, size_t n, const struct sockaddr *sa);

typedef struct httpd_cfg {
  /* Filled by httpd_cfg_load() from HTTPD_OPTIONS and the listen key. The
   * strings are borrowed from the config block (they live as long as the
   * plugin instance), except the PEM texts and ranges, which are owned
   * here until httpd_cfg_free(). */
  const char *listen;
  const char *listen_key;          /* the option's name, for messages */
  const char *username, *password; /* NULL: no basic auth */
  char *tls_cert, *tls_key;        /* PEM text; NULL: plain HTTP */
  char *tls_ca;                    /* PEM text of client CAs; NULL: no mutual TLS */
  httpd_cidr *ranges;              /* ip_range; nranges == 0: everyone */
  size_t nranges;
  int64_t read_timeout, write_timeout; /* ns */
  unsigned max_connections, max_per_ip;

  /* Set by the plugin. */
  const char *realm; /* basic auth realm; NULL: "tower" */
  unsigned threads;  /* event-loop threads; 0: HTTPD_THREADS */
  /* Called for each request that passed the checks, exactly as
   * libmicrohttpd calls an access handler: first when the headers are in
   * (*req_cls NULL), then with each piece of the body, then once with
   * *upload_size 0; queue the response on that last call. */
  MHD_AccessHandlerCallback handler;
  void *handler_cls;

  /* Optional, for handlers that keep per-request state or accept other
   * credentials than basic auth (inputs.influxdb_listener). */

  /* Decides on a request's headers whether it may proceed, in place of the
   * basic auth check: `basic_ok` says whether the request's basic auth
   * matched basic_username and basic_password (true when they are unset).
   * Return false to refuse it with 401. Called with handler_cls on an
   * event-loop thread; the client certificate check comes first and
   * stays. NULL: basic_ok decides. */
  bool (*authorize)(void *cls, struct MHD_Connection *c, const char *url, bool basic_ok);
  /* Called with handler_cls when a request the handler saw ends, answered
   * or not (the client went away, the server stops): free *req_cls here. */
  MHD_RequestCompletedCallback completed;
  /* The handler may MHD_suspend_connection() a request until its answer is
   * ready (libmicrohttpd's MHD_ALLOW_SUSPEND_RESUME). It must resume every
   * suspended connection before httpd_stop() (libmicrohttpd cannot stop
   * with suspended connections). A suspended request is in the response
   * phase: write_timeout, counted from the end of the request, still cuts
   * it, which the client sees when the request is resumed. */
  bool suspend;
} httpd_cfg;

#define HTTPD_THREADS 4u

/* Reads HTTPD_OPTIONS and `listen_key` of `cfg` into *out (zeroed first):
 * reads the PEM files, parses ip_range, checks that the options pair up.
 * 0, or a negative errno after reporting the option at its file:line.
 * httpd_cfg_free() releases *out either way. */
int httpd_cfg_load(const tower_config *cfg, const char *listen_key, httpd_cfg *out);
void httpd_cfg_free(httpd_cfg *c);

typedef struct httpd httpd;

/* Starts serving. `cfg` is copied; its strings must outlive the server.
 * 0, or a negative errno after logging why (for ctx). */
int httpd_start(tower_ctx *ctx, const httpd_cfg *cfg, httpd **out);
/* Stops accepting, closes every connection (a handler running finishes
 * first) and frees the server. NULL is fine. */
void httpd_stop(httpd *h);
/* The bound port (useful with port 0). */
uint16_t httpd_port(const httpd *h);

/* Compares a credential the client gave (`given`, glen bytes) with the
 * configured one in time that depends only on wlen, the lengths included:
 * for tokens and passwords a plugin checks itself (see authorize). */
bool httpd_secret_equal(const char *given, size_t glen, const char *want, size_t wlen);

/* Queues a short text/plain response (a static string). */
enum MHD_Result httpd_reply_text(struct MHD_Connection *c, unsigned status, const char *text);

#endif
