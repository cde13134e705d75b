/* The listening socket (listen = "host:port") and the ip_range allow-list.
 *
 * httpd binds the socket itself and hands it to libmicrohttpd, so that a
 * port in use is reported with the address and what to do, and port 0
 * (tests) tells which port it got. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpd_int.h"

/* ---- ip_range ----------------------------------------------------------------- */

static void mask(unsigned char *addr, unsigned bytes, unsigned prefix) {
  for (unsigned i = 0; i < bytes; i++) {
    unsigned bits = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
    addr[i] &= (unsigned char)(0xff00u >> bits);
  }
}

int httpd_cidr_parse(const char *text, httpd_cidr *out) {
  char host[INET6_ADDRSTRLEN + 1];
  const char *slash = strchr(text, '/');
  size_t hl = slash ? (size_t)(slash - text) : strlen(text);
  if (hl == 0 || hl >= sizeof host)
    return -EINVAL;
  memcpy(host, text, hl);
  host[hl] = '\0';
  memset(out, 0, sizeof *out);
  out->family = strchr(host, ':') ? AF_INET6 : AF_INET;
  if (inet_pton(out->family, host, out->addr) != 1)
    return -EINVAL;
  unsigned max = out->family == AF_INET ? 32 : 128;
  out->prefix = max;
  if (slash) {
    char *end;
    errno = 0;
    unsigned long p = strtoul(slash + 1, &end, 10);
    if (end == slash + 1 || *end || errno || p > max)
      return -EINVAL;
    out->prefix = (unsigned)p;
  }
  mask(out->addr, max / 8, out->prefix);
  return 0;
}

static bool in_range(const httpd_cidr *c, int family, const unsigned char *addr) {
  if (c->family != family)
    return false;
  unsigned char a[16];
  unsigned bytes = family == AF_INET ? 4 : 16;
  memcpy(a, addr, bytes);
  mask(a, bytes, c->prefix);
  return memcmp(a, c->addr, bytes) == 0;
}

bool httpd_cidr_match(const httpd_cidr *v, size_t n, const struct sockaddr *sa) {
  int family = sa->sa_family;
  const unsigned char *addr;
  if (family == AF_INET) {
    addr = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
  } else if (family == AF_INET6) {
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    addr = a6->s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6)) { /* an IPv4 client of a dual-stack socket */
      family = AF_INET;
      addr += 12;
    }
  } else {
    return false;
  }
  for (size_t i = 0; i < n; i++)
    if (in_range(&v[i], family, addr))
      return true;
  return false;
}

/* ---- listen ------------------------------------------------------------------------ */

/* Splits "host:port", ":port", "[v6]:port" into host (empty: any) and port. */
static int split_listen(const char *listen, char *host, size_t hsize, char *port, size_t psize) {
  const char *colon;
  if (listen[0] == '[') {
    const char *close = strchr(listen, ']');
    if (!close || close[1] != ':')
      return -EINVAL;
    colon = close + 1;
    if ((size_t)(close - listen - 1) >= hsize)
      return -EINVAL;
    memcpy(host, listen + 1, (size_t)(close - listen - 1));
    host[close - listen - 1] = '\0';
  } else {
    colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= hsize ||
        memchr(listen, ':', (size_t)(colon - listen)))
      return -EINVAL;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
  }
  const char *p = colon + 1;
  size_t pl = strlen(p);
  if (pl == 0 || pl >= psize || strspn(p, "0123456789") != pl || atol(p) > 65535)
    return -EINVAL;
  memcpy(port, p, pl + 1);
  return 0;
}

static int bind_one(const struct sockaddr *sa, socklen_t len, int backlog, bool dual) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (sa->sa_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &zero : &one, sizeof one);
  if (bind(fd, sa, len) || listen(fd, backlog)) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

/* ":port": every interface, IPv6 and IPv4 on one dual-stack socket; IPv4
 * only when the host has no IPv6. */
static int bind_any(const char *port, int backlog) {
  struct sockaddr_in6 a6 = {
      .sin6_family = AF_INET6, .sin6_addr = in6addr_any, .sin6_port = htons((uint16_t)atoi(port))};
  int fd = bind_one((struct sockaddr *)&a6, sizeof a6, backlog, true);
  if (fd != -EAFNOSUPPORT && fd != -EADDRNOTAVAIL)
    return fd;
  struct sockaddr_in a4 = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_ANY),
                           .sin_port = htons((uint16_t)atoi(port))};
  return bind_one((struct sockaddr *)&a4, sizeof a4, backlog, false);
}

static int bind_host(const char *host, const char *port, int backlog, char *err, size_t err_size) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res;
  int g = getaddrinfo(host, port, &hints, &res);
  if (g) {
    snprintf(err, err_size, "cannot resolve \"%s\": %s", host, gai_strerror(g));
    return -EINVAL;
  }
  int fd = -EADDRNOTAVAIL;
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
    int r = bind_one(ai->ai_addr, ai->ai_addrlen, backlog, false);
    if (r >= 0 || fd == -EADDRNOTAVAIL)
      fd = r; /* keep the first real error (EADDRINUSE over EAFNOSUPPORT) */
  }
  freeaddrinfo(res);
  return fd;
}

static void bound_port(int fd, uint16_t *port, bool *v6) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  *port = 0;
  *v6 = false;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
    *v6 = ss.ss_family == AF_INET6;
    *port = ntohs(*v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                      : ((struct sockaddr_in *)&ss)->sin_port);
  }
}

int httpd_listen(const char *listen, const char *key, int backlog, uint16_t *port, bool *v6,
                 char *err, size_t err_size) {
  char host[256], ports[8];
  if (split_listen(listen, host, sizeof host, ports, sizeof ports)) {
    snprintf(err, err_size,
             "%s = \"%s\" is not \"host:port\", \":port\" or \"[ipv6]:port\" "
             "(port 0-65535)",
             key, listen);
    return -EINVAL;
  }
  err[0] = '\0';
  int fd = host[0] ? bind_host(host, ports, backlog, err, err_size) : bind_any(ports, backlog);
  if (fd >= 0) {
    bound_port(fd, port, v6);
    return fd;
  }
  if (err[0])
    return fd;
  if (fd == -EADDRINUSE)
    snprintf(err, err_size,
             "cannot listen on %s: %s; another tower or exporter is running? change %s", listen,
             strerror(-fd), key);
  else
    snprintf(err, err_size, "cannot listen on %s: %s", listen, strerror(-fd));
  return fd;
}
