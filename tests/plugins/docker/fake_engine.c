/* The fake Docker Engine of fake_engine.h: one thread, poll() over the
 * listening socket, a wake-up pipe and up to FE_MAX_CONN connections. */
#include "config.h"

#include "fake_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FE_MAX_CONN 64
#define FE_REQ_MAX 8192

typedef struct fe_route_t {
  char *path;
  int status;
  char *body;
  size_t len;
  bool raw;
} fe_route_t;

typedef struct fe_conn {
  int fd;
  char in[FE_REQ_MAX];
  size_t in_len;
  char *out; /* the answer being written */
  size_t out_len, out_off;
  int64_t due; /* when the pending answer may go (monotonic ns); 0: none */
  bool close_after;
} fe_conn;

struct fake_engine {
  char *path;
  int lfd, wake[2];
  pthread_t thread;
  pthread_mutex_t lock;
  fe_route_t *routes;
  size_t nroutes;
  fe_mode mode;
  unsigned delay_ms;
  unsigned requests, peak, open;
  char *log;
  size_t log_len;
  fe_conn conns[FE_MAX_CONN];
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

char *fe_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  if (b) {
    b[n] = '\0';
    if (len)
      *len = (size_t)n;
  }
  return b;
}

/* ---- routes -------------------------------------------------------------------- */

static void set_route(fake_engine *fe, const char *path, int status, const char *body, size_t len,
                      bool raw) {
  pthread_mutex_lock(&fe->lock);
  fe_route_t *r = NULL;
  for (size_t i = 0; i < fe->nroutes; i++)
    if (strcmp(fe->routes[i].path, path) == 0)
      r = &fe->routes[i];
  if (!r) {
    fe->routes = realloc(fe->routes, (fe->nroutes + 1) * sizeof *fe->routes);
    r = &fe->routes[fe->nroutes++];
    r->path = strdup(path);
  } else {
    free(r->body);
  }
  r->status = status;
  r->body = malloc(len + 1);
  memcpy(r->body, body, len);
  r->body[len] = '\0';
  r->len = len;
  r->raw = raw;
  pthread_mutex_unlock(&fe->lock);
}

void fe_route(fake_engine *fe, const char *path, int status, const char *body) {
  set_route(fe, path, status, body, strlen(body), false);
}

void fe_route_file(fake_engine *fe, const char *path, int status, const char *file) {
  size_t len;
  char *b = fe_read_file(file, &len);
  if (!b) {
    fprintf(stderr, "fake_engine: cannot read %s\n", file);
    abort();
  }
  set_route(fe, path, status, b, len, false);
  free(b);
}

void fe_route_raw(fake_engine *fe, const char *path, const char *raw) {
  set_route(fe, path, 200, raw, strlen(raw), true);
}

void fe_route_hang(fake_engine *fe, const char *path) {
  set_route(fe, path, 0, "", 0, false);
}

void fe_set_mode(fake_engine *fe, fe_mode mode) {
  pthread_mutex_lock(&fe->lock);
  fe->mode = mode;
  pthread_mutex_unlock(&fe->lock);
}

void fe_set_delay(fake_engine *fe, unsigned ms) {
  pthread_mutex_lock(&fe->lock);
  fe->delay_ms = ms;
  pthread_mutex_unlock(&fe->lock);
}

static unsigned read_counter(fake_engine *fe, const unsigned *v) {
  pthread_mutex_lock(&fe->lock);
  unsigned n = *v;
  pthread_mutex_unlock(&fe->lock);
  return n;
}

unsigned fe_requests(fake_engine *fe) {
  return read_counter(fe, &fe->requests);
}
unsigned fe_peak_connections(fake_engine *fe) {
  return read_counter(fe, &fe->peak);
}
unsigned fe_open_connections(fake_engine *fe) {
  return read_counter(fe, &fe->open);
}

char *fe_log(fake_engine *fe) {
  pthread_mutex_lock(&fe->lock);
  char *s = strdup(fe->log ? fe->log : "");
  pthread_mutex_unlock(&fe->lock);
  return s;
}

/* ---- answering ------------------------------------------------------------------- */

static const char *reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 500:
    return "Internal Server Error";
  default:
    return "Status";
  }
}

static void log_target(fake_engine *fe, const char *target, size_t n) {
  fe->log = realloc(fe->log, fe->log_len + n + 2);
  memcpy(fe->log + fe->log_len, target, n);
  fe->log_len += n;
  fe->log[fe->log_len++] = '\n';
  fe->log[fe->log_len] = '\0';
}

/* Builds the answer to the request line `line` into c->out (lock held).
 * Returns false in FE_SILENT mode (no answer). */
static bool answer(fake_engine *fe, fe_conn *c, const char *line) {
  const char *sp = strchr(line, ' ');
  const char *target = sp ? sp + 1 : "";
  size_t tlen = strcspn(target, " ");
  size_t plen = strcspn(target, "? ");
  fe->requests++;
  log_target(fe, target, tlen);
  if (fe->mode == FE_SILENT)
    return false;
  const fe_route_t *r = NULL;
  for (size_t i = 0; i < fe->nroutes; i++)
    if (strlen(fe->routes[i].path) == plen && strncmp(fe->routes[i].path, target, plen) == 0)
      r = &fe->routes[i];
  if (r && r->status == 0)
    return false; /* fe_route_hang */
  if (r && r->raw) {
    c->out = strdup(r->body);
    c->out_len = r->len;
    c->close_after = true;
  } else {
    static const char nf[] = "{\"message\":\"page not found\"}";
    int status = r ? r->status : 404;
    const char *body = r ? r->body : nf;
    size_t blen = r ? r->len : strlen(nf);
    size_t cap = blen + 256;
    c->out = malloc(cap);
    int n = snprintf(c->out, cap,
                     "HTTP/1.1 %d %s\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
                     "Server: Docker/24.0.7 (linux)\r\nContent-Length: %zu\r\n\r\n",
                     status, reason(status), blen);
    memcpy(c->out + n, body, blen);
    c->out_len = (size_t)n + blen;
  }
  c->out_off = 0;
  c->due = mono_ns() + (int64_t)fe->delay_ms * 1000000LL;
  return true;
}

static void conn_close(fake_engine *fe, fe_conn *c) {
  close(c->fd);
  free(c->out);
  memset(c, 0, sizeof *c);
  c->fd = -1;
  pthread_mutex_lock(&fe->lock);
  fe->open--;
  pthread_mutex_unlock(&fe->lock);
}

/* Takes one complete request off c->in, if there is one and no answer is
 * pending. */
static void take_request(fake_engine *fe, fe_conn *c) {
  if (c->out)
    return;
  c->in[c->in_len] = '\0';
  char *end = strstr(c->in, "\r\n\r\n");
  if (!end)
    return;
  *end = '\0';
  char line[FE_REQ_MAX];
  snprintf(line, sizeof line, "%.*s", (int)strcspn(c->in, "\r\n"), c->in);
  size_t used = (size_t)(end + 4 - c->in);
  memmove(c->in, c->in + used, c->in_len - used);
  c->in_len -= used;
  pthread_mutex_lock(&fe->lock);
  answer(fe, c, line);
  pthread_mutex_unlock(&fe->lock);
}

static void on_readable(fake_engine *fe, fe_conn *c) {
  ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
  if (n <= 0) {
    conn_close(fe, c);
    return;
  }
  c->in_len += (size_t)n;
  take_request(fe, c);
}

static void on_writable(fake_engine *fe, fe_conn *c) {
  ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
  if (n < 0) {
    conn_close(fe, c);
    return;
  }
  c->out_off += (size_t)n;
  if (c->out_off < c->out_len)
    return;
  free(c->out);
  c->out = NULL;
  c->due = 0;
  if (c->close_after) {
    conn_close(fe, c);
    return;
  }
  take_request(fe, c); /* a pipelined request may be waiting */
}

static void on_accept(fake_engine *fe) {
  int fd = accept4(fe->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return;
  for (size_t i = 0; i < FE_MAX_CONN; i++) {
    if (fe->conns[i].fd >= 0)
      continue;
    fe->conns[i].fd = fd;
    pthread_mutex_lock(&fe->lock);
    if (++fe->open > fe->peak)
      fe->peak = fe->open;
    pthread_mutex_unlock(&fe->lock);
    return;
  }
  close(fd);
}

/* ---- the thread ------------------------------------------------------------------------ */

/* poll() set: wake pipe, listener, connections; returns the timeout in ms
 * until the earliest delayed answer is due (-1: none). */
static int build_pollset(fake_engine *fe, struct pollfd *p, fe_conn **who, size_t *n) {
  int64_t now = mono_ns(), next = -1;
  p[0] = (struct pollfd){.fd = fe->wake[0], .events = POLLIN};
  p[1] = (struct pollfd){.fd = fe->lfd, .events = POLLIN};
  *n = 2;
  for (size_t i = 0; i < FE_MAX_CONN; i++) {
    fe_conn *c = &fe->conns[i];
    if (c->fd < 0)
      continue;
    short ev = POLLIN;
    if (c->out && c->due <= now)
      ev |= POLLOUT;
    else if (c->out && (next < 0 || c->due < next))
      next = c->due;
    who[*n] = c;
    p[(*n)++] = (struct pollfd){.fd = c->fd, .events = ev};
  }
  if (next < 0)
    return -1;
  return (int)((next - now) / 1000000 + 1);
}

static void *run(void *arg) {
  fake_engine *fe = arg;
  struct pollfd p[FE_MAX_CONN + 2];
  fe_conn *who[FE_MAX_CONN + 2];
  for (;;) {
    size_t n;
    int timeout = build_pollset(fe, p, who, &n);
    if (poll(p, n, timeout) < 0 && errno != EINTR)
      break;
    if (p[0].revents)
      break;
    if (p[1].revents & POLLIN)
      on_accept(fe);
    for (size_t i = 2; i < n; i++) {
      fe_conn *c = who[i];
      if (c->fd < 0)
        continue;
      if (p[i].revents & POLLOUT)
        on_writable(fe, c);
      if (c->fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
        on_readable(fe, c);
    }
  }
  return NULL;
}

fake_engine *fe_start(const char *path) {
  fake_engine *fe = calloc(1, sizeof *fe);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (!fe || strlen(path) >= sizeof a.sun_path) {
    free(fe);
    return NULL;
  }
  for (size_t i = 0; i < FE_MAX_CONN; i++)
    fe->conns[i].fd = -1;
  strcpy(a.sun_path, path);
  unlink(path);
  fe->path = strdup(path);
  fe->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fe->lfd < 0 || bind(fe->lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
      listen(fe->lfd, 128) < 0 || pipe2(fe->wake, O_CLOEXEC) < 0) {
    if (fe->lfd >= 0)
      close(fe->lfd);
    free(fe->path);
    free(fe);
    return NULL;
  }
  pthread_mutex_init(&fe->lock, NULL);
  pthread_create(&fe->thread, NULL, run, fe);
  return fe;
}

void fe_stop(fake_engine *fe) {
  if (!fe)
    return;
  ssize_t w = write(fe->wake[1], "x", 1);
  (void)w;
  pthread_join(fe->thread, NULL);
  for (size_t i = 0; i < FE_MAX_CONN; i++)
    if (fe->conns[i].fd >= 0)
      conn_close(fe, &fe->conns[i]);
  close(fe->lfd);
  close(fe->wake[0]);
  close(fe->wake[1]);
  unlink(fe->path);
  for (size_t i = 0; i < fe->nroutes; i++) {
    free(fe->routes[i].path);
    free(fe->routes[i].body);
  }
  free(fe->routes);
  free(fe->log);
  free(fe->path);
  pthread_mutex_destroy(&fe->lock);
  free(fe);
}
