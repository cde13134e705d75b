/* inputs.mysql: the cost of one gather against a local MariaDB server,
 * which this program starts in a temporary directory with
 * tests/plugins/mysql/mariadb.sh (and stops at the end). The gather runs
 * through the real core (accumulator, output buffer) the way the input
 * thread runs it.
 *
 * Usage: bench_mysql [gathers, default 20] [digests, default 1000]
 *   case 1: the defaults (global status and variables);
 *   case 2: every section (process list, InnoDB, user statistics, table
 *           and index I/O waits, table schema, replica status);
 *   case 3, 4: statement digests, after DIGESTS distinct statements ran,
 *           with perf_events_statements_limit 250 and 1000; every gather
 *           reads the whole digest table.
 * CPU is this process's (the agent's side; the server's is its own), wall
 * time and CPU per gather. Statements per gather are counted by the server
 * (Questions before and after, less the reading itself).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mysql.h>

#include "bench_util.h"

#define PW "Bench-s3cret-1"

static char dir[] = "/tmp/tower-bench-mysql.XXXXXX";
static int port;
static char sock[512];
static MYSQL *root;

static double process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void server(const char *cmd) {
  char line[1024];
  snprintf(line, sizeof line, "MYSQL_TEST_PASSWORD=%s '%s' %s '%s'", PW, MARIADB_SH, cmd, dir);
  FILE *p = popen(line, "r");
  char out[700] = "";
  if (!p || (!fgets(out, sizeof out, p) && strcmp(cmd, "start") == 0) || pclose(p) != 0)
    bench_die(line);
  if (strcmp(cmd, "start") == 0 && sscanf(out, "%d %511s", &port, sock) != 2)
    bench_die(out);
}

static void sql(const char *q) {
  if (mysql_query(root, q))
    bench_die(mysql_error(root));
  mysql_free_result(mysql_store_result(root));
}

static long questions(void) {
  if (mysql_query(root, "SHOW GLOBAL STATUS LIKE 'Questions'"))
    bench_die(mysql_error(root));
  MYSQL_RES *r = mysql_store_result(root);
  MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
  long v = row ? atol(row[1]) : 0;
  mysql_free_result(r);
  return v;
}

/* `n` statements of distinct shapes (an alias per statement), so n digests. */
static void digests(int n) {
  char q[128];
  for (int i = 0; i < n; i++) {
    snprintf(q, sizeof q, "SELECT id AS c%d FROM shop.items WHERE price > %d", i, i % 10);
    sql(q);
  }
}

static int gather_once(twi_pipeline *pl) {
  tower_ctx *in = pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, pl, false);
  twi_acc_begin(acc, tower_now());
  in->plugin->desc.gather(in->state, acc);
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  return errors;
}

static void bench_gather(const char *label, const char *extra, long gathers) {
  char text[2048];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"mysql\"; servers = [\"tower:" PW
           "@tcp(127.0.0.1:%d)/\"]; %s } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; "
           "metric_buffer_limit = 1000000; } );\n",
           port, extra);
  twi_pipeline *pl = bench_pipeline(text);
  int errors = gather_once(pl); /* warm up: the connection, the digest baseline */
  twi_output_flush_sync(pl->outputs[0]);
  size_t metrics = 0;
  long q0 = questions();
  double w0 = bench_now(), c0 = process_cpu();
  for (long i = 0; i < gathers; i++) {
    errors += gather_once(pl);
    metrics += twi_output_buffered(pl->outputs[0]);
    twi_output_flush_sync(pl->outputs[0]);
  }
  double wall = bench_now() - w0, cpu = process_cpu() - c0;
  long statements = questions() - q0 - 1;
  twi_pipeline_free(pl);
  if (errors) {
    fprintf(stderr, "bench_mysql: %d gather errors\n", errors);
    exit(1);
  }
  printf("%-36s %8.0f %10.1f %9.2f ms %9.2f ms\n", label, (double)metrics / (double)gathers,
         (double)statements / (double)gathers, wall * 1e3 / (double)gathers,
         cpu * 1e3 / (double)gathers);
}

int main(int argc, char **argv) {
  long gathers = argc > 1 ? atol(argv[1]) : 20;
  int ndigests = argc > 2 ? atoi(argv[2]) : 1000;
  if (gathers <= 0 || ndigests < 0) {
    fprintf(stderr, "usage: bench_mysql [gathers] [digests]\n");
    return 2;
  }
  if (!mkdtemp(dir))
    bench_die("mkdtemp");
  server("start");
  root = mysql_init(NULL);
  if (!mysql_real_connect(root, NULL, "root", NULL, NULL, 0, sock, 0))
    bench_die(mysql_error(root));
  sql("SET GLOBAL userstat = 1");
  char limit[64];
  printf("MariaDB %s on loopback, %ld gathers\n", mysql_get_server_info(root), gathers);
  printf("%-36s %8s %10s %12s %12s\n", "case", "metrics", "statements", "wall/gather",
         "cpu/gather");
  bench_gather("status + variables (defaults)", "", gathers);
  bench_gather("every section but digests",
               "gather_process_list = true; gather_innodb_metrics = true; "
               "gather_user_statistics = true; gather_table_io_waits = true; "
               "gather_index_io_waits = true; gather_table_schema = true; "
               "gather_slave_status = true;",
               gathers);
  sql("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest");
  digests(ndigests);
  snprintf(limit, sizeof limit, "status + %d digests, limit 250", ndigests);
  bench_gather(limit, "gather_global_variables = false; gather_perf_events_statements = true;",
               gathers);
  snprintf(limit, sizeof limit, "status + %d digests, limit 1000", ndigests);
  bench_gather(limit,
               "gather_global_variables = false; gather_perf_events_statements = true; "
               "perf_events_statements_limit = 1000;",
               gathers);
  mysql_close(root);
  server("stop");
  char rm[600];
  snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
  if (system(rm) != 0)
    bench_die(rm);
  return 0;
}
