/* inputs.netstat against the recorded host trees of tests/fixtures/host
 * (two kernels) and against socket tables the tests write into a temporary
 * directory, through HOST_PROC; then once against this machine's tables
 * with sockets the test opens.
 *
 * Expected counts of the trees are derived from their tables with sscanf
 * and cross-checked with the kernel's own counters recorded with them
 * (/proc/net/sockstat: TIME_WAIT sockets, sockets in use). The live
 * comparison with ss(8) and node_exporter is tests/integration/host_net.sh. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "log_internal.h"
#include "malloc_count.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
  unsetenv("HOST_PROC");
}

static void teardown(void) {
  unsetenv("HOST_PROC");
  th_rmrf(dir);
  free(dir);
}

/* ---- trees --------------------------------------------------------------- */

static char *tree_path(const char *tree, const char *rel) {
  const char *top = getenv("top_srcdir");
  return th_fmt("%s/tests/fixtures/host/%s/%s", top && *top ? top : "..", tree, rel);
}

static void use_tree(const char *tree) {
  char *proc = tree_path(tree, "proc");
  setenv("HOST_PROC", proc, 1);
  free(proc);
}

/* The test's own /proc: <dir>/proc, with a net/ directory. */
static void use_tmp(void) {
  char *proc = th_fmt("%s/proc", dir), *net = th_fmt("%s/proc/net", dir);
  ck_assert_int_eq(mkdir(proc, 0755), 0);
  ck_assert_int_eq(mkdir(net, 0755), 0);
  setenv("HOST_PROC", proc, 1);
  free(proc);
  free(net);
}

/* Writes <dir>/proc/net/<table>. */
static void put_table(const char *table, const char *text) {
  char *path = th_fmt("%s/proc/net/%s", dir, table);
  ck_assert_int_eq(th_write_file(path, text), 0);
  free(path);
}

static const char *const tcp_head =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode                                                     \n";
static const char *const udp_head =
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode ref pointer drops            \n";

/* One /proc/net/tcp line as the kernel prints it (padded to 149 bytes). */
static char *tcp_line(unsigned slot, unsigned state) {
  char *l = th_fmt("%4u: 0100007F:%04X 0100007F:%04X %02X 00000000:00000000 00:00000000 00000000 "
                   "    0        0 %u 1 0000000000000000 100 0 0 10 0",
                   slot, 1000 + slot % 60000, 80, state, 10000 + slot);
  char *padded = th_fmt("%-149s\n", l);
  free(l);
  return padded;
}

/* ---- capturing what the output receives ---------------------------------- */

typedef struct {
  const tower_metric **v;
  size_t n;
} capture;

static tower_write_result capture_write(void *state, const tower_batch *b) {
  capture *c = state;
  for (size_t i = 0; i < tower_batch_len(b); i++) {
    c->v = realloc(c->v, (c->n + 1) * sizeof *c->v);
    ck_assert_ptr_nonnull(c->v);
    c->v[c->n++] = tower_metric_retain(tower_batch_at(b, i));
  }
  return TOWER_WRITE_OK;
}

static void capture_clear(capture *c) {
  for (size_t i = 0; i < c->n; i++)
    tower_metric_release(c->v[i]);
  free(c->v);
  c->v = NULL;
  c->n = 0;
}

typedef struct {
  twi_pipeline *pl;
  twi_plugin fake;
  const twi_plugin *real;
  void *real_state;
  capture got;
} rig;

static void rig_start(rig *r) {
  memset(r, 0, sizeof *r);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"netstat\"; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   dir);
  r->pl = th_start(c, TWI_ONCE);
  free(c);
  tower_ctx *o = r->pl->outputs[0];
  r->real = o->plugin;
  r->real_state = o->state;
  r->fake = *o->plugin;
  r->fake.desc.write = capture_write;
  o->plugin = &r->fake;
  o->state = &r->got;
}

static void rig_free(rig *r) {
  tower_ctx *o = r->pl->outputs[0];
  o->plugin = r->real;
  o->state = r->real_state;
  capture_clear(&r->got);
  th_free(r->pl);
}

static int gather_only(rig *r) {
  tower_ctx *in = r->pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, r->pl, false);
  ck_assert_ptr_nonnull(acc);
  twi_acc_begin(acc, 1700000000000000000LL);
  in->plugin->desc.gather(in->state, acc);
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  return errors;
}

static int gather(rig *r) {
  capture_clear(&r->got);
  int errors = gather_only(r);
  ck_assert_uint_eq(th_flush(r->pl), 0);
  return errors;
}

static char *log_path;

static void log_begin(void) {
  log_path = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
}

static char *log_end(void) {
  twi_log_set_file(NULL);
  char *text = th_read_file(log_path);
  ck_assert_ptr_nonnull(text);
  free(log_path);
  log_path = NULL;
  return text;
}

/* ---- looking at the metric ----------------------------------------------- */

static const char *const tcp_fields[] = {
    "tcp_none",       "tcp_established", "tcp_syn_sent",  "tcp_syn_recv",
    "tcp_fin_wait1",  "tcp_fin_wait2",   "tcp_time_wait", "tcp_close",
    "tcp_close_wait", "tcp_last_ack",    "tcp_listen",    "tcp_closing",
};
#define NTCP (sizeof tcp_fields / sizeof *tcp_fields)

/* The one metric of a gather: "netstat", untyped, no tag. */
static const tower_metric *the_metric(const rig *r) {
  ck_assert_uint_eq(r->got.n, 1);
  const tower_metric *m = r->got.v[0];
  ck_assert_str_eq(tower_metric_name(m), "netstat");
  ck_assert_int_eq(tower_metric_type(m), TOWER_UNTYPED);
  ck_assert_uint_eq(tower_metric_tag_count(m), 0);
  return m;
}

static int64_t ifield(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "field %s missing", key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_INT);
  return tower_metric_field_int(m, (size_t)i);
}

/* Every field, tcp_* by kernel state (index 0: tcp_none), then udp. */
static void check_counts(const tower_metric *m, const int64_t tcp[NTCP], int64_t udp) {
  ck_assert_uint_eq(tower_metric_field_count(m), NTCP + 1);
  for (size_t i = 0; i < NTCP; i++)
    ck_assert_msg(ifield(m, tcp_fields[i]) == tcp[i], "%s = %lld, want %lld", tcp_fields[i],
                  (long long)ifield(m, tcp_fields[i]), (long long)tcp[i]);
  ck_assert_int_eq(ifield(m, "udp_socket"), udp);
}

/* ---- expectations from a tree's files ------------------------------------ */

/* Adds the states of a table's entries to tcp[] (sscanf of the fourth
 * column), or counts its entries into *udp. */
static void count_table(const char *tree, const char *table, int64_t tcp[NTCP], int64_t *udp) {
  char *path = tree_path(tree, table);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  free(path);
  char line[1024];
  ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* the head */
  while (fgets(line, sizeof line, f)) {
    unsigned state;
    ck_assert_int_eq(sscanf(line, "%*s %*s %*s %x", &state), 1);
    if (udp)
      (*udp)++;
    else
      tcp[state < NTCP ? state : 0]++;
  }
  fclose(f);
}

/* "<key> <n>" in a sockstat line starting with prefix. */
static int64_t sockstat(const char *tree, const char *file, const char *prefix, const char *key) {
  char *path = tree_path(tree, file);
  char *text = th_read_file(path);
  ck_assert_ptr_nonnull(text);
  free(path);
  const char *line = strstr(text, prefix);
  ck_assert_ptr_nonnull(line);
  char *pat = th_fmt(" %s ", key);
  const char *at = strstr(line, pat);
  ck_assert_ptr_nonnull(at);
  int64_t v = strtoll(at + strlen(pat), NULL, 10);
  free(pat);
  free(text);
  return v;
}

static const char *const trees[] = {"linux-6.18.44-fc-v1300", "linux-6.1-qemu"};

/* ---- the recorded trees -------------------------------------------------- */

START_TEST(tree_counts) {
  const char *tree = trees[_i];
  use_tree(tree);
  int64_t tcp[NTCP] = {0}, udp = 0;
  count_table(tree, "proc/net/tcp", tcp, NULL);
  count_table(tree, "proc/net/tcp6", tcp, NULL);
  count_table(tree, "proc/net/udp", NULL, &udp);
  count_table(tree, "proc/net/udp6", NULL, &udp);
  rig r;
  rig_start(&r);
  ck_assert_int_eq(gather(&r), 0);
  const tower_metric *m = the_metric(&r);
  check_counts(m, tcp, udp);
  /* The kernel's counters recorded with the tables: TIME_WAIT sockets, and
   * the sockets in use (every other state but the SYN_RECV requests). */
  ck_assert_int_eq(ifield(m, "tcp_time_wait"), sockstat(tree, "proc/net/sockstat", "TCP:", "tw"));
  int64_t inuse = 0;
  for (size_t i = 0; i < NTCP; i++)
    if (i != 6 && i != 3)
      inuse += tcp[i];
  ck_assert_int_eq(inuse, sockstat(tree, "proc/net/sockstat", "TCP:", "inuse") +
                              sockstat(tree, "proc/net/sockstat6", "TCP6:", "inuse"));
  ck_assert_int_eq(ifield(m, "udp_socket"),
                   sockstat(tree, "proc/net/sockstat", "UDP:", "inuse") +
                       sockstat(tree, "proc/net/sockstat6", "UDP6:", "inuse"));
  rig_free(&r);
}
END_TEST

/* The 6.1 guest's sockets, as its README lists them: LISTEN on
 * 127.0.0.1:8088 and [::]:8080, both ends of a connection to 8081 (one in
 * tcp6, v4-mapped), a TIME_WAIT, one UDP socket. */
START_TEST(tree_guest_sockets) {
  use_tree(trees[1]);
  rig r;
  rig_start(&r);
  ck_assert_int_eq(gather(&r), 0);
  check_counts(the_metric(&r), (int64_t[NTCP]){[1] = 2, [6] = 1, [10] = 2}, 1);
  rig_free(&r);
}
END_TEST

/* ---- tables written by the tests ----------------------------------------- */

/* Every state in both tables: 01-0B by name; 0C, 0D (NEW_SYN_RECV,
 * BOUND_INACTIVE) and 00 as tcp_none; lowercase hex too. */
START_TEST(every_state) {
  use_tmp();
  char *v4 = strdup(tcp_head);
  for (unsigned st = 0; st <= 0x0D; st++) {
    for (unsigned k = 0; k < st + 1; k++) { /* st + 1 entries of state st */
      char *l = tcp_line(st * 20 + k, st), *more = th_fmt("%s%s", v4, l);
      free(l);
      free(v4);
      v4 = more;
    }
  }
  put_table("tcp", v4);
  free(v4);
  put_table("tcp6", "  sl  local_address                         remote_address                 "
                    "       st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
                    "   0: 00000000000000000000000000000000:1F90 "
                    "00000000000000000000000000000000:0000 0a 00000000:00000000 00:00000000 "
                    "00000000     0        0 9686 1 00000000fb1997d2 100 0 0 10 0\n"
                    "   1: 0000000000000000FFFF00000100007F:1F91 "
                    "0000000000000000FFFF00000100007F:8E00 01 00000000:00000000 00:00000000 "
                    "00000000     0        0 9688 1 00000000d3e745ba 20 0 0 10 -1\n");
  char *udp = th_fmt("%s  224: 00000000:AB0A 00000000:0000 07 00000000:00000000 00:00000000 "
                     "00000000     0        0 9695 2 000000005c38a88e 0\n"
                     "  225: 00000000:AB0B 00000000:0000 07 00000000:00000000 00:00000000 "
                     "00000000     0        0 9696 2 000000005c38a88e 0\n",
                     udp_head);
  put_table("udp", udp);
  free(udp);
  put_table("udp6", "  sl  local_address                         remote_address\n"
                    "   9: 00000000000000000000000000000000:0035 "
                    "00000000000000000000000000000000:0000 07 00000000:00000000\n");
  rig r;
  rig_start(&r);
  ck_assert_int_eq(gather(&r), 0);
  int64_t want[NTCP];
  for (size_t st = 0; st < NTCP; st++)
    want[st] = (int64_t)st + 1;
  want[0] = 1 + 13 + 14; /* 00, 0C, 0D */
  want[1] += 1;          /* tcp6 */
  want[10] += 1;         /* tcp6, "0a" */
  check_counts(the_metric(&r), want, 3);
  rig_free(&r);
}
END_TEST

/* A kernel without IPv6 has no tcp6/udp6: no error, the IPv4 counts. */
START_TEST(no_ipv6) {
  use_tmp();
  char *l = tcp_line(0, 0x0A), *t = th_fmt("%s%s", tcp_head, l);
  put_table("tcp", t);
  put_table("udp", udp_head);
  rig r;
  rig_start(&r);
  ck_assert_int_eq(gather(&r), 0);
  check_counts(the_metric(&r), (int64_t[NTCP]){[10] = 1}, 0);
  rig_free(&r);
  free(l);
  free(t);
}
END_TEST

/* An unreadable table leaves its protocol's fields out (a partial count
 * would be a wrong one) and is reported once, naming it and what to do;
 * the other protocol is still reported. A directory stands for an
 * unreadable file: permissions do not stop root. */
START_TEST(unreadable_tables) {
  use_tmp();
  char *l = tcp_line(0, 0x01), *t = th_fmt("%s%s", tcp_head, l);
  put_table("tcp", t);
  char *d = th_fmt("%s/proc/net/tcp6", dir);
  ck_assert_int_eq(mkdir(d, 0755), 0);
  put_table("udp", udp_head);
  put_table("udp6", udp_head);
  rig r;
  rig_start(&r);
  log_begin();
  ck_assert_int_eq(gather(&r), 1);
  char *log = log_end();
  const tower_metric *m = the_metric(&r);
  ck_assert_uint_eq(tower_metric_field_count(m), 1);
  ck_assert_int_eq(ifield(m, "udp_socket"), 0);
  char *want = th_fmt("[inputs.netstat] cannot read %s: Is a directory (set HOST_PROC when the "
                      "host's /proc is mounted elsewhere); the tcp_* fields left out",
                      d);
  ck_assert_msg(strstr(log, want), "log: %s", log);
  free(want);
  free(log);
  /* the IPv4 UDP table missing as well: two tables unread, TCP fields back */
  ck_assert_int_eq(rmdir(d), 0);
  char *u = th_fmt("%s/proc/net/udp", dir);
  ck_assert_int_eq(unlink(u), 0);
  ck_assert_int_eq(gather(&r), 1);
  m = the_metric(&r);
  ck_assert_uint_eq(tower_metric_field_count(m), NTCP);
  ck_assert_int_eq(ifield(m, "tcp_established"), 1);
  /* nothing readable: no metric, one error for the two tables */
  char *tp = th_fmt("%s/proc/net/tcp", dir);
  ck_assert_int_eq(unlink(tp), 0);
  log_begin();
  ck_assert_int_eq(gather(&r), 1);
  log = log_end();
  ck_assert_uint_eq(r.got.n, 0);
  want = th_fmt("cannot read %s and 1 other socket table: No such file or directory (set "
                "HOST_PROC when the host's /proc is mounted elsewhere); nothing reported",
                tp);
  ck_assert_msg(strstr(log, want), "log: %s", log);
  free(want);
  free(log);
  rig_free(&r);
  free(tp);
  free(u);
  free(d);
  free(l);
  free(t);
}
END_TEST

/* A line longer than the read buffer (64 KiB; a kernel never writes one)
 * counts once, from its start; the lines after it count; the last line
 * may lack its newline. */
START_TEST(long_line_and_last_line) {
  use_tmp();
  size_t junk = 200 * 1024;
  char *tail = malloc(junk + 1);
  memset(tail, 'x', junk);
  tail[junk] = '\0';
  char *a = tcp_line(1, 0x01), *b = tcp_line(2, 0x06);
  a[strlen(a) - 1] = '\0'; /* continue the line with the junk */
  b[strlen(b) - 1] = '\0'; /* the last line, no newline */
  char *text = th_fmt("%s%s %s\n%s", tcp_head, a, tail, b);
  put_table("tcp", text);
  char *udp = th_fmt("%s%s\n   1: 00000000:AB0A 00000000:0000 07\n", udp_head, tail);
  put_table("udp", udp);
  rig r;
  rig_start(&r);
  ck_assert_int_eq(gather(&r), 0);
  check_counts(the_metric(&r), (int64_t[NTCP]){[1] = 1, [6] = 1}, 1);
  rig_free(&r);
  free(udp);
  free(text);
  free(a);
  free(b);
  free(tail);
}
END_TEST

/* Entries whose state cannot be read are not counted and are reported
 * once; the others are. */
START_TEST(malformed_entries) {
  use_tmp();
  char *ok = tcp_line(0, 0x0A);
  char *text = th_fmt("%s%s"
                      "   1: 0100007F:1F98 0100007F:D46A XY 00000000:00000000\n"
                      "   2: 0100007F:1F98\n"
                      "   3: 0100007F:1F98 0100007F:D46A 0AB 00000000:00000000\n"
                      "garbage without a slot\n"
                      "\n",
                      tcp_head, ok);
  put_table("tcp", text);
  put_table("udp", udp_head);
  rig r;
  rig_start(&r);
  log_begin();
  ck_assert_int_eq(gather(&r), 1);
  char *log = log_end();
  check_counts(the_metric(&r), (int64_t[NTCP]){[10] = 1}, 0);
  char *want = th_fmt("%s/proc/net/tcp: 3 TCP entries without a readable state", dir);
  ck_assert_msg(strstr(log, want), "log: %s", log);
  free(want);
  free(log);
  rig_free(&r);
  free(text);
  free(ok);
}
END_TEST

/* 100,000 sockets: exact counts across the 64 KiB chunks, and no more
 * allocations than for a table of three (only the metric allocates). */
START_TEST(hundred_thousand_sockets) {
  use_tmp();
  size_t n = 100000, len = strlen(tcp_head);
  char *text = malloc(len + n * 150 + 1);
  memcpy(text, tcp_head, len);
  int64_t want[NTCP] = {0};
  for (size_t i = 0; i < n; i++) {
    unsigned st = i % 10 == 0 ? 0x0A : (i % 3 == 0 ? 0x06 : 0x01);
    want[st]++;
    char *l = tcp_line((unsigned)i, st);
    memcpy(text + len, l, 150);
    len += 150;
    free(l);
  }
  text[len] = '\0';
  put_table("tcp", text);
  put_table("udp", udp_head);
  rig r;
  rig_start(&r);
  ck_assert_int_eq(gather(&r), 0);
  check_counts(the_metric(&r), want, 0);
#ifndef NO_MALLOC_COUNT
  unsigned long before = nallocs;
  ck_assert_int_eq(gather_only(&r), 0);
  unsigned long big = nallocs - before;
  char *small = th_fmt("%.*s", (int)(strlen(tcp_head) + 3 * 150), text);
  put_table("tcp", small);
  free(small);
  before = nallocs;
  ck_assert_int_eq(gather_only(&r), 0);
  ck_assert_uint_eq(nallocs - before, big);
  ck_assert_uint_le(big, 8); /* the metric and its way to the output */
  ck_assert_uint_eq(th_flush(r.pl), 0);
#endif
  rig_free(&r);
  free(text);
}
END_TEST

/* This machine's tables, with a listener and a connection the test opens
 * on loopback: seen in their states (other sockets come and go). */
START_TEST(real_sockets) {
  int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(bind(u, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(l, 1), 0);
  ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
  ck_assert_int_eq(connect(c, (struct sockaddr *)&a, sizeof a), 0);
  int s = accept(l, NULL, NULL);
  ck_assert_int_ge(s, 0);
  rig r;
  rig_start(&r);
  ck_assert_int_eq(gather(&r), 0);
  const tower_metric *m = the_metric(&r);
  ck_assert_uint_eq(tower_metric_field_count(m), NTCP + 1);
  ck_assert_int_ge(ifield(m, "tcp_listen"), 1);
  ck_assert_int_ge(ifield(m, "tcp_established"), 2);
  ck_assert_int_ge(ifield(m, "udp_socket"), 1);
  rig_free(&r);
  close(s);
  close(c);
  close(l);
  close(u);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.netstat");
  TCase *t = tcase_create("trees");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_loop_test(t, tree_counts, 0, (int)(sizeof trees / sizeof *trees));
  tcase_add_test(t, tree_guest_sockets);
  suite_add_tcase(s, t);
  t = tcase_create("edges");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, every_state);
  tcase_add_test(t, no_ipv6);
  tcase_add_test(t, unreadable_tables);
  tcase_add_test(t, long_line_and_last_line);
  tcase_add_test(t, malformed_entries);
  tcase_add_test(t, hundred_thousand_sockets);
  tcase_add_test(t, real_sockets);
  suite_add_tcase(s, t);
  return check_run(s);
}
