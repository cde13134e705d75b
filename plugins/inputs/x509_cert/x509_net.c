/* Network sources: resolve, connect, (SMTP: greeting, EHLO, STARTTLS),
 * TLS handshake, and keep the chain the server sent.
 *
 * Every socket is non-blocking and every wait is a poll() bounded by the
 * source's deadline (`timeout`, which covers connect + SMTP dialogue +
 * handshake together) and sliced so that an agent stop is seen quickly.
 * Name resolution is the exception: getaddrinfo() cannot be bounded and
 * follows resolv.conf's own timeout and attempts.
 *
 * The handshake never verifies (SSL_VERIFY_NONE): the chain is verified
 * afterwards, certificate by certificate (x509_verify.c), so that an
 * expired, self-signed or wrong-host certificate is reported with its
 * error instead of a failed handshake that would hide it. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "x509_cert.h"

#define SLICE_MS 100       /* longest poll() between two looks at "stopping" */
#define SMTP_LINE_MAX 1024 /* RFC 5321 allows 512; be lenient */
#define SMTP_LINES_MAX 100 /* lines in one multi-line reply */
#define SHOWN_MAX 120      /* bytes of a server's text quoted in errors */

typedef struct conn {
  const x509_state *s;
  const x509_source *src;
  int fd;
  int64_t deadline; /* CLOCK_MONOTONIC ns */
  char *err;
  size_t errlen;
  char phase[192]; /* what is going on, for a timeout message */
  char in[SMTP_LINE_MAX];
  size_t inlen; /* SMTP bytes received and not consumed yet */
} conn;

static void fail(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(conn *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, c->errlen, fmt, ap);
  va_end(ap);
}

static void set_phase(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_phase(conn *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->phase, sizeof c->phase, fmt, ap);
  va_end(ap);
}

/* "5s", "1.5s", "250ms". */
static void fmt_duration(char *out, size_t len, int64_t ns) {
  if (ns >= 1000000000LL)
    snprintf(out, len, "%gs", (double)ns / 1e9);
  else
    snprintf(out, len, "%gms", (double)ns / 1e6);
}

/* A server's text made printable and short, for an error message. */
static void shown(char *out, size_t len, const char *text) {
  size_t k = 0;
  for (size_t i = 0; text[i] && k + 4 < len && i < SHOWN_MAX; i++)
    out[k++] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
  if (strlen(text) > SHOWN_MAX && k + 4 < len) {
    memcpy(out + k, "...", 3);
    k += 3;
  }
  out[k] = '\0';
}

/* Waits until the socket is ready for `events`. -ETIMEDOUT at the deadline,
 * -ECANCELED once the agent is stopping. */
static int wait_fd(conn *c, short events) {
  for (;;) {
    if (tower_ctx_stopping(c->s->ctx))
      return -ECANCELED;
    int64_t left = c->deadline - tower_mono_ns();
    if (left <= 0)
      return -ETIMEDOUT;
    int ms = left > (int64_t)SLICE_MS * 1000000 ? SLICE_MS : (int)((left + 999999) / 1000000);
    struct pollfd p = {.fd = c->fd, .events = events};
    int n = poll(&p, 1, ms);
    if (n > 0)
      return 0; /* POLLERR/POLLHUP too: the next call on the socket says what */
    if (n < 0 && errno != EINTR)
      return -errno;
  }
}

/* ---- connect ------------------------------------------------------------------ */

static int connect_addr(conn *c, const struct addrinfo *ai) {
  c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (c->fd < 0)
    return -errno;
  if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
    return 0;
  if (errno != EINPROGRESS)
    return -errno;
  int rc = wait_fd(c, POLLOUT);
  if (rc)
    return rc;
  int soerr = 0;
  socklen_t sl = sizeof soerr;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
    return -errno;
  return -soerr;
}

static const char *connect_hint(int err) {
  switch (err) {
  case ECONNREFUSED:
    return " (is the server running, and is this its port?)";
  case ENETUNREACH:
  case EHOSTUNREACH:
    return " (check the address and the routes to it)";
  default:
    return "";
  }
}

/* Tries every address of the host in turn, within the one deadline. */
static int connect_any(conn *c) {
  const x509_source *src = c->src;
  struct addrinfo hints = {.ai_family = src->family, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  set_phase(c, "while resolving %s", src->host);
  int g = getaddrinfo(src->host, src->port, &hints, &res);
  if (g) {
    fail(c, "cannot resolve host name %s: %s", src->host,
         g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
    return -EHOSTUNREACH;
  }
  int rc = -EHOSTUNREACH;
  char addr[NI_MAXHOST] = "?";
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
    set_phase(c, "while connecting to %s port %s", addr, src->port);
    rc = connect_addr(c, ai);
    if (rc == 0 || rc == -ETIMEDOUT || rc == -ECANCELED)
      break;
    close(c->fd);
    c->fd = -1;
  }
  freeaddrinfo(res);
  if (rc && rc != -ETIMEDOUT && rc != -ECANCELED)
    fail(c, "connect to %s port %s failed: %s%s", addr, src->port, strerror(-rc),
         connect_hint(-rc));
  return rc;
}

/* ---- SMTP STARTTLS ---------------------------------------------------------------- */

/* Receives more SMTP bytes into c->in. */
static int smtp_recv(conn *c) {
  for (;;) {
    ssize_t n = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
    if (n > 0) {
      c->inlen += (size_t)n;
      return 0;
    }
    if (n == 0) {
      fail(c, "the server closed the connection %s", c->phase);
      return -ECONNRESET;
    }
    if (errno != EAGAIN && errno != EINTR) {
      int e = errno;
      fail(c, "receive failed %s: %s", c->phase, strerror(e));
      return -e;
    }
    int rc = wait_fd(c, POLLIN);
    if (rc)
      return rc;
  }
}

/* The next line (CR LF or LF stripped) into `line`. */
static int smtp_line(conn *c, char *line) {
  for (;;) {
    char *nl = memchr(c->in, '\n', c->inlen);
    if (nl) {
      size_t len = (size_t)(nl - c->in);
      memcpy(line, c->in, len);
      line[len && line[len - 1] == '\r' ? len - 1 : len] = '\0';
      c->inlen -= len + 1;
      memmove(c->in, nl + 1, c->inlen);
      return 0;
    }
    if (c->inlen == sizeof c->in) {
      fail(c, "the server sent a line longer than %d bytes %s: not an SMTP server?", SMTP_LINE_MAX,
           c->phase);
      return -EPROTO;
    }
    int rc = smtp_recv(c);
    if (rc)
      return rc;
  }
}

static bool reply_line(const char *line, int *code, bool *last) {
  if (strspn(line, "0123456789") < 3 || (line[3] && line[3] != ' ' && line[3] != '-'))
    return false;
  *code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  *last = line[3] != '-';
  return true;
}

/* One reply, possibly multi-line; its code, and its last line in `text`. */
static int smtp_reply(conn *c, int *code, char *text, size_t textlen) {
  char line[SMTP_LINE_MAX + 1], show[SHOWN_MAX + 8];
  for (int i = 0; i < SMTP_LINES_MAX; i++) {
    int rc = smtp_line(c, line);
    if (rc)
      return rc;
    bool last;
    int lc;
    if (!reply_line(line, &lc, &last) || (i > 0 && lc != *code)) {
      shown(show, sizeof show, line);
      fail(c, "the server does not speak SMTP (%s): got \"%s\"", c->phase, show);
      return -EPROTO;
    }
    *code = lc;
    if (last) {
      shown(text, textlen, line);
      return 0;
    }
  }
  fail(c, "the server sent a reply of more than %d lines %s", SMTP_LINES_MAX, c->phase);
  return -EPROTO;
}

static int smtp_send(conn *c, const char *cmd, const char *arg) {
  char line[300];
  int len = snprintf(line, sizeof line, "%s%s%s\r\n", cmd, arg ? " " : "", arg ? arg : "");
  for (int off = 0; off < len;) {
    ssize_t n = send(c->fd, line + off, (size_t)(len - off), MSG_NOSIGNAL);
    if (n > 0) {
      off += (int)n;
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      int e = errno;
      fail(c, "sending %s failed: %s", cmd, strerror(e));
      return -e;
    }
    int rc = wait_fd(c, POLLOUT);
    if (rc)
      return rc;
  }
  return 0;
}

/* Sends `cmd` and reads its reply; 0 when the code is `want`. */
static int smtp_command(conn *c, const char *cmd, const char *arg, int want, int *code) {
  char text[SHOWN_MAX + 8];
  if (cmd)
    set_phase(c, "while waiting for the reply to %s", cmd);
  else
    set_phase(c, "while waiting for the SMTP greeting");
  int rc = cmd ? smtp_send(c, cmd, arg) : 0;
  if (rc == 0)
    rc = smtp_reply(c, code, text, sizeof text);
  if (rc == 0 && *code != want) {
    fail(c, "the SMTP server answered %s with \"%s\" (expected %d)", cmd ? cmd : "the connection",
         text, want);
    rc = -EPROTO;
  }
  return rc;
}

/* Greeting, EHLO (HELO when refused, as Go's smtp client does), STARTTLS. */
static int smtp_starttls(conn *c) {
  int code = 0;
  int rc = smtp_command(c, NULL, NULL, 220, &code);
  if (rc == 0) {
    code = 0;
    rc = smtp_command(c, "EHLO", c->s->ehlo, 250, &code);
    if (rc == -EPROTO && code >= 500 && code <= 504)
      rc = smtp_command(c, "HELO", c->s->ehlo, 250, &code);
  }
  if (rc == 0)
    rc = smtp_command(c, "STARTTLS", NULL, 220, &code);
  if (rc == 0 && c->inlen) {
    /* These bytes came before encryption: a client that kept them would
     * take them for the server's (STARTTLS command injection,
     * CVE-2011-0411). Refuse rather than guess. */
    fail(c, "the SMTP server sent data after its STARTTLS reply; refusing the connection");
    rc = -EPROTO;
  }
  return rc;
}

/* ---- TLS --------------------------------------------------------------------------- */

static const char *tls_hint(unsigned long e) {
  if (ERR_GET_LIB(e) != ERR_LIB_SSL)
    return "";
  switch (ERR_GET_REASON(e)) {
  case SSL_R_WRONG_VERSION_NUMBER:
  case SSL_R_PACKET_LENGTH_TOO_LONG:
  case SSL_R_UNKNOWN_PROTOCOL:
    return " (is this a TLS port? A server that starts in plain text and upgrades with "
           "STARTTLS needs smtp://)";
  case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
  case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    return " (the server wants a client certificate: set tls_cert and tls_key)";
  case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    return " (no protocol version or cipher in common, or the server wants a client "
           "certificate: see tls_cert and tls_key)";
  default:
    return "";
  }
}

static int tls_failed(conn *c, SSL *ssl, int r) {
  int e = SSL_get_error(ssl, r);
  unsigned long le = ERR_peek_last_error();
  const char *why;
  if (le)
    why = ERR_reason_error_string(le) ? ERR_reason_error_string(le) : "unknown error";
  else if (e == SSL_ERROR_SYSCALL && errno)
    why = strerror(errno);
  else
    why = "the server closed the connection";
  fail(c, "TLS handshake failed: %s%s", why, tls_hint(le));
  ERR_clear_error();
  return -EPROTO;
}

/* A TLS session on the connected socket, with SNI unless the name is an
 * address (RFC 6066; Go's client leaves it out too). */
static SSL *new_session(conn *c) {
  SSL *ssl = SSL_new(c->s->ssl);
  if (!ssl || !SSL_set_fd(ssl, c->fd)) {
    SSL_free(ssl);
    fail(c, "cannot start a TLS session: out of memory");
    return NULL;
  }
  const char *name = c->s->server_name ? c->s->server_name : c->src->host;
  if (!x509_is_ip(name) && !SSL_set_tlsext_host_name(ssl, name)) {
    SSL_free(ssl);
    fail(c, "server name \"%s\" cannot be sent as TLS SNI", name);
    return NULL;
  }
  return ssl;
}

/* SSL_connect until it is done, each wait bounded by the deadline. */
static int drive_handshake(conn *c, SSL *ssl) {
  set_phase(c, "during the TLS handshake");
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(ssl);
    if (r == 1)
      return 0;
    int e = SSL_get_error(ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
      return tls_failed(c, ssl, r);
    int rc = wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
    if (rc)
      return rc;
  }
}

static int handshake(conn *c, x509_chain **chain) {
  SSL *ssl = new_session(c);
  if (!ssl)
    return -EINVAL;
  int rc = drive_handshake(c, ssl);
  /* the client's view of the peer chain includes the leaf, first */
  x509_chain *peer = rc == 0 ? SSL_get_peer_cert_chain(ssl) : NULL;
  if (rc == 0 && (!peer || sk_X509_num(peer) == 0)) {
    fail(c, "the server sent no certificate");
    rc = -EPROTO;
  }
  if (rc == 0 && !(*chain = X509_chain_up_ref(peer))) {
    fail(c, "out of memory keeping the chain");
    rc = -ENOMEM;
  }
  if (rc == 0)
    SSL_shutdown(ssl); /* one polite close_notify; the answer is not awaited */
  SSL_free(ssl);
  ERR_clear_error();
  return rc;
}

int x509_fetch(const x509_state *s, const x509_source *src, x509_chain **chain, char *err,
               size_t errlen) {
  conn c = {.s = s, .src = src, .fd = -1, .err = err, .errlen = errlen};
  c.deadline = tower_mono_ns() + s->timeout_ns;
  err[0] = '\0';
  int rc = connect_any(&c);
  if (rc == 0 && src->kind == X509_SRC_SMTP)
    rc = smtp_starttls(&c);
  if (rc == 0)
    rc = handshake(&c, chain);
  if (rc == -ETIMEDOUT) {
    char t[32];
    fmt_duration(t, sizeof t, s->timeout_ns);
    fail(&c, "timed out after %s %s (raise timeout if the server is slow)", t, c.phase);
  } else if (rc && rc != -ECANCELED && !err[0]) {
    fail(&c, "failed %s: %s", c.phase, strerror(-rc));
  }
  if (c.fd >= 0)
    close(c.fd);
  return rc;
}

/* ---- the handshake context ------------------------------------------------------------ */

static int ssl_config_error(const tower_config *cfg, const char *key, const char *what) {
  unsigned long e = ERR_peek_last_error();
  const char *why = e && ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown error";
  ERR_clear_error();
  return tower_config_error(cfg, tower_config_setting(cfg, key), "%s \"%s\": %s: %s", key,
                            tower_config_string(cfg, key), what, why);
}

/* There is no password option: an encrypted key must fail to load, not
 * make OpenSSL ask for its pass phrase on the terminal (which would hang
 * a --config-check run from a shell). */
static int no_password(char *buf, int size, int rwflag, void *ud) {
  (void)buf, (void)size, (void)rwflag, (void)ud;
  return -1;
}

static int load_client_cert(SSL_CTX *ctx, const tower_config *cfg) {
  const char *cert = tower_config_string(cfg, "tls_cert");
  const char *key = tower_config_string(cfg, "tls_key");
  bool has_cert = cert && *cert, has_key = key && *key;
  if (has_cert != has_key)
    return tower_config_error(cfg, tower_config_setting(cfg, has_cert ? "tls_cert" : "tls_key"),
                              "tls_cert and tls_key go together: set both, or neither");
  if (!has_cert)
    return 0;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
    return ssl_config_error(cfg, "tls_cert", "cannot load the PEM certificate (chain)");
  SSL_CTX_set_default_passwd_cb(ctx, no_password);
  if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
    return ssl_config_error(cfg, "tls_key",
                            "cannot load the PEM private key (an encrypted key cannot be used: "
                            "there is no password option)");
  if (SSL_CTX_check_private_key(ctx) != 1)
    return ssl_config_error(cfg, "tls_key", "the key does not belong to tls_cert");
  return 0;
}

int x509_ssl_ctx_new(x509_state *s, const tower_config *cfg) {
  s->ssl = SSL_CTX_new(TLS_client_method());
  if (!s->ssl) {
    tower_error(s->ctx, "cannot create an OpenSSL client context (out of memory?)");
    return -ENOMEM;
  }
  SSL_CTX_set_verify(s->ssl, SSL_VERIFY_NONE, NULL);
  /* Only certificates are read over this connection: a weak server key or
   * signature must still be seen (and judged by verification), not make the
   * handshake fail at the system's security level. Protocol versions stay
   * the system's (Debian: TLS 1.2 and later). */
  SSL_CTX_set_security_level(s->ssl, 0);
  SSL_CTX_set_session_cache_mode(s->ssl, SSL_SESS_CACHE_OFF);
  return load_client_cert(s->ssl, cfg);
}
