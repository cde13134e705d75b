/* inputs.socket_listener: one stream connection.
 *
 * Bytes go: socket -> (TLS) -> (inflate) -> lines -> parser -> accumulator.
 *
 * Lines. The connection keeps only the bytes after its last newline, at
 * most max_line_size of them; complete lines are parsed straight from the
 * read buffer. A line longer than max_line_size is an error for that line
 * alone (logged, counted, dropped up to its newline); the connection and
 * the lines around it go on. (Telegraf ends the connection there.)
 *
 * Parsers. Line formats (influx, prometheus) get a parser per connection,
 * fed the complete lines as they come, so that what spans lines (a
 * Prometheus family's # TYPE, a histogram's buckets) stays within its
 * connection; it ends (flushing what it holds) when the connection does.
 * Other formats (json, value) parse each line as one document, as Telegraf
 * does, with one parser shared by all connections.
 *
 * The last line. When the peer ends its stream cleanly (EOF; TLS
 * close_notify), a last line without a newline is parsed too. When the
 * connection is cut (read_timeout, reset, a TLS stream truncated without
 * close_notify, the agent stopping), it is dropped: it may be cut short.
 *
 * Compressed input (content_encoding) is inflated at most SL_INFLATE_TURN
 * bytes per turn of the loop; the rest of the compressed bytes wait in the
 * connection, so a small burst that inflates to gigabytes cannot hold the
 * loop from the other connections.
 */
#define _GNU_SOURCE /* accept4, memrchr, struct ucred */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <zlib.h>

#include "socket_listener.h"

/* Inflated bytes one connection may produce per turn of the loop. */
#define SL_INFLATE_TURN (1u << 20)
/* A partial line buffer larger than this is freed once its line is done,
 * so that idle connections do not each keep their longest line's worth. */
#define SL_LINE_KEEP 4096u

void sl_peer_text(const sl_state *s, int fd, const struct sockaddr *sa, socklen_t len, char *out,
                  size_t olen) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    snprintf(out, olen, "%s:%u", host, ntohs(a->sin_port));
    return;
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) /* dual-stack: an IPv4 client */
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], host, sizeof host);
    else
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    snprintf(out, olen, IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) ? "%s:%u" : "[%s]:%u", host,
             ntohs(a->sin6_port));
    return;
  }
  struct ucred cred;
  socklen_t cl = sizeof cred;
  if (s->addr.family == AF_UNIX && fd >= 0 &&
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
    snprintf(out, olen, "unix peer pid %ld uid %lu", (long)cred.pid, (unsigned long)cred.uid);
  else
    snprintf(out, olen, "unix peer");
}

/* ---- parsing ------------------------------------------------------------ */

/* One line as one document (json, value) with the shared parser. */
static void parse_document(sl_state *s, sl_conn *c, const char *line, size_t len) {
  if (len && line[len - 1] == '\r')
    len--;
  if (len == 0)
    return;
  if (s->msg_source != c->id) {
    char source[128];
    snprintf(source, sizeof source, "connection from %s", c->peer);
    tower_parser_set_source(s->msg_parser, source);
    s->msg_source = c->id;
  }
  uint64_t before = tower_parser_errors(s->msg_parser);
  int n = tower_parser_parse(s->msg_parser, line, len, sl_sink, s);
  if (n < 0)
    tower_acc_error(s->acc, "%s: a line could not be handled (%s); skipped", c->peer, strerror(-n));
  sl_parse_errors(s, s->msg_parser, before, c->peer);
}

/* Complete lines (data ends with '\n'), none longer than max_line. */
static void deliver(sl_state *s, sl_conn *c, const char *data, size_t len) {
  sl_conn_touch(s, c);
  if (s->per_message) {
    for (const char *end = data + len, *nl; data < end; data = nl + 1) {
      nl = memchr(data, '\n', (size_t)(end - data));
      parse_document(s, c, data, (size_t)(nl - data));
    }
    return;
  }
  uint64_t before = tower_parser_errors(c->parser);
  int n = tower_parser_feed(c->parser, data, len, sl_sink, s);
  if (n < 0)
    tower_acc_error(s->acc, "%s: lines could not be handled (%s); skipped", c->peer, strerror(-n));
  sl_parse_errors(s, c->parser, before, c->peer);
}

static void too_long(sl_state *s, sl_conn *c) {
  s->lines_too_long++;
  sl_conn_touch(s, c);
  tower_acc_error(s->acc,
                  "%s: a line longer than max_line_size (%zu bytes) was skipped; raise "
                  "max_line_size to accept it",
                  c->peer, s->max_line);
}

/* Complete lines of which some may be longer than max_line. */
static void deliver_checked(sl_state *s, sl_conn *c, const char *data, size_t len) {
  if (len <= s->max_line + 1) {
    deliver(s, c, data, len);
    return;
  }
  const char *run = data, *end = data + len;
  for (const char *p = data, *nl; p < end; p = nl + 1) {
    nl = memchr(p, '\n', (size_t)(end - p));
    if ((size_t)(nl - p) <= s->max_line)
      continue;
    if (p > run)
      deliver(s, c, run, (size_t)(p - run));
    too_long(s, c);
    run = nl + 1;
  }
  if (run < end)
    deliver(s, c, run, (size_t)(end - run));
}

/* Appends to the partial line; the caller checked the length. */
static int keep(sl_conn *c, const char *data, size_t len) {
  if (c->line_len + len + 1 > c->line_cap) { /* +1: room for the '\n' of a last line */
    size_t cap = c->line_cap ? c->line_cap : 256;
    while (cap < c->line_len + len + 1)
      cap *= 2;
    char *n = realloc(c->line, cap);
    if (!n)
      return -ENOMEM;
    c->line = n;
    c->line_cap = cap;
  }
  memcpy(c->line + c->line_len, data, len);
  c->line_len += len;
  return 0;
}

static void drop_line(sl_conn *c) {
  c->line_len = 0;
  if (c->line_cap > SL_LINE_KEEP) {
    free(c->line);
    c->line = NULL;
    c->line_cap = 0;
  }
}

static void keep_or_drop(sl_state *s, sl_conn *c, const char *data, size_t len) {
  if (c->line_len + len > s->max_line) {
    too_long(s, c);
    drop_line(c);
    c->skipping = true;
  } else if (keep(c, data, len) < 0) {
    tower_acc_error(s->acc, "%s: out of memory for a partial line; it is dropped", c->peer);
    drop_line(c);
    c->skipping = true;
  }
}

/* The bytes up to the first newline end the line begun in an earlier read.
 * Returns how many bytes of data it took. */
static size_t finish_partial(sl_state *s, sl_conn *c, const char *data, size_t len) {
  const char *nl = memchr(data, '\n', len);
  size_t n = nl ? (size_t)(nl - data) : len;
  if (c->skipping) {
    c->skipping = !nl;
  } else if (!nl) {
    keep_or_drop(s, c, data, n);
  } else if (c->line_len + n > s->max_line) {
    too_long(s, c);
    drop_line(c);
  } else if (keep(c, data, n + 1) == 0) {
    deliver(s, c, c->line, c->line_len);
    drop_line(c);
  } else {
    tower_acc_error(s->acc, "%s: out of memory for a partial line; it is dropped", c->peer);
    drop_line(c);
  }
  return nl ? n + 1 : len;
}

/* Splits bytes of the stream into lines. */
static void frame(sl_state *s, sl_conn *c, const char *data, size_t len) {
  if (c->skipping || c->line_len) {
    size_t used = finish_partial(s, c, data, len);
    data += used;
    len -= used;
  }
  if (!len)
    return;
  const char *last = memrchr(data, '\n', len);
  size_t whole = last ? (size_t)(last - data) + 1 : 0;
  if (whole)
    deliver_checked(s, c, data, whole);
  if (whole < len)
    keep_or_drop(s, c, data + whole, len - whole);
}

/* ---- compressed streams ------------------------------------------------- */

static const char *encoding_name(sl_encoding e) {
  return e == SL_GZIP ? "gzip" : "zlib";
}

/* Inflates what waits in c->zin (next_in/avail_in of the z_stream) into
 * lines, until SL_INFLATE_TURN bytes came out; 0, or -EPROTO after
 * reporting corrupt data. */
static int inflate_some(sl_state *s, sl_conn *c) {
  z_stream *z = c->z;
  size_t produced = 0;
  while (z->avail_in > 0 && produced < SL_INFLATE_TURN && c->fd >= 0) {
    z->next_out = (Bytef *)s->zbuf;
    z->avail_out = SL_READ_SIZE;
    int rc = inflate(z, Z_NO_FLUSH);
    size_t out = SL_READ_SIZE - z->avail_out;
    produced += out;
    c->in_member = rc != Z_STREAM_END;
    if (out)
      frame(s, c, s->zbuf, out);
    if (rc == Z_STREAM_END)
      inflateReset(z); /* members may follow one another (gzip -c a b) */
    else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      tower_acc_error(s->acc, "%s: corrupt %s data (%s); connection closed", c->peer,
                      encoding_name(s->encoding), z->msg ? z->msg : "inflate failed");
      return -EPROTO;
    } else if (rc == Z_BUF_ERROR && out == 0)
      break;
  }
  return 0;
}

/* Keeps the compressed bytes not inflated this turn (they point into the
 * shared read buffer) for the next one. */
static int save_input(sl_state *s, sl_conn *c) {
  z_stream *z = c->z;
  if (z->avail_in == 0) {
    c->zin_len = c->zin_off = 0;
    sl_ready_remove(s, c);
    return 0;
  }
  if ((const char *)z->next_in != c->zin + c->zin_off) { /* from the read buffer */
    if (!c->zin && !(c->zin = malloc(SL_READ_SIZE)))
      return -ENOMEM;
    memmove(c->zin, z->next_in, z->avail_in);
    c->zin_off = 0;
  } else {
    c->zin_off = (size_t)((const char *)z->next_in - c->zin);
  }
  c->zin_len = z->avail_in;
  sl_ready_add(s, c);
  return 0;
}

static void inflate_from(sl_state *s, sl_conn *c, const char *data, size_t len) {
  z_stream *z = c->z;
  z->next_in = (Bytef *)(uintptr_t)data;
  z->avail_in = (uInt)len;
  if (inflate_some(s, c) < 0 || save_input(s, c) < 0)
    sl_conn_close(s, c, false);
}

static void consume(sl_state *s, sl_conn *c, const char *data, size_t len) {
  if (c->z)
    inflate_from(s, c, data, len);
  else
    frame(s, c, data, len);
}

/* ---- reading ------------------------------------------------------------ */

/* One read: at most SL_READ_SIZE bytes (several TLS records). */
static ssize_t read_some(sl_state *s, sl_conn *c, size_t *got) {
  *got = 0;
  if (!c->tls) {
    ssize_t n = recv(c->fd, s->rbuf, SL_READ_SIZE, 0);
    if (n > 0)
      *got = (size_t)n;
    return n < 0 ? -errno : n;
  }
  ssize_t n;
  do {
    n = sl_tls_read(s, c, s->rbuf + *got, SL_READ_SIZE - *got);
    if (n > 0)
      *got += (size_t)n;
  } while (n > 0 && *got < SL_READ_SIZE && sl_tls_pending(c));
  return *got ? (ssize_t)*got : n;
}

static void read_and_parse(sl_state *s, sl_conn *c) {
  size_t got;
  ssize_t n = read_some(s, c, &got);
  if (got)
    consume(s, c, s->rbuf, got);
  if (c->fd < 0)
    return;
  if (n > 0) {
    if (sl_tls_pending(c) || c->zin_len)
      sl_ready_add(s, c);
    else
      sl_ready_remove(s, c);
    return;
  }
  if (n == 0) {
    sl_conn_close(s, c, true);
  } else if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR) {
    sl_ready_remove(s, c);
  } else if (n == -EPIPE || n == -ECONNRESET) {
    tower_debug(s->ctx, "%s cut the connection%s", c->peer,
                c->tls ? " without a TLS close_notify" : "");
    sl_conn_close(s, c, false);
  } else {
    if (!c->tls) /* sl_tls_read reported its own */
      tower_acc_error(s->acc, "reading from %s failed: %s; connection closed", c->peer,
                      strerror((int)-n));
    sl_conn_close(s, c, false);
  }
}

void sl_conn_ready(sl_state *s, sl_conn *c) {
  if (c->handshaking) {
    int rc = sl_tls_handshake(s, c);
    if (rc < 0)
      sl_conn_close(s, c, false);
    if (rc <= 0)
      return;
    sl_list_remove(c);
    c->since = s->now;
    sl_list_push(&s->idle, c);
  }
  if (c->zin_len) { /* the rest of an earlier burst first; the socket waits */
    z_stream *z = c->z;
    z->next_in = (Bytef *)(c->zin + c->zin_off);
    z->avail_in = (uInt)c->zin_len;
    if (inflate_some(s, c) < 0 || save_input(s, c) < 0)
      sl_conn_close(s, c, false);
    return;
  }
  read_and_parse(s, c);
}

/* ---- life --------------------------------------------------------------- */

static int make_parser(sl_state *s, sl_conn *c) {
  if (s->per_message)
    return 0;
  int rc = tower_parser_new(s->ctx, s->cfg, &c->parser);
  if (rc)
    return rc;
  char source[128];
  snprintf(source, sizeof source, "connection from %s", c->peer);
  tower_parser_set_source(c->parser, source);
  return 0;
}

sl_conn *sl_conn_new(sl_state *s, int fd, const struct sockaddr *peer, socklen_t plen) {
  sl_conn *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return NULL;
  }
  c->fd = fd;
  c->id = ++s->next_id;
  sl_peer_text(s, fd, peer, plen, c->peer, sizeof c->peer);
  sl_tune_accepted(s, fd);
  int rc = s->tls ? sl_tls_session(s, c) : 0;
  if (rc == 0 && s->encoding && !(c->z = sl_inflater_new(s->encoding)))
    rc = -ENOMEM;
  if (rc == 0)
    rc = make_parser(s, c);
  if (rc) {
    tower_acc_error(s->acc, "cannot take the connection from %s: %s; closed", c->peer,
                    strerror(-rc));
    close(fd);
    sl_conn_free(c);
    return NULL;
  }
  return c;
}

/* The end of the stream: the last line (when it counts), what the parser
 * holds (a Prometheus family). */
static void finish_stream(sl_state *s, sl_conn *c, bool eof) {
  if (eof && c->in_member)
    tower_acc_error(s->acc,
                    "%s: the %s stream ends in the middle of a member; its last bytes "
                    "are lost",
                    c->peer, encoding_name(s->encoding));
  if (eof && c->line_len && !c->skipping) {
    c->line[c->line_len++] = '\n'; /* keep() left room for it */
    deliver(s, c, c->line, c->line_len);
  }
  drop_line(c);
  if (c->parser) {
    uint64_t before = tower_parser_errors(c->parser);
    tower_parser_end(c->parser, sl_sink, s);
    sl_parse_errors(s, c->parser, before, c->peer);
  }
}

void sl_conn_close(sl_state *s, sl_conn *c, bool eof) {
  if (c->fd < 0)
    return;
  finish_stream(s, c, eof);
  sl_tls_end(c);
  close(c->fd); /* also takes it out of the epoll set */
  c->fd = -1;
  sl_list_remove(c);
  sl_ready_remove(s, c);
  s->nconns--;
  c->dead_next = s->dead;
  s->dead = c;
}

void sl_conn_free(sl_conn *c) {
  if (!c)
    return;
  sl_tls_end(c);
  sl_inflater_free(c->z);
  tower_parser_free(c->parser);
  free(c->zin);
  free(c->line);
  free(c);
}
