/* inputs.socket_listener: service_address and the listening socket.
 *
 * The schemes are Telegraf's (Go's network names): tcp, tcp4, tcp6, udp,
 * udp4, udp6, unix, unixpacket, unixgram. tcp:// and udp:// without a host
 * listen on IPv6 and IPv4 at once (one socket, IPV6_V6ONLY off), falling
 * back to IPv4 on a host without IPv6, as Go does; tcp6:// and udp6:// are
 * IPv6 only. Host and port names are resolved once, when the block is read.
 *
 * Unix sockets: a socket file left behind by a process that is gone is
 * replaced, as Telegraf does; but a file that is not a socket is never
 * removed, and neither is a socket somebody still listens on (a connect
 * tells), so a second agent cannot silently steal the first one's socket.
 * At stop the file is removed only if it is still the one this instance
 * made (device and inode), since a reload may already have made another.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "socket_listener.h"

/* Backlog of the listening socket; the kernel caps it at somaxconn. A
 * thousand clients connecting at once must not be refused while the loop
 * is busy elsewhere. */
#define SL_BACKLOG 4096

static const struct {
  const char *name;
  int family, socktype;
} schemes[] = {
    {"tcp", AF_UNSPEC, SOCK_STREAM},   {"tcp4", AF_INET, SOCK_STREAM},
    {"tcp6", AF_INET6, SOCK_STREAM},   {"udp", AF_UNSPEC, SOCK_DGRAM},
    {"udp4", AF_INET, SOCK_DGRAM},     {"udp6", AF_INET6, SOCK_DGRAM},
    {"unix", AF_UNIX, SOCK_STREAM},    {"unixpacket", AF_UNIX, SOCK_SEQPACKET},
    {"unixgram", AF_UNIX, SOCK_DGRAM},
};

static int fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, len, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

static int parse_unix(const char *rest, sl_addr *a, char *why, size_t len) {
  struct sockaddr_un *un = (struct sockaddr_un *)&a->sa;
  un->sun_family = AF_UNIX;
  a->abstract = rest[0] == '@';
  const char *name = a->abstract ? rest + 1 : rest;
  size_t n = strlen(name);
  if (n == 0)
    return fail(why, len,
                "no socket path; write unix:///run/tower.sock (or unix://@name for "
                "an abstract socket)");
  if (n >= sizeof un->sun_path - (a->abstract ? 1 : 0))
    return fail(why, len, "the socket path is %zu bytes long; unix sockets take at most %zu", n,
                sizeof un->sun_path - 1);
  if (a->abstract) {
    memcpy(un->sun_path + 1, name, n); /* sun_path[0] = 0: the abstract namespace */
    a->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
  } else {
    memcpy(un->sun_path, name, n + 1);
    memcpy(a->path, name, n + 1);
    a->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  }
  return 0;
}

/* "host:port", "[v6]:port", ":port" into host and port (copied). */
static int split_host_port(const char *rest, char *host, size_t hlen, char *port, size_t plen,
                           char *why, size_t len) {
  const char *colon;
  const char *h = rest;
  size_t hn;
  if (rest[0] == '[') {
    const char *close = strchr(rest, ']');
    if (!close || close[1] != ':')
      return fail(why, len, "write an IPv6 address as [address]:port, e.g. tcp6://[::1]:8094");
    h = rest + 1;
    hn = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(rest, ':');
    if (!colon)
      return fail(why, len, "no port; write host:port or :port, e.g. tcp://:8094");
    hn = (size_t)(colon - rest);
    if (memchr(rest, ':', hn))
      return fail(why, len, "write an IPv6 address in brackets, e.g. tcp6://[::1]:8094");
  }
  if (!colon[1])
    return fail(why, len, "no port after the ':'");
  if (hn >= hlen || strlen(colon + 1) >= plen)
    return fail(why, len, "host or port too long");
  memcpy(host, h, hn);
  host[hn] = '\0';
  snprintf(port, plen, "%s", colon + 1);
  return 0;
}

static int parse_inet(const char *rest, int family, sl_addr *a, char *why, size_t len) {
  char host[256], port[64];
  int rc = split_host_port(rest, host, sizeof host, port, sizeof port, why, len);
  if (rc)
    return rc;
  /* tcp:// and udp:// on any address: one IPv6 socket that takes IPv4 too. */
  a->dual_stack = family == AF_UNSPEC && !host[0];
  a->v6only = family == AF_INET6;
  struct addrinfo hints = {.ai_family = a->dual_stack ? AF_INET6 : family,
                           .ai_socktype = a->socktype,
                           .ai_flags = AI_PASSIVE};
  struct addrinfo *res = NULL;
  int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
  if (gai)
    return fail(why, len, "cannot resolve %s%s%s port %s: %s", host[0] ? "host \"" : "any address",
                host, host[0] ? "\"" : "", port, gai_strerror(gai));
  memcpy(&a->sa, res->ai_addr, res->ai_addrlen);
  a->salen = res->ai_addrlen;
  a->family = res->ai_family;
  freeaddrinfo(res);
  return 0;
}

int sl_addr_parse(const char *text, sl_addr *a, char *why, size_t len) {
  memset(a, 0, sizeof *a);
  const char *sep = strstr(text, "://");
  if (!sep)
    return fail(why, len,
                "no scheme; write tcp://:8094, udp://:8094, unix:///path or "
                "unixgram:///path");
  size_t n = (size_t)(sep - text);
  for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
    if (strlen(schemes[i].name) != n || strncmp(text, schemes[i].name, n) != 0)
      continue;
    memcpy(a->scheme, text, n);
    a->family = schemes[i].family;
    a->socktype = schemes[i].socktype;
    a->stream = a->socktype != SOCK_DGRAM;
    if (a->family == AF_UNIX)
      return parse_unix(sep + 3, a, why, len);
    return parse_inet(sep + 3, a->family, a, why, len);
  }
  return fail(why, len,
              "unknown scheme \"%.*s\"; use tcp, tcp4, tcp6, udp, udp4, udp6, unix, unixpacket "
              "or unixgram",
              (int)(n > 32 ? 32 : n), text);
}

void sl_addr_describe(const sl_addr *a, int fd, char *out, size_t len) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (a->family == AF_UNIX) {
    snprintf(out, len, "%s://%s%s", a->scheme, a->abstract ? "@" : "",
             a->abstract ? ((const struct sockaddr_un *)&a->sa)->sun_path + 1 : a->path);
    return;
  }
  if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
    memcpy(&ss, &a->sa, sizeof ss);
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
    port = ntohs(s6->sin6_port);
    snprintf(out, len, "%s://[%s]:%u", a->scheme, host, port);
    return;
  }
  const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
  inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
  port = ntohs(s4->sin_port);
  snprintf(out, len, "%s://%s:%u", a->scheme, host, port);
}

/* ---- the socket --------------------------------------------------------- */

/* A host without IPv6: the dual-stack any address becomes IPv4's. */
static void to_ipv4_any(sl_addr *a) {
  uint16_t port = ((struct sockaddr_in6 *)&a->sa)->sin6_port;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
  memset(&a->sa, 0, sizeof a->sa);
  s4->sin_family = AF_INET;
  s4->sin_addr.s_addr = htonl(INADDR_ANY);
  s4->sin_port = port;
  a->salen = sizeof *s4;
  a->family = AF_INET;
  a->dual_stack = false;
}

static int open_socket(sl_state *s) {
  sl_addr *a = &s->addr;
  int fd = socket(a->family, a->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && errno == EAFNOSUPPORT && a->dual_stack) {
    to_ipv4_any(a);
    fd = socket(a->family, a->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) {
    int e = errno;
    tower_error(s->ctx, "cannot create a %s socket for %s: %s", a->scheme, s->address, strerror(e));
    return -e;
  }
  int one = 1, v6only = a->v6only;
  if (a->family == AF_INET6 && (a->dual_stack || a->v6only))
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  /* Lets a restarted agent bind while connections of the previous one
   * linger in TIME_WAIT; never set on datagram sockets, where it would let
   * two listeners share the port. */
  if (a->family != AF_UNIX && a->stream)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  return fd;
}

/* SO_RCVBUF, set before listen() so that accepted connections inherit it
 * (and TCP can scale its window to it). Linux doubles the value asked for
 * (bookkeeping) and caps it at net.core.rmem_max. */
static void set_rcvbuf(sl_state *s, int fd) {
  if (!s->rcvbuf)
    return;
  int want = s->rcvbuf > (uint64_t)(INT32_MAX / 2) ? INT32_MAX / 2 : (int)s->rcvbuf, got = 0;
  socklen_t gl = sizeof got;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want) != 0) {
    tower_warn(s->ctx, "read_buffer_size: cannot set %d bytes: %s", want, strerror(errno));
    return;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && got / 2 < want)
    tower_warn(s->ctx,
               "read_buffer_size: the kernel granted %d of the %d bytes asked for; raise "
               "net.core.rmem_max (sysctl) to allow more",
               got / 2, want);
}

/* A socket file where ours goes: stale (its process is gone: removed),
 * alive (refused), or not a socket at all (refused). */
static int clear_stale_socket(sl_state *s) {
  const sl_addr *a = &s->addr;
  struct stat st;
  if (a->abstract || lstat(a->path, &st) != 0)
    return 0;
  if (!S_ISSOCK(st.st_mode)) {
    tower_error(s->ctx,
                "cannot listen on %s: %s exists and is not a socket; remove it or choose "
                "another path",
                s->address, a->path);
    return -EEXIST;
  }
  int probe = socket(AF_UNIX, a->socktype | SOCK_CLOEXEC, 0);
  int alive = probe >= 0 && connect(probe, (const struct sockaddr *)&a->sa, a->salen) == 0;
  if (probe >= 0)
    close(probe);
  if (alive) {
    tower_error(s->ctx, "cannot listen on %s: another process listens on %s", s->address, a->path);
    return -EADDRINUSE;
  }
  if (unlink(a->path) != 0 && errno != ENOENT) {
    int e = errno;
    tower_error(s->ctx, "cannot remove the stale socket %s: %s", a->path, strerror(e));
    return -e;
  }
  return 0;
}

static const char *bind_hint(const sl_addr *a, int e) {
  if (e == EADDRINUSE)
    return "; another program (or another socket_listener) holds it";
  if (e == EACCES && a->family != AF_UNIX)
    return "; ports below 1024 need root or CAP_NET_BIND_SERVICE";
  if (e == EACCES || e == ENOENT)
    return "; the directory must exist and be writable by tower";
  if (e == EADDRNOTAVAIL)
    return "; the address is not one of this host's";
  return "";
}

static int finish_unix(sl_state *s) {
  const sl_addr *a = &s->addr;
  struct stat st;
  if (a->abstract)
    return 0;
  if (s->mode_set && chmod(a->path, s->mode) != 0) {
    int e = errno;
    tower_error(s->ctx, "socket_mode: cannot change the mode of %s to %04o: %s", a->path,
                (unsigned)s->mode, strerror(e));
    return -e;
  }
  if (stat(a->path, &st) == 0) {
    s->sock_dev = st.st_dev;
    s->sock_ino = st.st_ino;
  }
  return 0;
}

int sl_listen(sl_state *s) {
  sl_addr *a = &s->addr;
  int rc = a->family == AF_UNIX ? clear_stale_socket(s) : 0;
  if (rc)
    return rc;
  int fd = open_socket(s);
  if (fd < 0)
    return fd;
  set_rcvbuf(s, fd);
  if (bind(fd, (const struct sockaddr *)&a->sa, a->salen) != 0) {
    int e = errno;
    tower_error(s->ctx, "cannot listen on %s: %s%s", s->address, strerror(e), bind_hint(a, e));
    close(fd);
    return -e;
  }
  s->lfd = fd; /* from here on sl_unlisten undoes it all */
  if (a->family == AF_UNIX && (rc = finish_unix(s)) != 0)
    return rc;
  if (a->stream && listen(fd, SL_BACKLOG) != 0) {
    int e = errno;
    tower_error(s->ctx, "cannot listen on %s: %s", s->address, strerror(e));
    return -e;
  }
  sl_addr_describe(a, fd, s->where, sizeof s->where);
  return 0;
}

void sl_unlisten(sl_state *s) {
  if (s->lfd < 0)
    return;
  close(s->lfd);
  s->lfd = -1;
  struct stat st;
  if (s->sock_ino && stat(s->addr.path, &st) == 0 && S_ISSOCK(st.st_mode) &&
      st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
    unlink(s->addr.path);
  s->sock_dev = 0;
  s->sock_ino = 0;
}

void sl_tune_accepted(sl_state *s, int fd) {
  if (!s->keepalive_set || s->addr.family == AF_UNIX)
    return;
  int on = s->keepalive > 0;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  if (!on)
    return;
  /* Go's SetKeepAlivePeriod (Telegraf's): idle time and probe interval
   * both take the period, in whole seconds. */
  int secs = (int)(s->keepalive / 1000000000LL);
  secs = secs < 1 ? 1 : secs;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof secs);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &secs, sizeof secs);
}
