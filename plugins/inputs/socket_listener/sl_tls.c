/* inputs.socket_listener: TLS over stream sockets, with GnuTLS (the TLS
 * library of plugins/common/httpd), driven by the event loop: sessions are
 * non-blocking, and a call that would block says whether it waits to read
 * or to write (gnutls_record_get_direction), which becomes the socket's
 * epoll interest. GnuTLS may hold decrypted bytes the socket no longer
 * signals; the loop serves such a connection again without waiting
 * (sl_ready_add).
 *
 * With tls_allowed_cacerts, a client must present a certificate that
 * verifies against those CAs (GNUTLS_CERT_REQUIRE and verification inside
 * the handshake): no certificate, or one that does not verify, fails the
 * handshake, which is logged with GnuTLS's reason and counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <gnutls/gnutls.h>

#include "../../common/check/path_check.h"
#include "../../common/check/pem_check.h"
#include "socket_listener.h"

struct sl_tls {
  gnutls_certificate_credentials_t cred;
  gnutls_priority_t prio;
  bool client_certs;
};

static bool set(const char *s) {
  return s && *s;
}

/* What is wrong with a file GnuTLS refused, found without GnuTLS: the path
 * (the component at fault) and the PEM blocks in it. 0 when both look
 * right; else -errno with the reason and what to do, reported at `key`. */
static int file_problem(const tower_config *cfg, const char *key, const char *path, pem_want want) {
  char why[PATH_WHY_MAX];
  int rc = path_check(path, PATH_FILE, R_OK, why, sizeof why);
  if (rc == 0)
    rc = pem_check_file(path, want, why, sizeof why);
  if (rc == 0)
    return 0;
  const char *hint = rc != -EINVAL     ? path_check_hint(rc)
                     : want == PEM_KEY ? "give the PEM file of the private key"
                                       : "give a PEM file of certificates";
  return tower_config_error(cfg, tower_config_setting(cfg, key), "%s \"%s\": %s; %s", key, path,
                            why, hint);
}

static int load_pair(const tower_config *cfg, sl_tls *t, const char *cert, const char *key) {
  int rc = gnutls_certificate_set_x509_key_file(t->cred, cert, key, GNUTLS_X509_FMT_PEM);
  if (rc >= 0)
    return 0;
  int bad = file_problem(cfg, "tls_cert", cert, PEM_CERTS);
  if (bad == 0)
    bad = file_problem(cfg, "tls_key", key, PEM_KEY);
  if (bad)
    return bad;
  return tower_config_error(cfg, tower_config_setting(cfg, "tls_key"),
                            "tls_cert \"%s\" and tls_key \"%s\": %s (is the key the one of this "
                            "certificate, and not encrypted?)",
                            cert, key, gnutls_strerror(rc));
}

static int load_cas(const tower_config *cfg, sl_tls *t) {
  size_t n = tower_config_strings_len(cfg, "tls_allowed_cacerts");
  for (size_t i = 0; i < n; i++) {
    const char *ca = tower_config_strings_at(cfg, "tls_allowed_cacerts", i);
    int got = gnutls_certificate_set_x509_trust_file(t->cred, ca, GNUTLS_X509_FMT_PEM);
    if (got > 0)
      continue;
    int bad = file_problem(cfg, "tls_allowed_cacerts", ca, PEM_CERTS);
    if (bad)
      return bad;
    return tower_config_error(cfg, tower_config_setting(cfg, "tls_allowed_cacerts"),
                              "tls_allowed_cacerts \"%s\": no CA certificate could be read%s%s", ca,
                              got < 0 ? ": " : "", got < 0 ? gnutls_strerror(got) : "");
  }
  t->client_certs = n > 0;
  return 0;
}

/* tls_min_version as a GnuTLS priority string: the defaults, with the
 * protocol versions below the minimum taken out. */
static const char *priorities(const char *min) {
  if (strcmp(min, "TLS13") == 0)
    return "NORMAL:-VERS-ALL:+VERS-TLS1.3";
  if (strcmp(min, "TLS11") == 0)
    return "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-TLS1.1";
  if (strcmp(min, "TLS10") == 0)
    return "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0";
  return "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
}

static int check_pairing(const tower_config *cfg, const char *cert, const char *key) {
  if (set(cert) != set(key))
    return tower_config_error(cfg, tower_config_setting(cfg, set(cert) ? "tls_cert" : "tls_key"),
                              "tls_cert and tls_key go together: set both, or neither");
  if (tower_config_strings_len(cfg, "tls_allowed_cacerts") && !set(cert))
    return tower_config_error(cfg, tower_config_setting(cfg, "tls_allowed_cacerts"),
                              "tls_allowed_cacerts needs tls_cert and tls_key (clients are "
                              "verified over TLS)");
  return 0;
}

int sl_tls_load(const tower_config *cfg, sl_tls **out) {
  const char *cert = tower_config_string(cfg, "tls_cert");
  const char *key = tower_config_string(cfg, "tls_key");
  *out = NULL;
  int rc = check_pairing(cfg, cert, key);
  if (rc || !set(cert))
    return rc;
  sl_tls *t = calloc(1, sizeof *t);
  if (!t || gnutls_certificate_allocate_credentials(&t->cred) < 0) {
    free(t);
    return -ENOMEM;
  }
  rc = load_pair(cfg, t, cert, key);
  if (rc == 0)
    rc = load_cas(cfg, t);
  if (rc == 0 && gnutls_priority_init(
                     &t->prio, priorities(tower_config_string(cfg, "tls_min_version")), NULL) < 0)
    rc = tower_config_error(cfg, tower_config_setting(cfg, "tls_min_version"),
                            "tls_min_version: this GnuTLS cannot set it");
  if (rc) {
    sl_tls_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void sl_tls_free(sl_tls *t) {
  if (!t)
    return;
  if (t->prio)
    gnutls_priority_deinit(t->prio);
  gnutls_certificate_free_credentials(t->cred);
  free(t);
}

const char *sl_tls_describe(const sl_tls *t) {
  return !t ? "" : t->client_certs ? ", TLS with client certificates" : ", TLS";
}

/* ---- sessions ----------------------------------------------------------- */

int sl_tls_session(sl_state *s, sl_conn *c) {
  gnutls_session_t sess;
  int rc = gnutls_init(&sess, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
  if (rc < 0)
    return -ENOMEM;
  if ((rc = gnutls_priority_set(sess, s->tls->prio)) >= 0)
    rc = gnutls_credentials_set(sess, GNUTLS_CRD_CERTIFICATE, s->tls->cred);
  if (rc < 0) {
    gnutls_deinit(sess);
    tower_error(s->ctx, "cannot set up TLS for %s: %s", c->peer, gnutls_strerror(rc));
    return -EIO;
  }
  if (s->tls->client_certs) {
    gnutls_certificate_server_set_request(sess, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(sess, NULL, 0);
  }
  gnutls_transport_set_int(sess, c->fd);
  c->tls = sess;
  c->handshaking = true;
  return 0;
}

/* GnuTLS waits for the socket: to read, or to write. */
static void wait_socket(sl_state *s, sl_conn *c) {
  sl_conn_watch(s, c, gnutls_record_get_direction(c->tls) ? EPOLLOUT : EPOLLIN);
}

static void handshake_failed(sl_state *s, sl_conn *c, int rc) {
  gnutls_session_t sess = c->tls;
  if (rc == GNUTLS_E_PREMATURE_TERMINATION || rc == GNUTLS_E_PUSH_ERROR ||
      rc == GNUTLS_E_PULL_ERROR) {
    /* gone before a handshake: a port check or a client that gave up */
    tower_debug(s->ctx, "%s closed the connection during the TLS handshake", c->peer);
    return;
  }
  if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
    gnutls_datum_t text = {0};
    unsigned status = gnutls_session_get_verify_cert_status(sess);
    gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0);
    tower_acc_error(s->acc,
                    "TLS handshake with %s failed: its client certificate does not verify "
                    "against tls_allowed_cacerts (%s); connection closed",
                    c->peer, text.data ? (const char *)text.data : "not trusted");
    gnutls_free(text.data);
    return;
  }
  if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND || rc == GNUTLS_E_CERTIFICATE_REQUIRED) {
    tower_acc_error(s->acc,
                    "TLS handshake with %s failed: the client sent no certificate, and "
                    "tls_allowed_cacerts requires one; connection closed",
                    c->peer);
    return;
  }
  bool plain = rc == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
               rc == GNUTLS_E_UNSUPPORTED_VERSION_PACKET || rc == GNUTLS_E_UNEXPECTED_PACKET;
  tower_acc_error(s->acc, "TLS handshake with %s failed: %s%s; connection closed", c->peer,
                  gnutls_strerror(rc), plain ? " (is the client speaking plain text to TLS?)" : "");
}

int sl_tls_handshake(sl_state *s, sl_conn *c) {
  int rc;
  do
    rc = gnutls_handshake(c->tls);
  while (rc == GNUTLS_E_INTERRUPTED);
  if (rc == GNUTLS_E_SUCCESS) {
    c->handshaking = false;
    sl_conn_watch(s, c, EPOLLIN);
    return 1;
  }
  if (rc == GNUTLS_E_AGAIN) {
    wait_socket(s, c);
    return 0;
  }
  handshake_failed(s, c, rc);
  return -EPROTO;
}

ssize_t sl_tls_read(sl_state *s, sl_conn *c, char *buf, size_t len) {
  ssize_t n;
  do
    n = gnutls_record_recv(c->tls, buf, len);
  while (n == GNUTLS_E_INTERRUPTED);
  if (n >= 0) {
    if (c->events != EPOLLIN)
      sl_conn_watch(s, c, EPOLLIN);
    return n;
  }
  if (n == GNUTLS_E_AGAIN) {
    wait_socket(s, c);
    return -EAGAIN;
  }
  if (n == GNUTLS_E_PREMATURE_TERMINATION)
    return -EPIPE;
  if (n == GNUTLS_E_REHANDSHAKE)
    tower_acc_error(s->acc,
                    "%s asked for a TLS renegotiation, which this listener refuses; "
                    "connection closed",
                    c->peer);
  else
    tower_acc_error(s->acc, "TLS read from %s failed: %s; connection closed", c->peer,
                    gnutls_strerror((int)n));
  return -EIO;
}

bool sl_tls_pending(const sl_conn *c) {
  return c->tls && gnutls_record_check_pending(c->tls) > 0;
}

void sl_tls_end(sl_conn *c) {
  if (!c->tls)
    return;
  /* One try at a close_notify; the socket is non-blocking and closes next. */
  if (!c->handshaking)
    gnutls_bye(c->tls, GNUTLS_SHUT_WR);
  gnutls_deinit(c->tls);
  c->tls = NULL;
}
