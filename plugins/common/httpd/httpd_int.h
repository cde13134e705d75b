/* httpd internals, shared by httpd.c (the daemon and the request checks),
 * httpd_conn.c (connection slots, deadlines, the reaper), httpd_auth.c
 * (basic auth, client certificates), httpd_net.c (listen, ip_range) and
 * httpd_config.c (options). Not for plugins: they include httpd.h. */
#ifndef TOWER_HTTPD_INT_H
#define TOWER_HTTPD_INT_H

#include "httpd.h"

/* ---- listen (httpd_net.c) ----------------------------------------------- */

/* Opens a listening TCP socket for `listen` ("host:port", ":port",
 * "[::1]:port"; port 0 picks a free one), the value of option `key`.
 * Returns the socket, or a negative errno after writing the reason to err
 * (err_size bytes). *port receives the bound port, *v6 whether the socket
 * is IPv6. */
int httpd_listen(const char *listen, const char *key, int backlog, uint16_t *port, bool *v6,
                 char *err, size_t err_size);

/* ---- connections and deadlines (httpd_conn.c) ---------------------------- */

typedef struct httpd_conns httpd_conns;

/* Where a connection is in its request cycle; each phase has a deadline. */
typedef enum httpd_phase {
  HTTPD_AWAIT,   /* TLS handshake, idle keep-alive, request line, headers */
  HTTPD_BODY,    /* headers in, the body being read */
  HTTPD_RESPOND, /* request complete, the response being sent */
} httpd_phase;

/* A table of `max` connection slots and its reaper thread. NULL on failure
 * (logged). */
httpd_conns *httpd_conns_new(tower_ctx *ctx, unsigned max, int64_t read_timeout,
                             int64_t write_timeout);
/* After MHD_stop_daemon (no connection left): stops the reaper, frees. */
void httpd_conns_free(httpd_conns *t);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the table. */
void httpd_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe);
/* When a request ends (httpd.c's MHD_OPTION_NOTIFY_COMPLETED callback
 * calls it; cls is the table): the next request on this connection gets a
 * new read_timeout. */
void httpd_conns_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                           enum MHD_RequestTerminationCode toe);

/* Moves the connection forward to `phase` (if it is not there or past it
 * already), with that phase's deadline from now. Returns the phase it was
 * in (HTTPD_AWAIT on the first call of a request), or -1 when the
 * connection has no slot. */
int httpd_conn_enter(httpd_conns *t, struct MHD_Connection *c, httpd_phase phase);
/* The refusal status recorded for the current request (0: none). */
unsigned httpd_conn_refusal(httpd_conns *t, struct MHD_Connection *c);
void httpd_conn_set_refusal(httpd_conns *t, struct MHD_Connection *c, unsigned status);

/* ---- checks (httpd_auth.c) ------------------------------------------------ */

/* The longest user:password accepted, in decoded bytes. */
#define HTTPD_CREDENTIALS_MAX 1024u

/* True when `value` (len bytes, an Authorization header value) is
 * "Basic base64(user:password)" with exactly these user and password bytes.
 * The time taken depends on the configured lengths only. */
bool httpd_basic_auth_ok(const char *value, size_t len, const char *user, size_t ulen,
                         const char *pass, size_t plen);

/* True when the TLS client's chain verifies against the trusted CAs. */
bool httpd_client_cert_ok(tower_ctx *ctx, struct MHD_Connection *c);

/* Checks certificate, key and CA PEM text up front, for a clear message
 * instead of libmicrohttpd's failure to start. 0 or -EINVAL (logged). */
int httpd_check_tls(tower_ctx *ctx, const httpd_cfg *cfg);

#endif
