/* The connection of one server: opened on the first gather, kept between
 * gathers, closed after any error of the client or the link (the next
 * gather opens a new one) and at destroy. The gather's deadline (mysql.c)
 * bounds the whole and shuts the socket down under a server that is still
 * busy then; libmariadb's connect, read and write timeouts bound each step
 * of a thread that outlived it. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>

#include "mysql_input.h"

void my_fail(my_server *s, const char *what, const char *fmt, ...) {
  if (s->out.err[0])
    return;
  int n = snprintf(s->out.err, sizeof s->out.err, "%s: ", what);
  if (n < 0 || (size_t)n >= sizeof s->out.err)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->out.err + n, sizeof s->out.err - (size_t)n, fmt, ap);
  va_end(ap);
}

/* TLS as the DSN's tls parameter says; `plain` drops it (the retry of
 * tls=preferred against a server without TLS). */
static void set_tls(my_server *s, MYSQL *c, bool plain) {
  const my_opts *o = s->opts;
  const char *tls = s->dsn.tls;
  if (plain || !tls || strcmp(tls, "false") == 0)
    return;
  bool custom = strcmp(tls, "custom") == 0;
  my_bool enforce = 1;
  my_bool verify = strcmp(tls, "true") == 0 || (custom && !o->insecure_skip_verify);
  /* libmariadb verifies the chain against a CA it is given whatever
   * VERIFY_SERVER_CERT says: insecure_skip_verify must not pass it */
  mysql_ssl_set(c, custom ? o->tls_key : NULL, custom ? o->tls_cert : NULL,
                custom && verify ? o->tls_ca : NULL, NULL, NULL);
  mysql_optionsv(c, MYSQL_OPT_SSL_ENFORCE, &enforce);
  mysql_optionsv(c, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
}

static MYSQL *open_conn(my_server *s, bool plain, unsigned *err) {
  MYSQL *c = mysql_init(NULL);
  if (!c) {
    my_fail(s, "connect", "out of memory");
    *err = 0;
    return NULL;
  }
  /* a second beyond the gather's deadline: the deadline rules, with its
   * own message; these are the backstop for a thread left behind */
  unsigned secs = (unsigned)((s->opts->timeout_ns + 999999999) / 1000000000) + 1;
  my_bool no = 0;
  mysql_optionsv(c, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
  mysql_optionsv(c, MYSQL_OPT_READ_TIMEOUT, &secs);
  mysql_optionsv(c, MYSQL_OPT_WRITE_TIMEOUT, &secs);
  mysql_optionsv(c, MYSQL_OPT_RECONNECT, &no);
  set_tls(s, c, plain);
  const my_dsn *d = &s->dsn;
  if (mysql_real_connect(c, d->host, d->user, d->password, d->db, d->socket ? 0 : d->port,
                         d->socket, 0))
    return c;
  *err = mysql_errno(c);
  if (!(*err == CR_SSL_CONNECTION_ERROR && d->tls && strcmp(d->tls, "preferred") == 0 && !plain))
    my_fail(s, "connect", "%s (MySQL error %u)", mysql_error(c), *err);
  mysql_close(c);
  return NULL;
}

int my_connect(my_server *s) {
  if (s->conn)
    return 0;
  unsigned err = 0;
  MYSQL *c = open_conn(s, false, &err);
  /* tls=preferred: TLS when the server offers it, else plain */
  if (!c && err == CR_SSL_CONNECTION_ERROR && s->dsn.tls && strcmp(s->dsn.tls, "preferred") == 0)
    c = open_conn(s, true, &err);
  if (!c)
    return -ECONNREFUSED;
  s->mariadb = mariadb_connection(c);
  s->version = mysql_get_server_version(c);
  pthread_mutex_lock(&s->lock);
  s->conn = c;
  s->fd = (int)mysql_get_socket(c);
  pthread_mutex_unlock(&s->lock);
  return 0;
}

void my_disconnect(my_server *s) {
  pthread_mutex_lock(&s->lock);
  MYSQL *c = s->conn;
  s->conn = NULL;
  s->fd = -1;
  pthread_mutex_unlock(&s->lock);
  if (c)
    mysql_close(c);
}

/* Records why a statement failed and closes the connection when the link
 * is at fault: client errors (2000-2999: lost, gone, timed out) leave it
 * unusable, a server's refusal (unknown table, no privilege) does not. */
static void query_failed(my_server *s, const char *what) {
  unsigned e = mysql_errno(s->conn);
  pthread_mutex_lock(&s->lock);
  bool cut = s->cut;
  pthread_mutex_unlock(&s->lock);
  if (cut)
    my_fail(s, what, "cut off at the gather's deadline (timeout)");
  else
    my_fail(s, what, "%s (MySQL error %u)", mysql_error(s->conn), e);
  if (e == 0 || (e >= CR_MIN_ERROR && e <= CR_MAX_ERROR))
    my_disconnect(s);
}

MYSQL_RES *my_query(my_server *s, const char *what, const char *sql) {
  if (!s->conn)
    return NULL;
  s->out.queries++;
  MYSQL_RES *r = NULL;
  if (mysql_real_query(s->conn, sql, strlen(sql)) == 0)
    r = mysql_use_result(s->conn);
  if (r)
    return r;
  query_failed(s, what);
  return NULL;
}

int my_rows_end(my_server *s, const char *what, MYSQL_RES *r) {
  /* mysql_fetch_row returns NULL at the end and on an error alike */
  bool failed = s->conn && mysql_errno(s->conn) != 0;
  if (failed)
    query_failed(s, what);
  mysql_free_result(r);
  return failed ? -EIO : 0;
}

tower_metric *my_metric(my_server *s, const char *name) {
  tower_metric *m = tower_metric_new(name, TOWER_TIME_UNSET);
  if (m && tower_metric_add_tag(m, "server", s->dsn.tag) == 0)
    return m;
  tower_metric_free(m);
  my_fail(s, name, "out of memory");
  return NULL;
}

void my_emit(my_server *s, tower_metric *m) {
  if (!m)
    return;
  if (tower_metric_field_count(m) == 0) {
    tower_metric_free(m);
    return;
  }
  my_out *o = &s->out;
  if (o->n == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 64;
    tower_metric **v = realloc(o->v, cap * sizeof *v);
    if (!v) {
      my_fail(s, tower_metric_name(m), "out of memory");
      tower_metric_free(m);
      return;
    }
    o->v = v;
    o->cap = cap;
  }
  o->v[o->n++] = m;
}
