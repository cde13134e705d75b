/* inputs.net and inputs.netstat: the cost of one gather (the plugin's
 * gather callback alone, through the core's accumulator), and the
 * allocations it makes, on
 *   - the recorded 6.18 host tree (tests/fixtures/host): net's default
 *     selection, and every interface with the protocol counters;
 *   - a written tree of 500 interfaces (a container host's veths);
 *   - this machine's /proc and /sys;
 *   - netstat over a written table of 100,000 TCP sockets in the kernel's
 *     format, against the floor of reading the same files with the same
 *     64 KiB reads and no parsing;
 *   - netstat over the kernel's own tables with 100,000 real sockets
 *     (50,000 loopback connections in a network namespace of its own, so
 *     nothing else on the machine sees them), against the same floor: most
 *     of the cost is the kernel printing its tables. Needs root (unshare);
 *     skipped otherwise, and with BENCH_NET_SOCKETS=0.
 *
 * Usage: bench_net   (each case runs for about a second)
 *
 * Prints microseconds per gather, allocations per gather (glibc malloc,
 * counted with tests/malloc_count.h; "-" under AddressSanitizer) and
 * metrics per gather. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "malloc_count.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

#define CHUNK (64u * 1024u)
#define MIN_SECONDS 1.0

static char root[] = "/tmp/tower-bench-net.XXXXXX";

static unsigned long allocs_now(void) {
#ifdef NO_MALLOC_COUNT
  return 0;
#else
  return nallocs;
#endif
}

static void row_header(void) {
  printf("%-52s %12s %14s %10s\n", "case", "us/gather", "allocs/gather", "metrics");
  printf("%-52s %12s %14s %10s\n", "----", "---------", "-------------", "-------");
}

static void row(const char *name, double us, double allocs, double metrics) {
#ifdef NO_MALLOC_COUNT
  (void)allocs;
  printf("%-52s %12.1f %14s %10.0f\n", name, us, "-", metrics);
#else
  printf("%-52s %12.1f %14.1f %10.0f\n", name, us, allocs, metrics);
#endif
  fflush(stdout);
}

/* Writes <root>/<rel>, making its directories. */
static void put(const char *rel, const char *text, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  for (char *s = strchr(path + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = '\0';
    mkdir(path, 0755);
    *s = '/';
  }
  FILE *f = fopen(path, "w");
  if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
    bench_die("cannot write the bench tree");
}

/* Gathers with `input` for about MIN_SECONDS after a warm-up; times the
 * gather callback alone and counts its allocations. */
static void bench_gathers(const char *name, const char *input) {
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { %s } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
           input);
  twi_pipeline *pl = bench_pipeline(text);
  tower_ctx *in = pl->inputs[0];
  double spent = 0, gathers = 0, allocs = 0;
  uint64_t written0 = 0;
  for (long i = 0; spent < MIN_SECONDS || gathers < 10; i++) {
    if (i == 3) /* the first gathers size the buffers */
      written0 = atomic_load(&pl->outputs[0]->stats.written);
    tower_acc *acc = twi_acc_new_input(in, pl, false);
    if (!acc)
      bench_die("out of memory");
    twi_acc_begin(acc, tower_now());
    unsigned long a0 = allocs_now();
    double t0 = bench_now();
    int rc = in->plugin->desc.gather(in->state, acc);
    double t = bench_now() - t0;
    unsigned long a = allocs_now() - a0;
    if (rc || twi_acc_errors(acc))
      bench_die("gather failed (see the log above)");
    if (i >= 3) {
      spent += t;
      allocs += (double)a;
      gathers++;
    }
    tower_acc_commit(acc);
    twi_acc_free(acc);
    twi_output_flush_sync(pl->outputs[0]);
  }
  double metrics = (double)(atomic_load(&pl->outputs[0]->stats.written) - written0) / gathers;
  row(name, spent * 1e6 / gathers, allocs / gathers, metrics);
  twi_pipeline_free(pl);
}

/* The floor of a netstat gather: the four tables read with the plugin's
 * chunk size, nothing parsed. */
static void bench_floor(const char *name, const char *proc) {
  static const char *const tables[] = {"net/tcp", "net/tcp6", "net/udp", "net/udp6"};
  char *buf = malloc(CHUNK);
  if (!buf)
    bench_die("out of memory");
  double spent = 0, reads = 0;
  size_t bytes = 0;
  while (spent < MIN_SECONDS || reads < 10) {
    double t0 = bench_now();
    bytes = 0;
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
      char path[512];
      snprintf(path, sizeof path, "%s/%s", proc, tables[i]);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      ssize_t n;
      while (fd >= 0 && (n = read(fd, buf, CHUNK)) > 0)
        bytes += (size_t)n;
      if (fd >= 0)
        close(fd);
    }
    spent += bench_now() - t0;
    reads++;
  }
  free(buf);
  char label[128];
  snprintf(label, sizeof label, "%s (%.1f MB)", name, (double)bytes / 1e6);
  row(label, spent * 1e6 / reads, 0, 0);
}

/* ---- trees --------------------------------------------------------------- */

static void use_roots(const char *proc, const char *sys) {
  setenv("HOST_PROC", proc, 1);
  setenv("HOST_SYS", sys, 1);
}

static void use_fixture(void) {
  const char *top = getenv("top_srcdir");
  char proc[512], sys[512];
  snprintf(proc, sizeof proc, "%s/tests/fixtures/host/linux-6.18.44-fc-v1300/proc",
           top && *top ? top : TOP_SRCDIR);
  snprintf(sys, sizeof sys, "%s/tests/fixtures/host/linux-6.18.44-fc-v1300/sys",
           top && *top ? top : TOP_SRCDIR);
  use_roots(proc, sys);
}

/* <root>/proc/net/dev with `n` veths, each up with a speed file. */
static void write_veths(int n) {
  size_t cap = 256 + (size_t)n * 160, len = 0;
  char *dev = malloc(cap);
  if (!dev)
    bench_die("out of memory");
  len += (size_t)snprintf(dev, cap,
                          "Inter-|   Receive                                                |  "
                          "Transmit\n face |bytes    packets errs drop fifo frame compressed "
                          "multicast|bytes    packets errs drop fifo colls carrier compressed\n");
  for (int i = 0; i < n; i++) {
    len += (size_t)snprintf(dev + len, cap - len,
                            "veth%06d: %8d %7d    0    0    0     0          0         0 %8d "
                            "%7d    0    0    0     0       0          0\n",
                            i, i * 1000, i, i * 2000, i * 2);
    char rel[128];
    snprintf(rel, sizeof rel, "sys/class/net/veth%06d/flags", i);
    put(rel, "0x1003\n", 7);
    snprintf(rel, sizeof rel, "sys/class/net/veth%06d/speed", i);
    put(rel, "10000\n", 6);
  }
  put("proc/net/dev", dev, len);
  free(dev);
}

/* <root>/proc/net/{tcp,tcp6,udp,udp6}: `n` TCP sockets in the kernel's
 * format (lines of 150 bytes), every tenth listening. */
static void write_tables(long n) {
  static const char head[] = "  sl  local_address rem_address   st tx_queue rx_queue tr "
                             "tm->when retrnsmt   uid  timeout inode";
  size_t cap = 256 + (size_t)n * 150, len = 0;
  char *t = malloc(cap);
  if (!t)
    bench_die("out of memory");
  len += (size_t)snprintf(t, cap, "%-149s\n", head);
  for (long i = 0; i < n; i++) {
    char l[200];
    snprintf(l, sizeof l,
             "%4ld: 0100007F:%04lX 0100007F:%04X %02X 00000000:00000000 00:00000000 00000000     "
             "0        0 %ld 1 0000000000000000 100 0 0 10 0",
             i, 1024 + i % 60000, 5001, i % 10 ? 1 : 10, 100000 + i);
    len += (size_t)snprintf(t + len, cap - len, "%-149s\n", l);
  }
  put("proc/net/tcp", t, len);
  put("proc/net/tcp6", t, (size_t)snprintf(t, cap, "%-149s\n", head));
  put("proc/net/udp", t, (size_t)snprintf(t, cap, "%-149s\n", head));
  put("proc/net/udp6", t, (size_t)snprintf(t, cap, "%-149s\n", head));
  free(t);
}

/* ---- real sockets in a network namespace of our own ----------------------- */

static void set_lo_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
    bench_die("cannot read lo's flags");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
    bench_die("cannot bring lo up");
  close(fd);
}

static int listener(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0)
    bench_die("cannot listen on loopback");
  return fd;
}

static void write_sysctl(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, value, strlen(value)) < 0)
    perror(path);
  if (fd >= 0)
    close(fd);
}

/* A connected pair to listener l (port): client and server ends. */
static bool connect_pair(int l, uint16_t port, int *client, int *server) {
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (*client < 0 || connect(*client, (struct sockaddr *)&a, sizeof a) < 0)
    return false;
  *server = accept(l, NULL, NULL);
  return *server >= 0;
}

/* `sockets` TCP sockets on loopback: as many ESTABLISHED pairs as the fd
 * limit allows (it may not be raised here), the rest TIME_WAIT (closed
 * connections, which hold no fd). Returns the sockets made. */
static long open_sockets(long sockets) {
  /* this namespace's own settings: 64,000 ports per listener, room for
   * the TIME_WAIT sockets */
  write_sysctl("/proc/sys/net/ipv4/ip_local_port_range", "1024 65535");
  write_sysctl("/proc/sys/net/ipv4/tcp_max_tw_buckets", "1000000");
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  long fd_pairs = ((long)rl.rlim_cur - 64) / 2;
  int l[2] = {listener(5001), listener(5002)};
  long made = 2; /* the listeners */
  for (long i = 0; made < sockets; i++) {
    int c, s;
    if (!connect_pair(l[i % 2], (uint16_t)(5001 + i % 2), &c, &s))
      break;
    if (i >= fd_pairs) { /* the client closes first: it goes to TIME_WAIT */
      close(c);
      close(s);
      made += 1;
    } else {
      made += 2;
    }
  }
  return made;
}

static void bench_real_sockets(long sockets) {
  if (unshare(CLONE_NEWNET) != 0) {
    printf("%-52s %s\n", "netstat, kernel tables", "skipped: needs root (unshare CLONE_NEWNET)");
    return;
  }
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
  set_lo_up();
  double t0 = bench_now();
  long made = open_sockets(sockets);
  char name[128];
  snprintf(name, sizeof name, "netstat, kernel tables, %ld sockets", made);
  printf("(%ld sockets made in %.1f s)\n", made, bench_now() - t0);
  bench_gathers(name, "plugin = \"netstat\";");
  bench_floor("  floor: read(2) of the kernel's tables", "/proc");
}

int main(void) {
  if (!mkdtemp(root))
    bench_die("mkdtemp failed");
  row_header();
  use_fixture();
  bench_gathers("net, 6.18 tree, default (eth0)", "plugin = \"net\";");
  bench_gathers("net, 6.18 tree, 4 interfaces + protocol counters",
                "plugin = \"net\"; interfaces = [\"*\"]; ignore_protocol_stats = false;");
  bench_gathers("netstat, 6.18 tree (282 sockets)", "plugin = \"netstat\";");
  char proc[512], sys[512];
  snprintf(proc, sizeof proc, "%s/proc", root);
  snprintf(sys, sizeof sys, "%s/sys", root);
  write_veths(500);
  write_tables(100000);
  use_roots(proc, sys);
  bench_gathers("net, 500 veths up", "plugin = \"net\";");
  bench_gathers("netstat, written tables, 100000 sockets", "plugin = \"netstat\";");
  bench_floor("  floor: read(2) of the same files", proc);
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
  bench_gathers("net, this machine, default", "plugin = \"net\";");
  bench_gathers("netstat, this machine", "plugin = \"netstat\";");
  bench_floor("  floor: read(2) of this machine's tables", "/proc");
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", root);
  const char *n = getenv("BENCH_NET_SOCKETS");
  long sockets = n && *n ? atol(n) : 100000;
  if (sockets > 0)
    bench_real_sockets(sockets);
  return 0;
}
