/* inputs.socket_listener throughput: lines of line protocol sent over
 * loopback by a client in a child process, parsed by one socket_listener
 * instance running in this process through the real core (accumulator,
 * commits, an output buffer), the way the agent runs a service input.
 *
 * Usage: bench_socket_listener [scale, default 1.0]
 *   tcp, 1 connection        2,000,000 x scale lines in 64 KiB writes
 *   tcp, 100 connections     2,000,000 x scale lines, round robin
 *   udp, 1 line/datagram       300,000 x scale datagrams
 *   udp, 1400 B datagrams    2,000,000 x scale lines, 6 lines a datagram
 *
 * "CPU s" is the CPU time of this process (the listener's thread, the
 * core, and the main thread polling a counter every millisecond), so
 * lines per CPU-second is what the agent spends; the client's CPU is
 * shown apart. UDP has no flow control: datagrams the socket buffer
 * cannot hold are lost, and the figures count only what arrived (the loss
 * is printed). read_buffer_size asks for 8 MiB; the kernel caps it at
 * net.core.rmem_max.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "log_internal.h"

#define LINE                                                                                       \
  "cpu,cpu=cpu%d,host=web%02d usage_user=%d.25,usage_system=0.5,usage_idle=97.2,usage_nice=0,"     \
  "usage_iowait=0.1,usage_irq=0,usage_softirq=0.05,usage_steal=0,usage_guest=0,"                   \
  "usage_guest_nice=0 17000000000%08d\n"

enum { BLOCK = 65536, CONNS = 100 };

/* A free loopback port of `type` (bound then released: the listener
 * takes it right after, a race that is harmless on a benchmark host). */
static unsigned free_port(int type) {
  int fd = socket(AF_INET, type, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    bench_die("free port");
  close(fd);
  return ntohs(a.sin_port);
}

/* Fills `buf` (at most `cap` bytes) with whole lines; returns how many. */
static long fill_lines(char *buf, size_t cap, size_t *used) {
  char line[512];
  long n = 0;
  size_t off = 0;
  for (;;) {
    int len = snprintf(line, sizeof line, LINE, (int)(n % 8), (int)(n % 100), (int)(n % 100),
                       (int)(n % 100000000));
    if (off + (size_t)len > cap)
      break;
    memcpy(buf + off, line, (size_t)len);
    off += (size_t)len;
    n++;
  }
  *used = off;
  return n;
}

static int connect_to(int type, unsigned port) {
  int fd = socket(AF_INET, type, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
    bench_die("connect");
  return fd;
}

static void write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w <= 0)
      bench_die("write");
    p += w;
    len -= (size_t)w;
  }
}

/* The client (child process): `blocks` writes of `len` bytes over `conns`
 * TCP connections, round robin. */
static void tcp_client(unsigned port, int conns, long blocks, const char *buf, size_t len) {
  int fds[CONNS];
  for (int i = 0; i < conns; i++)
    fds[i] = connect_to(SOCK_STREAM, port);
  for (long b = 0; b < blocks; b++)
    write_all(fds[b % conns], buf, len);
  for (int i = 0; i < conns; i++)
    close(fds[i]);
}

/* The client (child process): `n` datagrams of `len` bytes. A datagram
 * the kernel cannot queue is dropped at the receiver, not here; the
 * sender yields every 64 so that the listener gets the CPU on one core. */
static void udp_client(unsigned port, long n, const char *buf, size_t len) {
  int fd = connect_to(SOCK_DGRAM, port);
  for (long i = 0; i < n; i++) {
    if (send(fd, buf, len, 0) < 0)
      bench_die("send");
    if (i % 64 == 63)
      usleep(0);
  }
  close(fd);
}

static double cpu_of(int who) {
  struct rusage ru;
  getrusage(who, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
         ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

typedef struct bench_case {
  const char *name;
  int type;        /* SOCK_STREAM, SOCK_DGRAM */
  int conns;       /* tcp */
  long units;      /* blocks (tcp) or datagrams (udp) */
  long lines;      /* lines per unit */
  const char *buf; /* one unit */
  size_t bytes;    /* bytes per unit */
} bench_case;

/* Runs one case: the listener here, the client in a child. */
static void run(const bench_case *c) {
  unsigned port = free_port(c->type);
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"socket_listener\"; service_address = \"%s://127.0.0.1:%u\";\n"
           "  read_buffer_size = \"8MiB\"; } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; "
           "metric_buffer_limit = 100000; } );\n",
           c->type == SOCK_STREAM ? "tcp" : "udp", port);
  twi_pipeline *pl = bench_pipeline(text);
  tower_ctx *in = pl->inputs[0];
  if (twi_input_start(in, pl) != 0)
    bench_die("socket_listener: start failed");
  long want = c->units * c->lines;
  double cpu0 = cpu_of(RUSAGE_SELF), t0 = bench_now();
  pid_t pid = fork();
  if (pid == 0) {
    if (c->type == SOCK_STREAM)
      tcp_client(port, c->conns, c->units, c->buf, c->bytes);
    else
      udp_client(port, c->units, c->buf, c->bytes);
    _exit(0);
  }
  int status;
  struct rusage child;
  if (pid < 0 || wait4(pid, &status, 0, &child) != pid || status != 0)
    bench_die("client failed");
  /* waits while metrics keep coming (UDP: until 300 ms without any) */
  long got, before = -1;
  double last = bench_now();
  while ((got = (long)atomic_load(&in->stats.metrics)) < want && bench_now() - last < 0.3) {
    if (got != before)
      last = bench_now();
    before = got;
    usleep(1000);
  }
  double secs = (got < want ? last : bench_now()) - t0, cpu = cpu_of(RUSAGE_SELF) - cpu0;
  double client_cpu = (double)child.ru_utime.tv_sec + (double)child.ru_stime.tv_sec +
                      ((double)child.ru_utime.tv_usec + (double)child.ru_stime.tv_usec) / 1e6;
  twi_input_stop(in, tower_mono_ns() + 10000000000LL);
  twi_output_flush_sync(pl->outputs[0]); /* to /dev/null */
  twi_pipeline_free(pl);
  if (c->type == SOCK_STREAM && got != want) {
    fprintf(stderr, "bench_socket_listener: %s: %ld of %ld lines\n", c->name, got, want);
    exit(1);
  }
  printf("%-28s %10.0f lines/s %10.0f lines/CPU-s %7.1f MB/s  cpu %.2f s, client %.2f s", c->name,
         (double)got / secs, (double)got / cpu,
         (double)got / (double)c->lines * (double)c->bytes / secs / 1e6, cpu, client_cpu);
  if (got < want)
    printf(", %.1f%% lost", 100.0 * (double)(want - got) / (double)want);
  printf("\n");
}

int main(int argc, char **argv) {
  double scale = argc > 1 ? atof(argv[1]) : 1.0;
  /* the buffer overflows on purpose (older metrics are dropped): quiet */
  twi_log_set_level(TOWER_LOG_ERROR);
  static char block[BLOCK], dgram[1400];
  size_t block_len, dgram_len;
  long block_lines = fill_lines(block, sizeof block, &block_len);
  long dgram_lines = fill_lines(dgram, sizeof dgram, &dgram_len);
  size_t one_len = (size_t)((char *)memchr(block, '\n', block_len) - block) + 1;
  long tcp_blocks = (long)(2000000 * scale) / block_lines;
  bench_case cases[] = {
      {"tcp, 1 connection", SOCK_STREAM, 1, tcp_blocks, block_lines, block, block_len},
      {"tcp, 100 connections", SOCK_STREAM, CONNS, tcp_blocks, block_lines, block, block_len},
      {"udp, 1 line/datagram", SOCK_DGRAM, 0, (long)(300000 * scale), 1, block, one_len},
      {"udp, 1400 B datagrams", SOCK_DGRAM, 0, (long)(2000000 * scale) / dgram_lines, dgram_lines,
       dgram, dgram_len},
  };
  printf("line: %zu bytes; tcp writes: %zu bytes (%ld lines); udp: %zu bytes (%ld lines)\n",
         one_len, block_len, block_lines, dgram_len, dgram_lines);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    run(&cases[i]);
  return 0;
}
