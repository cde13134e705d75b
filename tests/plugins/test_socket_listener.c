/* inputs.socket_listener through the real core: the input runs as the
 * agent runs a service input (twi_input_start / twi_input_stop) into the
 * record output's buffer, which the test flushes to <dir>/out.lp. The
 * clients are real sockets of this process on loopback and in a temporary
 * directory (TCP, UDP, unix stream and datagram), zlib for gzip, and the
 * openssl command (s_client) for TLS with client certificates. The daemon
 * against socat and nc is tests/integration/socket_listener.sh.
 *
 * The listener binds port 0; its log line "listening on tcp://...:PORT"
 * tells the test the port. Waiting is on the output buffer (polled), never
 * a fixed sleep, except where a test shows that something does NOT
 * happen. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include <tower/tower.h>

#include "check_run.h"
#include "fixtures/certs/certs.h"
#include "harness.h"
#include "log_internal.h"

static char *dir, *logpath;

static void setup(void) {
  dir = th_tmpdir();
  logpath = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  twi_log_set_level(TOWER_LOG_INFO);
}

static void teardown(void) {
  twi_log_set_file(NULL);
  th_rmrf(dir);
  free(dir);
  free(logpath);
}

/* ---- the pipeline ------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* socket_listener inputs (`inputs`: whole blocks) into a record output. */
static twi_pipeline *build(const char *inputs) {
  char *text = th_fmt("agent = { omit_hostname = true; };\n"
                      "inputs = ( %s );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; "
                      "metric_buffer_limit = 1000000; } );\n",
                      inputs, dir);
  twi_pipeline *pl = th_start(text, TWI_ONCE);
  free(text);
  return pl;
}

/* One listener block: service_address and more options. */
static twi_pipeline *listen_on(const char *address, const char *extra) {
  char *b = th_fmt("{ plugin = \"socket_listener\"; service_address = \"%s\"; %s }", address,
                   extra ? extra : "");
  twi_pipeline *pl = build(b);
  free(b);
  for (size_t i = 0; i < pl->ninputs; i++)
    ck_assert_int_eq(twi_input_start(pl->inputs[i], pl), 0);
  return pl;
}

static void stop_all(twi_pipeline *pl) {
  for (size_t i = 0; i < pl->ninputs; i++)
    ck_assert(twi_input_stop(pl->inputs[i], (int64_t)((now_s() + 10) * 1e9)));
}

static char *log_text(void) {
  char *t = th_read_file(logpath);
  return t ? t : strdup("");
}

/* The port the newest "listening on <scheme>://...:PORT" line names. */
static unsigned port_of(const char *scheme) {
  char *log = log_text(), *needle = th_fmt("listening on %s://", scheme);
  unsigned port = 0;
  for (char *p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
    char *end = strstr(p, " (");
    char *colon = end ? end : p;
    while (colon > p && *colon != ':')
      colon--;
    port = (unsigned)strtoul(colon + 1, NULL, 10);
  }
  free(needle);
  free(log);
  ck_assert_uint_ne(port, 0);
  return port;
}

/* Waits until the output holds `n` metrics (30 s at most). */
static size_t wait_buffered(twi_pipeline *pl, size_t n) {
  double end = now_s() + 30;
  size_t have;
  while ((have = twi_output_buffered(pl->outputs[0])) < n && now_s() < end)
    usleep(5000);
  return have;
}

static uint64_t errors_of(twi_pipeline *pl) {
  return atomic_load(&pl->inputs[0]->stats.errors);
}

/* Waits until the input counted `n` errors (10 s at most). */
static uint64_t wait_errors(twi_pipeline *pl, uint64_t n) {
  double end = now_s() + 10;
  while (errors_of(pl) < n && now_s() < end)
    usleep(5000);
  return errors_of(pl);
}

static char *flushed(twi_pipeline *pl) {
  ck_assert_uint_eq(th_flush(pl), 0);
  char *path = th_fmt("%s/out.lp", dir);
  char *text = th_read_file(path);
  free(path);
  return text ? text : strdup("");
}

static size_t count(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

static bool logged(const char *needle) {
  char *log = log_text();
  bool yes = strstr(log, needle) != NULL;
  free(log);
  return yes;
}

/* ---- clients ------------------------------------------------------------ */

static int tcp_connect(unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

static int unix_connect(const char *path, int type) {
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  ck_assert_int_ge(fd, 0);
  ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect %s: %s", path,
                strerror(errno));
  return fd;
}

static void send_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    ck_assert_msg(n > 0, "send: %s", strerror(errno));
    p += n;
    len -= (size_t)n;
  }
}

static void send_str(int fd, const char *s) {
  send_all(fd, s, strlen(s));
}

static void udp_send(unsigned port, const void *data, size_t len) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_int_eq(sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof a), (ssize_t)len);
  close(fd);
}

/* True once the server closed `fd` (EOF or reset) within `seconds`. */
static bool closed_by_server(int fd, double seconds) {
  double end = now_s() + seconds;
  char buf[64];
  while (now_s() < end) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 50) == 1) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno == ECONNRESET))
        return true;
    }
  }
  return false;
}

/* `text` compressed as one gzip member. */
static unsigned char *gzip(const char *text, size_t *len) {
  z_stream z = {0};
  ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&z, strlen(text));
  unsigned char *out = malloc(cap);
  z.next_in = (Bytef *)(uintptr_t)text;
  z.avail_in = (uInt)strlen(text);
  z.next_out = out;
  z.avail_out = (uInt)cap;
  ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  *len = cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

/* ---- stream sockets ----------------------------------------------------- */

/* Two connections interleave; lines split across writes are put back
 * together; a last line without a newline counts when the client ends the
 * stream. */
START_TEST(tcp_lines_across_writes) {
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", NULL);
  unsigned port = port_of("tcp");
  int a = tcp_connect(port), b = tcp_connect(port);
  send_str(a, "m,c=a v=1i 1\nm,c=a v=");
  send_str(b, "m,c=b v=1i 1\n");
  send_str(a, "2i 2\r\nm,c=a v=3i 3\nm,c=a v=4i");
  send_str(b, "m,c=b v=2i 2");
  send_str(a, " 4");
  shutdown(a, SHUT_WR);
  shutdown(b, SHUT_WR);
  ck_assert_uint_eq(wait_buffered(pl, 6), 6);
  close(a);
  close(b);
  stop_all(pl);
  char *out = flushed(pl);
  for (int i = 1; i <= 4; i++) {
    char line[64];
    snprintf(line, sizeof line, "m,c=a v=%di %d\n", i, i);
    ck_assert_msg(strstr(out, line), "missing %s in\n%s", line, out);
  }
  ck_assert_ptr_nonnull(strstr(out, "m,c=b v=1i 1\n"));
  ck_assert_ptr_nonnull(strstr(out, "m,c=b v=2i 2\n"));
  ck_assert_uint_eq(count(out, "\n"), 6);
  ck_assert_uint_eq(errors_of(pl), 0);
  ck_assert(logged("stopped after 2 connections (0 refused), 6 metrics, 0 lines too long"));
  free(out);
  th_free(pl);
}
END_TEST

/* A bad line is logged with the connection, counted, and skipped; the
 * lines around it are kept. */
START_TEST(parse_errors_skip_the_line) {
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", NULL);
  int fd = tcp_connect(port_of("tcp"));
  send_str(fd, "good v=1i 1\nnot line protocol\ngood v=2i 2\n");
  ck_assert_uint_eq(wait_buffered(pl, 2), 2);
  ck_assert_uint_eq(wait_errors(pl, 1), 1);
  close(fd);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_str_eq(out, "good v=1i 1\ngood v=2i 2\n");
  char *log = log_text();
  ck_assert_msg(strstr(log, "influx parse error in connection from 127.0.0.1:") &&
                    strstr(log, " at line 2, column "),
                "%s", log);
  ck_assert_ptr_nonnull(strstr(log, "1 influx parse error, the bad line skipped"));
  free(log);
  free(out);
  th_free(pl);
}
END_TEST

/* A line longer than max_line_size is an error for that line only, whether
 * it comes in one read or in many; the connection goes on. */
START_TEST(long_line_is_an_error_for_that_line) {
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", "max_line_size = \"1KiB\";");
  int fd = tcp_connect(port_of("tcp"));
  size_t big = 5000;
  char *line = malloc(big + 64);
  int n = snprintf(line, 64, "long s=\"");
  memset(line + n, 'x', big);
  strcpy(line + n + big, "\" 9\n");
  send_str(fd, "before v=1i 1\n");
  send_str(fd, line); /* in one piece, between good lines */
  send_str(fd, "middle v=2i 2\n");
  for (size_t off = 0; off < strlen(line); off += 700) { /* in pieces */
    size_t len = strlen(line) - off < 700 ? strlen(line) - off : 700;
    send_all(fd, line + off, len);
    usleep(2000);
  }
  send_str(fd, "after v=3i 3\n");
  /* exactly max_line_size bytes (without the newline) is still fine */
  char *edge = malloc(1024 + 2);
  n = snprintf(edge, 1024, "edge s=\"");
  memset(edge + n, 'y', 1024 - (size_t)n - 3);
  strcpy(edge + 1024 - 3, "\" 4\n"); /* 1024 bytes and the newline */
  ck_assert_uint_eq(strlen(edge), 1025);
  send_str(fd, edge);
  ck_assert_uint_eq(wait_buffered(pl, 4), 4);
  ck_assert_uint_eq(wait_errors(pl, 2), 2);
  ck_assert(!closed_by_server(fd, 0.1));
  close(fd);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_ptr_nonnull(strstr(out, "before v=1i 1\nmiddle v=2i 2\nafter v=3i 3\nedge s=\"yy"));
  ck_assert_ptr_null(strstr(out, "long"));
  ck_assert(logged("a line longer than max_line_size (1024 bytes) was skipped"));
  ck_assert(logged("2 lines too long"));
  free(out);
  free(edge);
  free(line);
  th_free(pl);
}
END_TEST

/* A thousand clients connected at once, each sending a line and staying
 * connected: one thread serves them all. */
START_TEST(thousand_connections) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 2200 && rl.rlim_max >= 2200) {
    rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", NULL);
  unsigned port = port_of("tcp");
  enum { N = 1000 };
  static int fds[N];
  for (int i = 0; i < N; i++)
    fds[i] = tcp_connect(port);
  for (int i = 0; i < N; i++) {
    char line[64];
    snprintf(line, sizeof line, "conn,i=%d v=%di 1\n", i, i);
    send_str(fds[i], line);
  }
  ck_assert_uint_eq(wait_buffered(pl, N), N);
  /* still open: a second line on each arrives too */
  for (int i = 0; i < N; i++)
    send_str(fds[i], "again v=1i 2\n");
  ck_assert_uint_eq(wait_buffered(pl, 2 * N), 2 * N);
  for (int i = 0; i < N; i++)
    close(fds[i]);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_uint_eq(count(out, "conn,i="), N);
  ck_assert_ptr_nonnull(strstr(out, "conn,i=999 v=999i 1\n"));
  ck_assert_uint_eq(count(out, "again v=1i 2\n"), N);
  ck_assert(logged("stopped after 1000 connections (0 refused)"));
  free(out);
  th_free(pl);
}
END_TEST

/* max_connections: the next client is accepted and closed at once, and
 * counted; the others go on. */
START_TEST(max_connections_refuses_the_next) {
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", "max_connections = 3;");
  unsigned port = port_of("tcp");
  int fds[3];
  for (int i = 0; i < 3; i++) {
    fds[i] = tcp_connect(port);
    send_str(fds[i], "ok v=1i 1\n");
  }
  ck_assert_uint_eq(wait_buffered(pl, 3), 3);
  int extra = tcp_connect(port);
  ck_assert(closed_by_server(extra, 5));
  ck_assert_uint_eq(wait_errors(pl, 1), 1);
  ck_assert(logged("refused: max_connections (3) are open"));
  close(extra);
  close(fds[0]); /* a slot frees up */
  double end = now_s() + 5;
  int again = -1;
  while (now_s() < end) {
    again = tcp_connect(port);
    send_str(again, "later v=1i 2\n");
    if (!closed_by_server(again, 0.2))
      break;
    close(again);
    again = -1;
  }
  ck_assert_int_ge(again, 0);
  ck_assert_uint_eq(wait_buffered(pl, 4), 4);
  close(again);
  close(fds[1]);
  close(fds[2]);
  stop_all(pl);
  th_free(pl);
}
END_TEST

/* A client that trickles its line delays nobody: another client's 5000
 * lines arrive while the slow line is still incomplete, and the slow line
 * arrives once complete. */
START_TEST(slow_client_delays_nobody) {
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", NULL);
  unsigned port = port_of("tcp");
  int slow = tcp_connect(port), fast = tcp_connect(port);
  const char *slow_line = "slow v=1i 1\n";
  send_all(slow, slow_line, 3);
  tower_buf *b = tower_buf_new(0);
  for (int i = 0; i < 5000; i++)
    tower_buf_printf(b, "fast v=%di %d\n", i, i);
  double t0 = now_s();
  send_all(fast, tower_buf_data(b), tower_buf_len(b));
  ck_assert_uint_eq(wait_buffered(pl, 5000), 5000);
  double took = now_s() - t0;
  for (const char *p = slow_line + 3; *p; p++) { /* one byte at a time */
    send_all(slow, p, 1);
    usleep(10000);
  }
  ck_assert_uint_eq(wait_buffered(pl, 5001), 5001);
  close(slow);
  close(fast);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_ptr_nonnull(strstr(out, "slow v=1i 1\n"));
  ck_assert_uint_eq(count(out, "fast v="), 5000);
  ck_assert_msg(took < 5, "5000 lines took %.2fs", took);
  free(out);
  tower_buf_free(b);
  th_free(pl);
}
END_TEST

/* read_timeout is Telegraf's: the time to send the next complete line.
 * Trickling bytes does not keep a connection open; sending lines does. */
START_TEST(read_timeout_cuts_lines_that_never_end) {
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", "read_timeout = \"400ms\";");
  unsigned port = port_of("tcp");
  int trickle = tcp_connect(port), steady = tcp_connect(port);
  double t0 = now_s();
  bool cut = false;
  size_t lines = 0;
  for (int i = 0; i < 40 && !cut; i++) { /* a byte, never a newline, for 2 s */
    send(trickle, "x", 1, MSG_NOSIGNAL);
    char line[64];
    snprintf(line, sizeof line, "steady v=%di %d\n", i, i);
    send_str(steady, line);
    lines++;
    cut = closed_by_server(trickle, 0.05);
  }
  double took = now_s() - t0;
  ck_assert_msg(cut, "the trickling connection was not closed");
  ck_assert_msg(took >= 0.35 && took < 1.5, "closed after %.2fs", took);
  ck_assert(!closed_by_server(steady, 0.05));
  send_str(steady, "last v=1i 1\n");
  ck_assert_uint_eq(wait_buffered(pl, lines + 1), lines + 1);
  close(trickle);
  close(steady);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_ptr_nonnull(strstr(out, "last v=1i 1\n"));
  ck_assert_ptr_null(strstr(out, "x"));
  ck_assert_uint_eq(errors_of(pl), 0); /* Telegraf's too: a timeout is no error */
  free(out);
  th_free(pl);
}
END_TEST

/* unix stream socket: socket_mode, a stale socket file replaced, the file
 * removed at stop; a regular file in the way is never removed. */
START_TEST(unix_stream_socket) {
  char *path = th_fmt("%s/in.sock", dir);
  /* a stale socket: bound, then its owner gone */
  int stale = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  ck_assert_int_eq(bind(stale, (struct sockaddr *)&a, sizeof a), 0);
  close(stale);
  char *address = th_fmt("unix://%s", path);
  twi_pipeline *pl = listen_on(address, "socket_mode = \"620\";");
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert(S_ISSOCK(st.st_mode));
  ck_assert_uint_eq(st.st_mode & 07777, 0620);
  int fd = unix_connect(path, SOCK_STREAM);
  send_str(fd, "u v=1i 1\nu v=2i 2\n");
  ck_assert_uint_eq(wait_buffered(pl, 2), 2);
  send_str(fd, "bad\n");
  ck_assert_uint_eq(wait_errors(pl, 1), 1);
  close(fd);
  stop_all(pl);
  ck_assert_int_ne(stat(path, &st), 0);
  char *out = flushed(pl);
  ck_assert_str_eq(out, "u v=1i 1\nu v=2i 2\n");
  /* the peer is named by its process */
  char *want = th_fmt("unix peer pid %d uid %d", (int)getpid(), (int)getuid());
  ck_assert_msg(logged(want), "no \"%s\" in the log", want);
  free(want);
  free(out);
  th_free(pl);

  /* a regular file where the socket goes: start fails, the file stays */
  ck_assert_int_eq(th_write_file(path, "keep me"), 0);
  char *b = th_fmt("{ plugin = \"socket_listener\"; service_address = \"%s\"; }", address);
  pl = build(b);
  ck_assert_int_ne(twi_input_start(pl->inputs[0], pl), 0);
  stop_all(pl); /* what the agent does with a failed input: frees its runtime */
  ck_assert(logged("exists and is not a socket; remove it or choose another path"));
  char *kept = th_read_file(path);
  ck_assert_str_eq(kept, "keep me");
  free(kept);
  th_free(pl);
  free(b);
  free(address);
  free(path);
}
END_TEST

/* A second listener on a live unix socket is refused, and does not take
 * the first one's socket away. */
START_TEST(unix_socket_in_use) {
  char *path = th_fmt("%s/busy.sock", dir);
  char *address = th_fmt("unix://%s", path);
  twi_pipeline *one = listen_on(address, "alias = \"one\";");
  char *b = th_fmt("{ plugin = \"socket_listener\"; alias = \"two\"; service_address = \"%s\"; }",
                   address);
  twi_pipeline *two = build(b);
  ck_assert_int_ne(twi_input_start(two->inputs[0], two), 0);
  stop_all(two);
  ck_assert(logged("another process listens on"));
  th_free(two);
  int fd = unix_connect(path, SOCK_STREAM);
  send_str(fd, "still v=1i 1\n");
  ck_assert_uint_eq(wait_buffered(one, 1), 1);
  close(fd);
  stop_all(one);
  th_free(one);
  free(b);
  free(address);
  free(path);
}
END_TEST

/* unixgram: each datagram is one message, here one json document. */
START_TEST(unixgram_json) {
  char *path = th_fmt("%s/dgram.sock", dir);
  char *address = th_fmt("unixgram://%s", path);
  twi_pipeline *pl =
      listen_on(address, "data_format = \"json\"; tag_keys = [\"host\"]; json_name_key = \"n\";");
  int fd = unix_connect(path, SOCK_DGRAM);
  send_str(fd, "{\"n\":\"temp\",\"host\":\"h1\",\"v\":21.5}");
  send_str(fd, "[{\"host\":\"h2\",\"v\":1},{\"host\":\"h3\",\"v\":2}]");
  send_str(fd, "{broken");
  ck_assert_uint_eq(wait_buffered(pl, 3), 3);
  ck_assert_uint_eq(wait_errors(pl, 1), 1);
  close(fd);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_ptr_nonnull(strstr(out, "temp,host=h1 v=21.5 "));
  ck_assert_ptr_nonnull(strstr(out, "socket_listener,host=h2 v=1 "));
  ck_assert_ptr_nonnull(strstr(out, "socket_listener,host=h3 v=2 "));
  ck_assert(logged("datagram from a unix peer: 1 json parse error"));
  free(out);
  free(address);
  free(path);
  th_free(pl);
}
END_TEST

/* json over a stream: one document per line (Telegraf's framing). */
START_TEST(tcp_json_lines) {
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", "data_format = \"json\";");
  int fd = tcp_connect(port_of("tcp"));
  send_str(fd, "{\"a\":1}\n\n{\"a\":2}\r\n{\"a\":");
  send_str(fd, "3}");
  shutdown(fd, SHUT_WR);
  ck_assert_uint_eq(wait_buffered(pl, 3), 3);
  close(fd);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_uint_eq(count(out, "socket_listener a="), 3);
  ck_assert_ptr_nonnull(strstr(out, "socket_listener a=3 "));
  ck_assert_uint_eq(errors_of(pl), 0);
  free(out);
  th_free(pl);
}
END_TEST

/* prometheus over a stream: a connection is one exposition, so a
 * histogram's lines become one metric even across writes. */
START_TEST(tcp_prometheus_histogram) {
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", "data_format = \"prometheus\";");
  int fd = tcp_connect(port_of("tcp"));
  send_str(fd, "# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 3\n");
  send_str(fd, "lat_bucket{le=\"+Inf\"} 5\nlat_sum 0.7\nlat_count 5\n");
  send_str(fd, "# TYPE req counter\nreq{code=\"200\"} 42\n");
  shutdown(fd, SHUT_WR);
  ck_assert_uint_eq(wait_buffered(pl, 2), 2);
  close(fd);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_msg(strstr(out, "lat +Inf=5,0.1=3,count=5,sum=0.7 "), "%s", out);
  ck_assert_uint_eq(count(out, "\n"), 2);
  ck_assert_ptr_nonnull(strstr(out, "req,code=200 counter=42 "));
  free(out);
  th_free(pl);
}
END_TEST

/* ---- datagrams ---------------------------------------------------------- */

START_TEST(udp_datagrams) {
  twi_pipeline *pl = listen_on("udp4://127.0.0.1:0", NULL);
  unsigned port = port_of("udp4");
  const char *d1 = "d v=1i 1\nd v=2i 2\n", *d2 = "d v=3i 3", *d3 = "nonsense";
  udp_send(port, d1, strlen(d1));
  udp_send(port, d2, strlen(d2));
  udp_send(port, d3, strlen(d3));
  ck_assert_uint_eq(wait_buffered(pl, 3), 3);
  ck_assert_uint_eq(wait_errors(pl, 1), 1);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_str_eq(out, "d v=1i 1\nd v=2i 2\nd v=3i 3\n");
  ck_assert(logged("datagram from 127.0.0.1:"));
  ck_assert(logged("stopped after 3 metrics"));
  free(out);
  th_free(pl);
}
END_TEST

/* udp:// on any address takes IPv4 and IPv6 (one dual-stack socket). */
START_TEST(udp_dual_stack) {
  twi_pipeline *pl = listen_on("udp://:0", NULL);
  unsigned port = port_of("udp");
  udp_send(port, "v4 v=1i 1", 9);
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
  a6.sin6_addr = in6addr_loopback;
  size_t expect = 1;
  if (fd >= 0 && sendto(fd, "v6 v=1i 1", 9, 0, (struct sockaddr *)&a6, sizeof a6) == 9)
    expect = 2; /* a host without IPv6 has only the IPv4 path */
  if (fd >= 0)
    close(fd);
  ck_assert_uint_eq(wait_buffered(pl, expect), expect);
  stop_all(pl);
  th_free(pl);
}
END_TEST

/* gzip per datagram: all or nothing, bounded by max_decompression_size. */
START_TEST(udp_gzip) {
  twi_pipeline *pl = listen_on("udp4://127.0.0.1:0",
                               "content_encoding = \"gzip\"; max_decompression_size = \"2kB\";");
  unsigned port = port_of("udp4");
  size_t len;
  unsigned char *z = gzip("g v=1i 1\ng v=2i 2\n", &len);
  udp_send(port, z, len);
  free(z);
  tower_buf *b = tower_buf_new(0);
  for (int i = 0; i < 200; i++) /* ~2.4 kB: over the limit */
    tower_buf_printf(b, "big v=%di %d\n", i, i);
  z = gzip(tower_buf_data(b), &len);
  udp_send(port, z, len);
  z[len / 2] ^= 0xff; /* corrupt */
  udp_send(port, z, len);
  free(z);
  udp_send(port, "not gzip", 8);
  ck_assert_uint_eq(wait_errors(pl, 3), 3);
  ck_assert_uint_eq(wait_buffered(pl, 2), 2);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_str_eq(out, "g v=1i 1\ng v=2i 2\n");
  ck_assert(logged("inflates to more than max_decompression_size (2000 bytes); skipped"));
  ck_assert(logged("corrupt gzip data; skipped"));
  free(out);
  tower_buf_free(b);
  th_free(pl);
}
END_TEST

/* gzip over a stream: members one after the other, sent in small pieces;
 * corrupt data ends the connection (and is counted). */
START_TEST(tcp_gzip_stream) {
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", "content_encoding = \"gzip\";");
  unsigned port = port_of("tcp");
  int fd = tcp_connect(port);
  size_t l1, l2;
  unsigned char *m1 = gzip("z v=1i 1\nz v=2i 2\nz v=", &l1), *m2 = gzip("3i 3\n", &l2);
  for (size_t i = 0; i < l1; i += 7)
    send_all(fd, m1 + i, l1 - i < 7 ? l1 - i : 7);
  send_all(fd, m2, l2);
  ck_assert_uint_eq(wait_buffered(pl, 3), 3);
  close(fd);
  fd = tcp_connect(port);
  m1[l1 / 2] ^= 0x55;
  m1[l1 / 2 + 1] ^= 0x55;
  send_all(fd, m1, l1);
  ck_assert(closed_by_server(fd, 5));
  ck_assert_uint_eq(wait_errors(pl, 1), 1);
  close(fd);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_ptr_nonnull(strstr(out, "z v=1i 1\nz v=2i 2\nz v=3i 3\n"));
  ck_assert(logged("corrupt gzip data"));
  free(out);
  free(m1);
  free(m2);
  th_free(pl);
}
END_TEST

/* A compressed burst that inflates to much more than one turn's worth
 * arrives whole (the rest waits in the connection between turns). */
START_TEST(tcp_gzip_large_burst) {
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", "content_encoding = \"zlib\";");
  int fd = tcp_connect(port_of("tcp"));
  tower_buf *b = tower_buf_new(0);
  for (int i = 0; i < 100000; i++)
    tower_buf_printf(b, "burst,host=web%03d usage=%d.5 %d\n", i % 100, i, i);
  uLongf len = compressBound(tower_buf_len(b));
  unsigned char *z = malloc(len);
  ck_assert_int_eq(compress(z, &len, (const Bytef *)tower_buf_data(b), tower_buf_len(b)), Z_OK);
  send_all(fd, z, len);
  shutdown(fd, SHUT_WR);
  ck_assert_uint_eq(wait_buffered(pl, 100000), 100000);
  close(fd);
  stop_all(pl);
  ck_assert_uint_eq(errors_of(pl), 0);
  free(z);
  tower_buf_free(b);
  th_free(pl);
}
END_TEST

/* ---- TLS ---------------------------------------------------------------- */

/* openssl s_client sends `input` over TLS; its exit status. */
static int s_client(unsigned port, const char *args, const char *input) {
  char *in = th_fmt("%s/in.txt", dir);
  ck_assert_int_eq(th_write_file(in, input), 0);
  char *cmd = th_fmt("cd '%s' && openssl s_client -connect 127.0.0.1:%u -quiet -no_ign_eof "
                     "-CAfile ca.pem %s < in.txt > s_client.out 2>&1",
                     dir, port, args);
  int rc = system(cmd);
  free(cmd);
  free(in);
  return rc;
}

START_TEST(tls_with_client_certificates) {
  char *why = certs_make(dir);
  ck_assert_msg(why == NULL, "%s", why);
  char *opts = th_fmt("tls_cert = \"%s/server.pem\"; tls_key = \"%s/server.key\"; "
                      "tls_allowed_cacerts = [\"%s/ca.pem\"];",
                      dir, dir, dir);
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", opts);
  unsigned port = port_of("tcp");
  ck_assert(logged("(influx data, TLS with client certificates)"));
  s_client(port, "-cert client.pem -key client.key", "tls v=1i 1\ntls v=2i 2\n");
  ck_assert_uint_eq(wait_buffered(pl, 2), 2);
  /* no certificate, then one the CAs did not sign: refused and counted */
  s_client(port, "", "nocert v=1i 1\n");
  ck_assert_uint_eq(wait_errors(pl, 1), 1);
  s_client(port, "-cert other.pem -key other.key", "other v=1i 1\n");
  ck_assert_uint_eq(wait_errors(pl, 2), 2);
  /* plain text to the TLS port */
  int fd = tcp_connect(port);
  send_str(fd, "plain v=1i 1\n");
  ck_assert(closed_by_server(fd, 5));
  close(fd);
  ck_assert_uint_eq(wait_errors(pl, 3), 3);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_str_eq(out, "tls v=1i 1\ntls v=2i 2\n");
  ck_assert(logged("the client sent no certificate, and tls_allowed_cacerts requires one"));
  ck_assert(logged("its client certificate does not verify against tls_allowed_cacerts"));
  ck_assert(logged("is the client speaking plain text to TLS?"));
  free(out);
  free(opts);
  th_free(pl);
}
END_TEST

/* TLS without client certificates; tls_min_version = TLS13 refuses 1.2. */
START_TEST(tls_server_only) {
  char *why = certs_make(dir);
  ck_assert_msg(why == NULL, "%s", why);
  char *opts = th_fmt("tls_cert = \"%s/server.pem\"; tls_key = \"%s/server.key\"; "
                      "tls_min_version = \"TLS13\";",
                      dir, dir);
  twi_pipeline *pl = listen_on("tcp://127.0.0.1:0", opts);
  unsigned port = port_of("tcp");
  ck_assert(logged("(influx data, TLS)"));
  ck_assert_int_eq(s_client(port, "", "plain v=1i 1\n"), 0);
  ck_assert_uint_eq(wait_buffered(pl, 1), 1);
  s_client(port, "-tls1_2", "old v=1i 1\n");
  ck_assert_uint_eq(wait_errors(pl, 1), 1);
  stop_all(pl);
  char *out = flushed(pl);
  ck_assert_str_eq(out, "plain v=1i 1\n");
  free(out);
  free(opts);
  th_free(pl);
}
END_TEST

/* ---- configuration ------------------------------------------------------ */

/* Builds and inits a pipeline that must fail; returns what was reported. */
static char *rejected(const char *block) {
  char *text = th_fmt("inputs = ( { plugin = \"socket_listener\"; %s } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                      block);
  char *errors = NULL;
  twi_pipeline *pl = th_build(text, TWI_ONCE, &errors);
  if (pl && twi_pipeline_init(pl) == 0) {
    th_free(pl);
    ck_abort_msg("accepted: %s", block);
  }
  if (pl)
    th_free(pl);
  free(text);
  char *log = log_text();
  char *all = th_fmt("%s%s", errors ? errors : "", log);
  free(errors);
  free(log);
  return all;
}

static void expect_rejected(const char *block, const char *message) {
  char *all = rejected(block);
  ck_assert_msg(strstr(all, message), "for %s: no \"%s\" in:\n%s", block, message, all);
  free(all);
}

START_TEST(config_errors) {
  expect_rejected("service_address = \"http://:80\";", "unknown scheme \"http\"; use tcp");
  expect_rejected("service_address = \":8094\";", "no scheme; write tcp://:8094");
  expect_rejected("service_address = \"tcp://::1:8094\";", "write an IPv6 address in brackets");
  expect_rejected("service_address = \"tcp://127.0.0.1\";", "no port");
  expect_rejected("service_address = \"tcp://127.0.0.1:nosuchservice\";", "cannot resolve");
  expect_rejected("service_address = \"unix://\";", "no socket path");
  expect_rejected("service_address = \"tcp://:8094\"; socket_mode = \"660\";",
                  "socket_mode applies to unix sockets only");
  expect_rejected("service_address = \"unix:///tmp/x.sock\"; socket_mode = \"rw\";",
                  "is not a file mode in octal");
  expect_rejected("service_address = \"tcp://:8094\"; tls_cert = \"/x.pem\";",
                  "tls_cert and tls_key go together");
  expect_rejected("service_address = \"tcp://:8094\"; tls_cert = \"/nonexistent/x.pem\"; "
                  "tls_key = \"/nonexistent/x.key\";",
                  "tls_cert \"/nonexistent/x.pem\": ");
  char *why = certs_make(dir);
  ck_assert_msg(why == NULL, "%s", why);
  char *b = th_fmt("service_address = \"udp://:8094\"; tls_cert = \"%s/server.pem\"; "
                   "tls_key = \"%s/server.key\";",
                   dir, dir);
  expect_rejected(b, "TLS needs a stream socket");
  free(b);
  b = th_fmt("service_address = \"tcp://:8094\"; tls_cert = \"%s/server.key\"; "
             "tls_key = \"%s/server.key\";",
             dir, dir);
  expect_rejected(b, "it holds a private key but no certificate");
  free(b);
  b = th_fmt("service_address = \"tcp://:8094\"; tls_cert = \"%s/server.pem\"; "
             "tls_key = \"%s/client.key\";",
             dir, dir);
  expect_rejected(b, "is the key the one of this certificate");
  free(b);
  expect_rejected("service_address = \"tcp://:8094\"; max_line_size = \"2MiB\";", "max_line_size");
}
END_TEST

/* A port someone holds: start fails with the reason; the instance can be
 * destroyed cleanly. */
START_TEST(port_in_use) {
  twi_pipeline *one = listen_on("tcp://127.0.0.1:0", NULL);
  unsigned port = port_of("tcp");
  char *addr =
      th_fmt("{ plugin = \"socket_listener\"; service_address = \"tcp://127.0.0.1:%u\"; }", port);
  twi_pipeline *two = build(addr);
  ck_assert_int_ne(twi_input_start(two->inputs[0], two), 0);
  stop_all(two);
  ck_assert(logged("Address already in use; another program (or another socket_listener) holds"));
  th_free(two);
  stop_all(one);
  th_free(one);
  free(addr);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.socket_listener");
  TCase *t = tcase_create("socket_listener");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 120);
  tcase_add_test(t, tcp_lines_across_writes);
  tcase_add_test(t, parse_errors_skip_the_line);
  tcase_add_test(t, long_line_is_an_error_for_that_line);
  tcase_add_test(t, thousand_connections);
  tcase_add_test(t, max_connections_refuses_the_next);
  tcase_add_test(t, slow_client_delays_nobody);
  tcase_add_test(t, read_timeout_cuts_lines_that_never_end);
  tcase_add_test(t, unix_stream_socket);
  tcase_add_test(t, unix_socket_in_use);
  tcase_add_test(t, unixgram_json);
  tcase_add_test(t, tcp_json_lines);
  tcase_add_test(t, tcp_prometheus_histogram);
  tcase_add_test(t, udp_datagrams);
  tcase_add_test(t, udp_dual_stack);
  tcase_add_test(t, udp_gzip);
  tcase_add_test(t, tcp_gzip_stream);
  tcase_add_test(t, tcp_gzip_large_burst);
  tcase_add_test(t, tls_with_client_certificates);
  tcase_add_test(t, tls_server_only);
  tcase_add_test(t, config_errors);
  tcase_add_test(t, port_in_use);
  suite_add_tcase(s, t);
  return check_run(s);
}
