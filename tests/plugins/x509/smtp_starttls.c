/* A tiny SMTP server that upgrades to TLS with STARTTLS, for the tests of
 * inputs.x509_cert (openssl s_server has no server side of STARTTLS).
 *
 * Usage: smtp_starttls FULLCHAIN.pem KEY.pem [MODE]
 *   FULLCHAIN.pem  the server certificate followed by its chain
 *   MODE           normal (default); refuse: STARTTLS gets 454; inject: data
 *                  follows the 220 reply to STARTTLS; helo: EHLO gets 502 and
 *                  HELO is expected; silent: no greeting at all
 *
 * Listens on 127.0.0.1 (a free port), prints "ACCEPT 127.0.0.1:PORT" like
 * s_server, then serves clients one at a time until killed: greeting, EHLO
 * (advertising STARTTLS), STARTTLS, 220, TLS handshake, close. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static int send_text(int fd, const char *s) {
  size_t len = strlen(s);
  return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* One command line, without CR LF. */
static int read_line(int fd, char *buf, size_t len) {
  size_t n = 0;
  char c;
  while (n + 1 < len) {
    if (recv(fd, &c, 1, 0) != 1)
      return -1;
    if (c == '\n')
      break;
    if (c != '\r')
      buf[n++] = c;
  }
  buf[n] = '\0';
  return 0;
}

static int greet(int fd, const char *mode) {
  char line[512];
  if (send_text(fd, "220 tower-test ESMTP ready\r\n") || read_line(fd, line, sizeof line))
    return -1;
  if (strcmp(mode, "helo") == 0) {
    if (strncmp(line, "EHLO ", 5) != 0 || send_text(fd, "502 5.5.2 EHLO not implemented\r\n") ||
        read_line(fd, line, sizeof line) || strncmp(line, "HELO ", 5) != 0)
      return -1;
    return send_text(fd, "250 tower-test\r\n");
  }
  if (strncmp(line, "EHLO ", 5) != 0)
    return -1;
  return send_text(fd, "250-tower-test greets you\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
}

static void serve(SSL_CTX *ctx, int fd, const char *mode) {
  char line[512];
  if (strcmp(mode, "silent") == 0) {
    while (recv(fd, line, sizeof line, 0) > 0) /* swallow anything until the client gives up */
      continue;
    return;
  }
  if (greet(fd, mode) || read_line(fd, line, sizeof line) || strcmp(line, "STARTTLS") != 0)
    return;
  if (strcmp(mode, "refuse") == 0) {
    send_text(fd, "454 4.7.0 TLS not available due to temporary reason\r\n");
    return;
  }
  if (send_text(fd, strcmp(mode, "inject") == 0 ? "220 2.0.0 Ready\r\n250 injected\r\n"
                                                : "220 2.0.0 Ready to start TLS\r\n"))
    return;
  SSL *ssl = SSL_new(ctx);
  if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1)
    SSL_shutdown(ssl);
  SSL_free(ssl);
  ERR_clear_error();
}

static int listen_loopback(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 16) ||
      getsockname(fd, (struct sockaddr *)&a, &len)) {
    perror("smtp_starttls: listen");
    exit(1);
  }
  printf("ACCEPT 127.0.0.1:%d\n", ntohs(a.sin_port));
  fflush(stdout);
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s FULLCHAIN.pem KEY.pem [normal|refuse|inject|helo|silent]\n",
            argv[0]);
    return 2;
  }
  const char *mode = argc > 3 ? argv[3] : "normal";
  signal(SIGPIPE, SIG_IGN);
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  int lfd = listen_loopback();
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
      continue;
    struct timeval tv = {.tv_sec = 10}; /* a stuck client must not block the others for long */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    serve(ctx, fd, mode);
    close(fd);
  }
}
