/* Loopback sockets for the tests, fixtures and benchmarks that run a
 * server or need a port nobody serves. Header-only: fixtures and benches
 * are built without the Check harness. */
#ifndef TOWER_TESTS_LOOPBACK_H
#define TOWER_TESTS_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* A listening TCP socket on 127.0.0.1 and a port the kernel picked, put
 * in *port; -1 on failure. */
static inline int loopback_listen(unsigned *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64) ||
      getsockname(fd, (struct sockaddr *)&a, &len)) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

/* A 127.0.0.1 port nobody listens on right now (picked, then closed); 0
 * on failure. Another process may take it meanwhile, which tests accept. */
static inline unsigned loopback_unused_port(void) {
  unsigned port = 0;
  int fd = loopback_listen(&port);
  if (fd < 0)
    return 0;
  close(fd);
  return port;
}

#endif
