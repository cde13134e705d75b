/* inputs.mysql through the real core against a real MariaDB server, which
 * tests/plugins/mysql/mariadb.sh starts in a temporary data directory (its
 * own port and socket, performance_schema on, the user `tower` with a
 * password). A workload of known statements runs through a libmariadb
 * connection of the test as the user `work`; the input gathers
 * synchronously (th_gather) into the record output, whose line protocol
 * is read back. The server is then killed, stopped (SIGSTOP) and refused
 * the password, to see what the input says and that it recovers.
 * Nothing is skipped: a missing mariadbd is a failure. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "log_internal.h"
#include "mysql_input.h"

#define PW "Tw-s3cret-PW"

static char *srvdir; /* the server's, for the whole suite */
static int port;
static char sock[512];
static pid_t server_pid;
static char *dir, *logpath;

static const char *srcdir(void) {
  return getenv("top_srcdir") ? getenv("top_srcdir") : "..";
}

static void server(const char *cmd) {
  char *line = th_fmt("MYSQL_TEST_TLS='%s/pki' MYSQL_TEST_PASSWORD=%s "
                      "'%s/tests/plugins/mysql/mariadb.sh' %s '%s'",
                      srvdir, PW, srcdir(), cmd, srvdir);
  FILE *p = popen(line, "r");
  ck_assert_ptr_nonnull(p);
  char out[700] = "";
  if (!fgets(out, sizeof out, p))
    out[0] = '\0';
  int rc = pclose(p);
  ck_assert_msg(rc == 0, "%s failed (%d)", line, rc);
  if (strcmp(cmd, "start") == 0) {
    int pid = 0;
    ck_assert_msg(sscanf(out, "%d %511s %d", &port, sock, &pid) == 3, "mariadb.sh said: %s", out);
    server_pid = pid;
  }
  free(line);
}

/* The server offers TLS with the x509 tests' PKI: a leaf for localhost
 * and 127.0.0.1 under an intermediate and root.pem. */
static void suite_setup(void) {
  srvdir = th_tmpdir();
  char *pki =
      th_fmt("mkdir '%s/pki' && sh '%s/tests/plugins/x509/pki.sh' '%s/pki' > /dev/null 2>&1",
             srvdir, srcdir(), srvdir);
  ck_assert_msg(system(pki) == 0, "%s failed", pki);
  free(pki);
  server("start");
}

static void suite_teardown(void) {
  server("stop");
  th_rmrf(srvdir);
  free(srvdir);
}

static void setup(void) {
  dir = th_tmpdir();
  logpath = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  twi_log_set_level(TOWER_LOG_DEBUG);
}

static void teardown(void) {
  twi_log_set_file(NULL);
  th_rmrf(dir);
  free(dir);
  free(logpath);
}

/* ---- the peer side ------------------------------------------------------ */

static MYSQL *client(const char *user, const char *db) {
  MYSQL *c = mysql_init(NULL);
  ck_assert_ptr_nonnull(c);
  bool root = strcmp(user, "root") == 0; /* root only over the socket */
  ck_assert_msg(mysql_real_connect(c, root ? NULL : "127.0.0.1", user, root ? NULL : PW, db,
                                   root ? 0 : (unsigned)port, root ? sock : NULL, 0),
                "connect as %s: %s", user, mysql_error(c));
  return c;
}

static void run(MYSQL *c, const char *sql) {
  ck_assert_msg(mysql_query(c, sql) == 0, "%s: %s", sql, mysql_error(c));
  MYSQL_RES *r = mysql_store_result(c);
  mysql_free_result(r);
}

static void as_root(const char *sql) {
  MYSQL *c = client("root", NULL);
  run(c, sql);
  mysql_close(c);
}

/* The known workload: 5 scans of the 10 rows of shop.items on a column
 * without an index, and one deliberately slow statement. */
static void workload(MYSQL *c) {
  for (int i = 0; i < 5; i++)
    run(c, "SELECT * FROM items WHERE name = 'c'");
  run(c, "SELECT SLEEP(0.2)");
}

/* ---- the input side ----------------------------------------------------- */

static twi_pipeline *build(const char *servers, const char *extra) {
  char *text = th_fmt("agent = { omit_hostname = true; };\n"
                      "inputs = ( { plugin = \"mysql\"; servers = [%s]; %s } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; "
                      "metric_buffer_limit = 100000; } );\n",
                      servers, extra, dir);
  twi_pipeline *pl = th_start(text, TWI_ONCE);
  free(text);
  return pl;
}

static char *tcp_dsn(const char *user, const char *pw) {
  return th_fmt("\"%s:%s@tcp(127.0.0.1:%d)/\"", user, pw, port);
}

typedef struct {
  tower_metric **m;
  size_t n;
  int errors;
  double secs;
} gathered;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static gathered gather(twi_pipeline *pl) {
  char *path = th_fmt("%s/out.lp", dir);
  unlink(path);
  double t0 = now_s();
  gathered g = {.errors = th_gather(pl)};
  g.secs = now_s() - t0;
  ck_assert_uint_eq(th_flush(pl), 0);
  char *text = th_read_file(path);
  g.n = text ? th_parse(text, &g.m) : 0;
  free(text);
  free(path);
  return g;
}

static void gathered_free(gathered *g) {
  th_free_metrics(g->m, g->n);
}

static char *log_text(void) {
  char *t = th_read_file(logpath);
  return t ? t : strdup("");
}

static void assert_no_errors(const gathered *g) {
  if (g->errors == 0)
    return;
  char *log = log_text();
  ck_abort_msg("%d gather error(s):\n%s", g->errors, log);
}

/* The first metric `name` whose tag `key` contains `part` (key NULL: any). */
static const tower_metric *find(const gathered *g, const char *name, const char *key,
                                const char *part) {
  for (size_t i = 0; i < g->n; i++) {
    const tower_metric *m = g->m[i];
    if (strcmp(tower_metric_name(m), name) != 0)
      continue;
    const char *v = key ? tower_metric_tag(m, key) : NULL;
    if (!key || (v && strstr(v, part)))
      return m;
  }
  return NULL;
}

static double num(const tower_metric *m, const char *key) {
  ck_assert_ptr_nonnull(m);
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "%s has no field %s", tower_metric_name(m), key);
  double v = 0;
  ck_assert(tower_metric_field_number(m, (size_t)i, &v));
  return v;
}

static void assert_server_tag(const tower_metric *m) {
  char want[64];
  snprintf(want, sizeof want, "127.0.0.1:%d", port);
  ck_assert_str_eq(tower_metric_tag(m, "server"), want);
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(status_counters_and_digests) {
  char *dsn = tcp_dsn("tower", PW);
  twi_pipeline *pl = build(dsn, "gather_global_variables = false; "
                                "gather_perf_events_statements = true; "
                                "perf_events_statements_limit = 1000;");
  gathered g1 = gather(pl);
  assert_no_errors(&g1);
  const tower_metric *s1 = find(&g1, "mysql", NULL, NULL);
  ck_assert_ptr_nonnull(s1);
  assert_server_tag(s1);
  /* the first gather only takes the baseline of the digests */
  ck_assert_ptr_null(find(&g1, "mysql_statement_digest", NULL, NULL));
  ck_assert_ptr_nonnull(find(&g1, "mysql_perf_schema", "digest_text", "SHOW GLOBAL STATUS"));

  /* the connection stays open over the gather: its COM_QUIT, which
   * MariaDB counts in Questions, would race with the gather's SHOW */
  MYSQL *w = client("work", "shop");
  workload(w);
  gathered g2 = gather(pl);
  mysql_close(w);
  assert_no_errors(&g2);
  const tower_metric *s2 = find(&g2, "mysql", NULL, NULL);
  /* 6 SELECTs of the workload, and the input's own digest query of the
   * first gather (after it had read the status) */
  ck_assert_int_eq((int64_t)(num(s2, "com_select") - num(s1, "com_select")), 7);
  /* Questions: those 7 and the second gather's SHOW GLOBAL STATUS, which
   * counts itself */
  ck_assert_int_eq((int64_t)(num(s2, "questions") - num(s1, "questions")), 8);
  ck_assert_int_ge(num(s2, "uptime"), 0);

  const tower_metric *slow = find(&g2, "mysql_statement_digest", "digest_text", "SLEEP");
  ck_assert_msg(slow != NULL, "no digest for SELECT SLEEP");
  ck_assert_str_eq(tower_metric_tag(slow, "schema"), "shop");
  ck_assert_int_eq(num(slow, "count"), 1);
  ck_assert_double_ge(num(slow, "latency_seconds"), 0.2);
  ck_assert_double_ge(num(slow, "latency_avg_seconds"), 0.2);
  ck_assert_int_eq(num(slow, "no_index_used"), 0);

  const tower_metric *scan = find(&g2, "mysql_statement_digest", "digest_text", "`items`");
  ck_assert_msg(scan != NULL, "no digest for the scan of items");
  ck_assert_int_eq(num(scan, "count"), 5);
  ck_assert_int_eq(num(scan, "no_index_used"), 5);
  ck_assert_int_eq(num(scan, "rows_examined"), 50);
  ck_assert_int_eq(num(scan, "rows_sent"), 5);
  ck_assert_int_eq(num(scan, "errors"), 0);
  ck_assert_double_lt(num(scan, "latency_seconds"), num(slow, "latency_seconds"));
  /* Telegraf's totals are there too */
  const tower_metric *tot = find(&g2, "mysql_perf_schema", "digest_text", "SLEEP");
  ck_assert_int_eq(num(tot, "events_statements_total"), 1);
  ck_assert_double_ge(num(tot, "events_statements_seconds_total"), 0.2);

  /* an interval without the workload: no delta for it */
  gathered g3 = gather(pl);
  assert_no_errors(&g3);
  ck_assert_ptr_null(find(&g3, "mysql_statement_digest", "digest_text", "SLEEP"));

  /* the table truncated, the slow statement once more: counted from the
   * reset, not negative */
  as_root("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest");
  MYSQL *c = client("work", "shop");
  run(c, "SELECT SLEEP(0.2)");
  mysql_close(c);
  gathered g4 = gather(pl);
  assert_no_errors(&g4);
  slow = find(&g4, "mysql_statement_digest", "digest_text", "SLEEP");
  ck_assert_msg(slow != NULL, "no digest for SELECT SLEEP after TRUNCATE");
  ck_assert_int_eq(num(slow, "count"), 1);
  ck_assert_double_ge(num(slow, "latency_seconds"), 0.2);

  char *log = log_text();
  ck_assert_msg(!strstr(log, PW), "the password reached the log:\n%s", log);
  free(log);
  gathered_free(&g1);
  gathered_free(&g2);
  gathered_free(&g3);
  gathered_free(&g4);
  th_free(pl);
  free(dsn);
}
END_TEST

START_TEST(sections) {
  as_root("SET GLOBAL userstat = 1");
  as_root("ANALYZE TABLE shop.items");
  MYSQL *w = client("work", "shop");
  workload(w);
  mysql_close(w);
  char *dsn = th_fmt("\"tower:" PW "@unix(%s)/\"", sock);
  twi_pipeline *pl = build(dsn, "gather_process_list = true; gather_innodb_metrics = true; "
                                "gather_table_io_waits = true; gather_index_io_waits = true; "
                                "gather_table_schema = true; table_schema_databases = [\"shop\"]; "
                                "gather_user_statistics = true; gather_slave_status = true;");
  gathered g = gather(pl);
  assert_no_errors(&g);
  const tower_metric *m = find(&g, "mysql", NULL, NULL);
  ck_assert_str_eq(tower_metric_tag(m, "server"), sock);
  /* not a replica: SHOW SLAVE STATUS has no row, so no second `mysql`
   * metric (of slave_io_running...) and no error */
  size_t nmysql = 0;
  for (size_t i = 0; i < g.n; i++)
    nmysql += strcmp(tower_metric_name(g.m[i]), "mysql") == 0;
  ck_assert_uint_eq(nmysql, 1);
  ck_assert_int_lt(tower_metric_field_index(m, "slave_io_running"), 0);
  m = find(&g, "mysql_variables", NULL, NULL);
  ck_assert_ptr_nonnull(strstr(tower_metric_tag(m, "version"), "MariaDB"));
  ck_assert_int_eq(num(m, "performance_schema"), 1); /* ON -> 1 */
  ck_assert_int_eq(num(m, "port"), port);
  m = find(&g, "mysql_process_list", NULL, NULL);
  ck_assert_int_ge(num(m, "threads_idle") + num(m, "threads_other"), 0);
  ck_assert_int_ge(num(m, "threads_executing"), 0);
  m = find(&g, "mysql_users", "user", "tower");
  ck_assert_int_ge(num(m, "connections"), 1);
  m = find(&g, "mysql_innodb", NULL, NULL);
  ck_assert_int_ge(tower_metric_field_count(m), 10);
  m = find(&g, "mysql_table_schema", "table", "items");
  ck_assert_str_eq(tower_metric_tag(m, "schema"), "shop");
  ck_assert_int_eq(num(m, "rows"), 10);
  ck_assert_double_gt(num(m, "data_length"), 0);
  m = find(&g, "mysql_table_schema_version", "table", "items");
  ck_assert_str_eq(tower_metric_tag(m, "engine"), "InnoDB");
  m = find(&g, "mysql_perf_schema", "name", "items");
  ck_assert_ptr_null(tower_metric_tag(m, "index"));
  ck_assert_double_ge(num(m, "table_io_waits_total_fetch"), 50);
  ck_assert_double_gt(num(m, "table_io_waits_seconds_total_fetch"), 0);
  m = find(&g, "mysql_perf_schema", "index", "NONE");
  ck_assert_double_ge(num(m, "index_io_waits_total_fetch"), 50);
  ck_assert_int_ge(tower_metric_tag_count(m), 4);
  (void)num(m, "index_io_waits_total_insert");
  m = find(&g, "mysql_user_stats", "user", "work");
  ck_assert_double_ge(num(m, "select_commands"), 5);
  gathered_free(&g);
  th_free(pl);
  free(dsn);
}
END_TEST

START_TEST(wrong_password) {
  char *dsn = tcp_dsn("tower", "not-the-Password-42");
  twi_pipeline *pl = build(dsn, "");
  gathered g = gather(pl);
  ck_assert_int_eq(g.errors, 1);
  ck_assert_uint_eq(g.n, 0);
  char *log = log_text();
  char *want = th_fmt("server tower@127.0.0.1:%d: connect: Access denied for user 'tower'", port);
  ck_assert_msg(strstr(log, want), "log:\n%s", log);
  ck_assert_msg(!strstr(log, "not-the-Password-42"), "the password reached the log:\n%s", log);
  free(want);
  free(log);
  gathered_free(&g);
  th_free(pl);
  free(dsn);
}
END_TEST

/* A port nobody listens on: bind, learn the port, close. */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

START_TEST(down_killed_and_back) {
  int dead = closed_port();
  char *servers = th_fmt("\"tower:" PW "@tcp(127.0.0.1:%d)/\", \"tower:" PW "@tcp(127.0.0.1:%d)/\"",
                         port, dead);
  twi_pipeline *pl = build(servers, "");
  gathered g1 = gather(pl);
  ck_assert_int_eq(g1.errors, 1); /* the dead one alone */
  ck_assert_ptr_nonnull(find(&g1, "mysql", NULL, NULL));
  char *log = log_text();
  char *want = th_fmt("server tower@127.0.0.1:%d: connect: Can't connect", dead);
  ck_assert_msg(strstr(log, want), "log:\n%s", log);
  free(want);
  free(log);

  /* the live server is killed between gathers: its kept connection fails */
  ck_assert_int_eq(kill(server_pid, SIGKILL), 0);
  while (kill(server_pid, 0) == 0)
    usleep(10000);
  gathered g2 = gather(pl);
  ck_assert_int_eq(g2.errors, 2);
  ck_assert_uint_eq(g2.n, 0);
  log = log_text();
  want = th_fmt("server tower@127.0.0.1:%d: SHOW GLOBAL STATUS:", port);
  ck_assert_msg(strstr(log, want), "log:\n%s", log);
  free(want);
  free(log);

  /* back on its port: the next gather reconnects */
  server("start");
  gathered g3 = gather(pl);
  ck_assert_int_eq(g3.errors, 1);
  ck_assert_ptr_nonnull(find(&g3, "mysql", NULL, NULL));
  gathered_free(&g1);
  gathered_free(&g2);
  gathered_free(&g3);
  th_free(pl);
  free(servers);
}
END_TEST

START_TEST(deadline) {
  /* a peer that takes connections (the kernel's backlog) and never speaks */
  int hole = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  ck_assert_int_eq(bind(hole, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(hole, 8), 0);
  ck_assert_int_eq(getsockname(hole, (struct sockaddr *)&a, &len), 0);
  char *servers = th_fmt("\"tower:" PW "@tcp(127.0.0.1:%d)/\", \"tower:" PW "@tcp(127.0.0.1:%d)/\"",
                         port, ntohs(a.sin_port));
  twi_pipeline *pl = build(servers, "timeout = \"1s\"; gather_global_variables = false;");
  gathered g1 = gather(pl);
  ck_assert_int_eq(g1.errors, 1);
  ck_assert_ptr_nonnull(find(&g1, "mysql", NULL, NULL)); /* not delayed out */
  ck_assert_double_ge(g1.secs, 0.9);
  ck_assert_double_lt(g1.secs, 1.8);
  char *log = log_text();
  char *want = th_fmt("server tower@127.0.0.1:%d: ", ntohs(a.sin_port));
  ck_assert_msg(strstr(log, want), "log:\n%s", log);
  free(want);
  free(log);

  /* the real server stops answering in the middle of a kept connection */
  ck_assert_int_eq(kill(server_pid, SIGSTOP), 0);
  gathered g2 = gather(pl);
  ck_assert_int_eq(kill(server_pid, SIGCONT), 0);
  ck_assert_int_eq(g2.errors, 2);
  ck_assert_double_lt(g2.secs, 1.8);
  log = log_text();
  want = th_fmt("server tower@127.0.0.1:%d: no answer within the timeout of 1s", port);
  ck_assert_msg(strstr(log, want), "log:\n%s", log);
  free(want);
  free(log);

  /* it answers again: the next gather has it back */
  gathered g3 = gather(pl);
  log = log_text();
  ck_assert_msg(find(&g3, "mysql", NULL, NULL), "log:\n%s", log);
  free(log);
  gathered_free(&g1);
  gathered_free(&g2);
  gathered_free(&g3);
  th_free(pl);
  free(servers);
  close(hole);
}
END_TEST

/* One gather over `tls`; returns the errors and the server's Ssl_cipher
 * (malloc'd, "" without TLS) as the server saw the session. */
static int tls_gather(const char *tls, const char *extra, char **cipher) {
  char *servers = th_fmt("\"tower:" PW "@tcp(127.0.0.1:%d)/?tls=%s\"", port, tls);
  char *opts = th_fmt("gather_global_variables = false; %s", extra);
  twi_pipeline *pl = build(servers, opts);
  gathered g = gather(pl);
  const tower_metric *m = find(&g, "mysql", NULL, NULL);
  ptrdiff_t i = m ? tower_metric_field_index(m, "ssl_cipher") : -1;
  *cipher = strdup(i >= 0 ? tower_metric_field_string(m, (size_t)i) : "");
  int errors = g.errors;
  gathered_free(&g);
  th_free(pl);
  free(servers);
  free(opts);
  return errors;
}

START_TEST(tls) {
  char *ca = th_fmt("tls_ca = \"%s/pki/root.pem\";", srvdir);
  char *other = th_fmt("tls_ca = \"%s/pki/self.pem\";", srvdir);
  char *cipher;
  /* custom: the block's CA verifies the chain and 127.0.0.1 */
  ck_assert_int_eq(tls_gather("custom", ca, &cipher), 0);
  ck_assert_msg(cipher[0], "no TLS on the session");
  free(cipher);
  ck_assert_int_eq(tls_gather("skip-verify", "", &cipher), 0);
  ck_assert_msg(cipher[0], "no TLS on the session");
  free(cipher);
  ck_assert_int_eq(tls_gather("preferred", "", &cipher), 0);
  ck_assert_msg(cipher[0], "no TLS on the session");
  free(cipher);
  ck_assert_int_eq(tls_gather("false", "", &cipher), 0);
  ck_assert_str_eq(cipher, "");
  free(cipher);
  /* true: the system's CAs, which do not know the test root */
  ck_assert_int_eq(tls_gather("true", "", &cipher), 1);
  free(cipher);
  char *log = log_text();
  char *want = th_fmt("server tower@127.0.0.1:%d: connect: TLS/SSL error", port);
  ck_assert_msg(strstr(log, want), "log:\n%s", log);
  free(want);
  free(log);
  /* custom with another CA fails, unless told not to verify */
  ck_assert_int_eq(tls_gather("custom", other, &cipher), 1);
  free(cipher);
  char *skip = th_fmt("%s insecure_skip_verify = true;", other);
  ck_assert_int_eq(tls_gather("custom", skip, &cipher), 0);
  ck_assert_msg(cipher[0], "no TLS on the session");
  free(cipher);
  free(skip);
  free(ca);
  free(other);
}
END_TEST

/* The DSN forms, parsed by the plugin's own parser. */
START_TEST(dsn_forms) {
  my_dsn d;
  char why[200];
  ck_assert_int_eq(
      my_dsn_parse("u:p@ss:w@rd@tcp(db.example:3307)/shop?tls=skip-verify", &d, why, sizeof why),
      0);
  ck_assert_str_eq(d.user, "u");
  ck_assert_str_eq(d.password, "p@ss:w@rd");
  ck_assert_str_eq(d.host, "db.example");
  ck_assert_uint_eq(d.port, 3307);
  ck_assert_str_eq(d.db, "shop");
  ck_assert_str_eq(d.tls, "skip-verify");
  ck_assert_str_eq(d.tag, "db.example:3307");
  ck_assert_str_eq(d.name, "u@db.example:3307");
  my_dsn_free(&d);
  ck_assert_int_eq(my_dsn_parse("", &d, why, sizeof why), 0);
  ck_assert_str_eq(d.tag, "127.0.0.1:3306");
  my_dsn_free(&d);
  ck_assert_int_eq(my_dsn_parse("root@unix(/run/mysqld/mysqld.sock)/", &d, why, sizeof why), 0);
  ck_assert_str_eq(d.tag, "/run/mysqld/mysqld.sock");
  ck_assert_ptr_null(d.password);
  my_dsn_free(&d);
  ck_assert_int_eq(my_dsn_parse("tcp([::1]:3306)/", &d, why, sizeof why), 0);
  ck_assert_str_eq(d.tag, "[::1]:3306");
  my_dsn_free(&d);
  ck_assert_int_eq(my_dsn_parse("u:secretpw@tcp(h:99999)/", &d, why, sizeof why), -EINVAL);
  ck_assert_ptr_null(strstr(why, "secretpw"));
  my_dsn_free(&d);
  ck_assert_int_eq(my_dsn_parse("u:pw@udp(h:1)/", &d, why, sizeof why), -EINVAL);
  my_dsn_free(&d);
  ck_assert_int_eq(my_dsn_parse("u:pw@tcp(h:1)", &d, why, sizeof why), -EINVAL);
  my_dsn_free(&d);
  ck_assert_int_eq(my_dsn_parse("tcp(h:1)/?tls=maybe", &d, why, sizeof why), -EINVAL);
  my_dsn_free(&d);
}
END_TEST

START_TEST(bad_dsn_is_config_error) {
  char *text = th_fmt("inputs = ( { plugin = \"mysql\"; servers = [\"tcp(h:1)/\", "
                      "\"u:hunter2-pw@tcp(h:0)/\"]; } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n");
  char *errors = NULL;
  twi_pipeline *pl = th_build(text, TWI_ONCE, &errors);
  ck_assert(!pl || twi_pipeline_init(pl) != 0);
  th_free(pl);
  char *log = log_text();
  ck_assert_msg(strstr(log, "servers[1]: the port is not a number"), "log:\n%s", log);
  ck_assert_msg(!strstr(log, "hunter2"), "the password reached the log:\n%s", log);
  free(log);
  free(errors);
  free(text);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("mysql");
  TCase *unit = tcase_create("dsn");
  tcase_add_checked_fixture(unit, setup, teardown);
  tcase_add_test(unit, dsn_forms);
  tcase_add_test(unit, bad_dsn_is_config_error);
  suite_add_tcase(s, unit);
  TCase *tc = tcase_create("mariadb");
  tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, status_counters_and_digests);
  tcase_add_test(tc, sections);
  tcase_add_test(tc, wrong_password);
  tcase_add_test(tc, tls);
  tcase_add_test(tc, deadline);
  tcase_add_test(tc, down_killed_and_back);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(suite());
}
