/* inputs.socket_listener: datagram sockets (udp, unixgram), and the
 * inflaters of content_encoding.
 *
 * A datagram is one message, parsed whole with the shared parser (as
 * Telegraf does): the lines of a line format, one json document. One larger
 * than SL_READ_SIZE bytes arrives cut; it is reported and dropped (MSG_TRUNC
 * tells its real size).
 *
 * A compressed datagram is all or nothing, like Telegraf's: a first pass
 * inflates it only to measure it (against max_decompression_size) and to
 * find corrupt data; only a datagram that passes is inflated again into
 * the parser, piece by piece. The memory stays SL_READ_SIZE however large
 * it inflates; the price is inflating twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <zlib.h>

#include "socket_listener.h"

void *sl_inflater_new(sl_encoding e) {
  z_stream *z = calloc(1, sizeof *z);
  if (!z)
    return NULL;
  /* windowBits 15; +16: a gzip header and trailer instead of zlib's */
  if (inflateInit2(z, e == SL_GZIP ? 15 + 16 : 15) != Z_OK) {
    free(z);
    return NULL;
  }
  return z;
}

void sl_inflater_free(void *z) {
  if (!z)
    return;
  inflateEnd(z);
  free(z);
}

int sl_dgram_setup(sl_state *s) {
  if (s->encoding && !(s->dgram_z = sl_inflater_new(s->encoding)))
    return -ENOMEM;
  return 0;
}

void sl_dgram_teardown(sl_state *s) {
  sl_inflater_free(s->dgram_z);
  s->dgram_z = NULL;
}

/* ---- inflating ---------------------------------------------------------- */

typedef int (*sl_chunk_fn)(sl_state *s, const char *data, size_t len);

/* Inflates data[0..len) (one or more members) in SL_READ_SIZE pieces,
 * passing each to `fn` (NULL: only count). Returns the inflated size, or
 * -EMSGSIZE past max_decompression_size, -EPROTO for corrupt or cut data
 * (why says which), or fn's error. */
static int64_t inflate_all(sl_state *s, const char *data, size_t len, sl_chunk_fn fn,
                           const char **why) {
  z_stream *z = s->dgram_z;
  inflateReset(z);
  z->next_in = (Bytef *)(uintptr_t)data;
  z->avail_in = (uInt)len;
  uint64_t total = 0;
  for (;;) {
    z->next_out = (Bytef *)s->zbuf;
    z->avail_out = SL_READ_SIZE;
    int rc = inflate(z, Z_NO_FLUSH);
    size_t out = SL_READ_SIZE - z->avail_out;
    if ((total += out) > s->max_inflated)
      return -EMSGSIZE;
    int frc = out && fn ? fn(s, s->zbuf, out) : 0;
    if (frc < 0)
      return frc;
    if (rc == Z_STREAM_END && z->avail_in == 0)
      return (int64_t)total;
    if (rc == Z_STREAM_END)
      inflateReset(z);
    else if (rc == Z_BUF_ERROR && z->avail_in == 0) {
      *why = "the data ends in the middle";
      return -EPROTO;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      *why = z->msg ? z->msg : "inflate failed";
      return -EPROTO;
    }
  }
}

static int feed(sl_state *s, const char *data, size_t len) {
  int n = tower_parser_feed(s->msg_parser, data, len, sl_sink, s);
  return n < 0 ? n : 0;
}

/* ---- datagrams ---------------------------------------------------------- */

static void name_sender(const sl_state *s, const struct sockaddr_storage *from, socklen_t fl,
                        char *out, size_t len) {
  char peer[80];
  if (fl == 0 || from->ss_family == AF_UNIX)
    snprintf(peer, sizeof peer, "a unix peer");
  else
    sl_peer_text(s, -1, (const struct sockaddr *)from, fl, peer, sizeof peer);
  snprintf(out, len, "datagram from %s", peer);
}

static int parse(sl_state *s, const char *data, size_t len) {
  if (!s->dgram_z)
    return tower_parser_parse(s->msg_parser, data, len, sl_sink, s);
  const char *why = NULL;
  int64_t size = inflate_all(s, data, len, NULL, &why);
  if (size >= 0)
    size = inflate_all(s, data, len, feed, &why);
  int end = tower_parser_end(s->msg_parser, sl_sink, s);
  if (size == -EPROTO || size == -EMSGSIZE)
    return (int)size;
  return size < 0 ? (int)size : end;
}

static void handle(sl_state *s, const char *data, size_t len, const struct sockaddr_storage *from,
                   socklen_t fl) {
  if (s->msg_source != 0) { /* a stream connection named the shared parser */
    tower_parser_set_source(s->msg_parser, s->where);
    s->msg_source = 0;
  }
  uint64_t before = tower_parser_errors(s->msg_parser);
  int rc = parse(s, data, len);
  uint64_t bad = tower_parser_errors(s->msg_parser) - before;
  if (rc >= 0 && !bad)
    return;
  char sender[112];
  name_sender(s, from, fl, sender, sizeof sender);
  if (rc == -EMSGSIZE)
    tower_acc_error(s->acc,
                    "%s: inflates to more than max_decompression_size (%" PRIu64 " bytes); skipped",
                    sender, s->max_inflated);
  else if (rc == -EPROTO)
    tower_acc_error(s->acc, "%s: corrupt %s data; skipped", sender,
                    s->encoding == SL_GZIP ? "gzip" : "zlib");
  else if (rc < 0)
    tower_acc_error(s->acc, "%s could not be handled (%s); skipped", sender, strerror(-rc));
  sl_parse_errors(s, s->msg_parser, before, sender);
}

void sl_dgram_ready(sl_state *s) {
  for (int i = 0; i < SL_DGRAMS_PER_TURN; i++) {
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    /* MSG_TRUNC: the datagram's real size, even when the buffer is smaller */
    ssize_t n = recvfrom(s->lfd, s->rbuf, SL_READ_SIZE, MSG_TRUNC, (struct sockaddr *)&from, &fl);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        tower_acc_error(s->acc, "reading from %s failed: %s", s->where, strerror(errno));
      return;
    }
    if ((size_t)n > SL_READ_SIZE) {
      char sender[112];
      name_sender(s, &from, fl, sender, sizeof sender);
      tower_acc_error(s->acc, "%s: %zd bytes, more than the %u a datagram may have here; skipped",
                      sender, n, SL_READ_SIZE);
      continue;
    }
    if (n > 0)
      handle(s, s->rbuf, (size_t)n, &from, fl);
  }
}
