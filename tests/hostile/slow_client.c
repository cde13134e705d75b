/* slow_client: a hostile HTTP(S) client for tests/hostile/slow_clients.sh.
 * It opens COUNT connections to HOST:PORT from one or more local source
 * addresses and holds them the way a slowloris attack does:
 *
 *   idle     connects and sends nothing (also what a TLS client that never
 *            starts its handshake looks like);
 *   trickle  sends a request whose headers never end ("GET /metrics
 *            HTTP/1.1\r\nHost: x\r\nX-Slow: aaaa..."), one byte per
 *            interval, so every byte is activity that resets an idle
 *            timeout;
 *   tls      starts a TLS handshake record announcing 512 bytes and sends
 *            them one byte per interval, so the handshake never completes.
 *
 * With -r it reconnects every connection the server closes (after -R ms),
 * keeping the pressure up for the whole run, as an attacker would. It
 * stops after -d seconds or on SIGTERM/SIGINT and prints one summary line:
 *
 *   opened=N established=N failed=N refused=N cut=N open=N max_held=N
 *   cut_min_ms=N cut_p50_ms=N cut_max_ms=N
 *
 * "refused": the server closed the connection within 500 ms of its
 * establishment (a connection limit at work); "cut": closed later (a
 * deadline at work), with its lifetime in cut_*_ms; "held": open for 500
 * ms or more (max_held: the most at one time). While it runs, -o FILE is
 * rewritten every 100 ms with "open N held N established N refused N cut
 * N", so a test can wait until the attack is in place. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REFUSED_MS 500
#define MAX_CUTS 200000

enum mode { IDLE, TRICKLE, TLS };

typedef struct conn {
  int fd;             /* -1: closed, waiting to reconnect (or done) */
  bool established;   /* the TCP handshake completed */
  int64_t t_open;     /* when connect() was called: lifetimes count from there, an
                         upper bound of the server's view, whatever this loop's lag */
  int64_t t_next;     /* next byte due (trickle, tls); reconnect time when closed */
  size_t sent;        /* bytes of the script sent */
  struct in_addr src; /* source address */
} conn;

typedef struct opts {
  enum mode mode;
  unsigned count, interval_ms, duration_s, reconnect_ms;
  bool reconnect;
  const char *status_file;
  struct in_addr src_first;
  unsigned nsrc;
  struct sockaddr_in target;
} opts;

typedef struct stats {
  unsigned long opened, established, failed, refused, cut, open, held, max_held;
  int64_t *cuts; /* lifetimes of the cut connections, ms */
  size_t ncuts;
} stats;

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *msg) {
  fprintf(stderr, "slow_client: %s\n", msg);
  exit(2);
}

/* The byte number i of what the mode sends. */
static char script_byte(enum mode m, size_t i) {
  static const char http[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  static const unsigned char tls[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
  if (m == TLS)
    return (char)(i < sizeof tls ? tls[i] : 0);
  return i < sizeof http - 1 ? http[i] : 'a';
}

static void conn_open(conn *c, const opts *o, stats *st) {
  c->established = false;
  c->sent = 0;
  c->t_open = now_ms();
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = c->src};
  if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&src, sizeof src) ||
      (connect(c->fd, (const struct sockaddr *)&o->target, sizeof o->target) &&
       errno != EINPROGRESS)) {
    if (c->fd >= 0)
      close(c->fd);
    c->fd = -1;
    c->t_next = o->reconnect ? now_ms() + o->reconnect_ms : INT64_MAX;
    st->failed++;
    return;
  }
  st->opened++;
}

static void conn_closed(conn *c, const opts *o, stats *st, int64_t now) {
  close(c->fd);
  c->fd = -1;
  if (c->established) {
    st->open--;
    int64_t life = now - c->t_open;
    if (life < REFUSED_MS)
      st->refused++;
    else if (st->ncuts < MAX_CUTS) {
      st->cut++;
      st->cuts[st->ncuts++] = life;
    }
  } else {
    st->failed++;
  }
  c->t_next = o->reconnect ? now + o->reconnect_ms : INT64_MAX;
}

static void conn_established(conn *c, const opts *o, stats *st, int64_t now) {
  c->established = true;
  c->t_next = now;
  st->established++;
  st->open++;
  (void)o;
}

/* Connections open for REFUSED_MS or more right now. */
static void count_held(const conn *cs, unsigned n, stats *st, int64_t now) {
  unsigned long held = 0;
  for (unsigned i = 0; i < n; i++)
    held += cs[i].fd >= 0 && cs[i].established && now - cs[i].t_open >= REFUSED_MS;
  st->held = held;
  if (held > st->max_held)
    st->max_held = held;
}

/* Handles poll events of one connection. */
static void conn_event(conn *c, short revents, const opts *o, stats *st, int64_t now) {
  if (!c->established) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err || (revents & (POLLERR | POLLHUP)))
      conn_closed(c, o, st, now);
    else if (revents & POLLOUT)
      conn_established(c, o, st, now);
    return;
  }
  if (revents & (POLLIN | POLLERR | POLLHUP)) {
    char buf[4096];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      conn_closed(c, o, st, now);
  }
}

/* Sends the next byte when one is due. */
static void conn_tick(conn *c, const opts *o, stats *st, int64_t now) {
  if (c->fd < 0) {
    if (now >= c->t_next && c->t_next != INT64_MAX)
      conn_open(c, o, st);
    return;
  }
  if (!c->established || o->mode == IDLE || now < c->t_next)
    return;
  char b = script_byte(o->mode, c->sent);
  if (send(c->fd, &b, 1, MSG_NOSIGNAL) == 1)
    c->sent++;
  c->t_next = now + o->interval_ms;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void write_status(const opts *o, const stats *st) {
  if (!o->status_file)
    return;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", o->status_file);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return;
  fprintf(f, "open %lu held %lu established %lu refused %lu cut %lu\n", st->open, st->held,
          st->established, st->refused, st->cut);
  fclose(f);
  rename(tmp, o->status_file);
}

static void print_summary(stats *st) {
  qsort(st->cuts, st->ncuts, sizeof *st->cuts, cmp_i64);
  int64_t mn = st->ncuts ? st->cuts[0] : 0, md = st->ncuts ? st->cuts[st->ncuts / 2] : 0,
          mx = st->ncuts ? st->cuts[st->ncuts - 1] : 0;
  printf("opened=%lu established=%lu failed=%lu refused=%lu cut=%lu open=%lu max_held=%lu "
         "cut_min_ms=%lld cut_p50_ms=%lld cut_max_ms=%lld\n",
         st->opened, st->established, st->failed, st->refused, st->cut, st->open, st->max_held,
         (long long)mn, (long long)md, (long long)mx);
  fflush(stdout);
}

static void run(conn *cs, const opts *o, stats *st) {
  struct pollfd *pf = calloc(o->count, sizeof *pf);
  if (!pf)
    die("out of memory");
  int64_t end = now_ms() + (int64_t)o->duration_s * 1000, last_status = 0;
  while (!stop && now_ms() < end) {
    for (unsigned i = 0; i < o->count; i++) {
      pf[i].fd = cs[i].fd;
      pf[i].events = cs[i].established ? POLLIN : POLLOUT;
      pf[i].revents = 0;
    }
    poll(pf, o->count, 20);
    int64_t now = now_ms();
    for (unsigned i = 0; i < o->count; i++) {
      if (cs[i].fd >= 0 && pf[i].revents)
        conn_event(&cs[i], pf[i].revents, o, st, now);
      conn_tick(&cs[i], o, st, now);
    }
    if (now - last_status >= 100) {
      count_held(cs, o->count, st, now);
      write_status(o, st);
      last_status = now;
    }
  }
  write_status(o, st);
  free(pf);
}

/* "127.0.0.2" or "127.0.0.2+100" (100 consecutive addresses). */
static void parse_sources(const char *text, opts *o) {
  char addr[64];
  const char *plus = strchr(text, '+');
  size_t len = plus ? (size_t)(plus - text) : strlen(text);
  if (len >= sizeof addr)
    die("bad -s");
  memcpy(addr, text, len);
  addr[len] = '\0';
  if (inet_pton(AF_INET, addr, &o->src_first) != 1)
    die("-s wants an IPv4 address, optionally +N");
  o->nsrc = plus ? (unsigned)atoi(plus + 1) : 1;
  if (o->nsrc == 0)
    die("-s: +N wants N >= 1");
}

static void parse_target(const char *text, opts *o) {
  char host[64];
  const char *colon = strrchr(text, ':');
  if (!colon || (size_t)(colon - text) >= sizeof host)
    die("target is HOST:PORT (IPv4)");
  memcpy(host, text, (size_t)(colon - text));
  host[colon - text] = '\0';
  o->target.sin_family = AF_INET;
  o->target.sin_port = htons((uint16_t)atoi(colon + 1));
  if (inet_pton(AF_INET, host, &o->target.sin_addr) != 1)
    die("target is HOST:PORT (IPv4)");
}

static void parse(int argc, char **argv, opts *o) {
  *o = (opts){.mode = IDLE,
              .count = 64,
              .interval_ms = 1000,
              .duration_s = 30,
              .reconnect_ms = 200,
              .nsrc = 1};
  inet_pton(AF_INET, "127.0.0.2", &o->src_first);
  int ch;
  while ((ch = getopt(argc, argv, "m:n:s:i:d:rR:o:")) != -1) {
    switch (ch) {
    case 'm':
      o->mode = !strcmp(optarg, "trickle") ? TRICKLE : !strcmp(optarg, "tls") ? TLS : IDLE;
      break;
    case 'n':
      o->count = (unsigned)atoi(optarg);
      break;
    case 's':
      parse_sources(optarg, o);
      break;
    case 'i':
      o->interval_ms = (unsigned)atoi(optarg);
      break;
    case 'd':
      o->duration_s = (unsigned)atoi(optarg);
      break;
    case 'r':
      o->reconnect = true;
      break;
    case 'R':
      o->reconnect_ms = (unsigned)atoi(optarg);
      break;
    case 'o':
      o->status_file = optarg;
      break;
    default:
      die("usage: slow_client [-m idle|trickle|tls] [-n COUNT] [-s SRC[+N]] [-i MS] [-d SECS] "
          "[-r] [-R MS] [-o STATUS] HOST:PORT");
    }
  }
  if (optind != argc - 1 || o->count == 0)
    die("one target HOST:PORT and -n >= 1");
  parse_target(argv[optind], o);
}

int main(int argc, char **argv) {
  opts o;
  parse(argc, argv, &o);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  conn *cs = calloc(o.count, sizeof *cs);
  stats st = {.cuts = calloc(MAX_CUTS, sizeof(int64_t))};
  if (!cs || !st.cuts)
    die("out of memory");
  for (unsigned i = 0; i < o.count; i++) {
    cs[i].src.s_addr = htonl(ntohl(o.src_first.s_addr) + i % o.nsrc);
    conn_open(&cs[i], &o, &st);
  }
  run(cs, &o, &st);
  print_summary(&st);
  for (unsigned i = 0; i < o.count; i++)
    if (cs[i].fd >= 0)
      close(cs[i].fd);
  free(cs);
  free(st.cuts);
  return 0;
}
