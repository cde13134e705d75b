/* inputs.mysql: Telegraf's mysql input on libmariadb (README.md).
 *
 * Each server is gathered on a thread of its own, started by the gather
 * and given `timeout` to finish; the gather waits for all of them or the
 * deadline, whichever comes first. A server still busy then is reported
 * (one error naming it) and its socket is shut down so that its thread
 * ends promptly; its metrics are not used, and the next gather reconnects.
 * The other servers' metrics go on as usual: one slow or dead server never
 * delays them beyond the deadline. Messages name a server by user@host:port
 * (or its socket), never with its password. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../../common/plural.h"
#include "mysql_input.h"

typedef struct my_state {
  tower_ctx *ctx;
  my_opts opts;
  my_server *servers;
  size_t n;
  pthread_mutex_t lock; /* `finished` and the condition */
  pthread_cond_t done;
  bool *finished;
} my_state;

static const tower_option options[] = {
    {.name = "servers",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_SECRET,
     .default_value = "tcp(127.0.0.1:3306)/",
     .help = "DSNs: [user[:password]@][tcp(host:port)|unix(/path)]/[db][?tls=...]"},
    {.name = "metric_version",
     .type = TOWER_OPT_INT,
     .default_value = "2",
     .min = "2",
     .max = "2",
     .help = "metric format: only Telegraf's version 2 exists in tower"},
    {.name = "timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "5s",
     .min = "100ms",
     .max = "1h",
     .help = "deadline of one server's gather (connect, every query)"},
    {.name = "gather_global_variables",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "SHOW GLOBAL VARIABLES (mysql_variables)"},
    {.name = "interval_slow",
     .type = TOWER_OPT_DURATION,
     .default_value = "0s",
     .help = "read global variables at most this often (0: every gather)"},
    {.name = "gather_slave_status",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "SHOW SLAVE STATUS (slave_* fields of mysql)"},
    {.name = "gather_replica_status",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "same as gather_slave_status"},
    {.name = "gather_all_slave_channels",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "one metric per replication channel (tag channel)"},
    {.name = "mariadb_dialect",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "SHOW ALL SLAVES STATUS (MariaDB multi-source)"},
    {.name = "gather_process_list",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "thread states and connections per user (mysql_process_list, mysql_users)"},
    {.name = "gather_user_statistics",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "information_schema.USER_STATISTICS (mysql_user_stats)"},
    {.name = "gather_innodb_metrics",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "information_schema.INNODB_METRICS (mysql_innodb)"},
    {.name = "gather_table_io_waits",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "table I/O waits (mysql_perf_schema)"},
    {.name = "gather_index_io_waits",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "index I/O waits (mysql_perf_schema)"},
    {.name = "gather_table_schema",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "table sizes and versions (mysql_table_schema)"},
    {.name = "table_schema_databases",
     .type = TOWER_OPT_STRINGS,
     .help = "databases for gather_table_schema (empty: all)"},
    {.name = "gather_perf_events_statements",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "statement digests (mysql_perf_schema, mysql_statement_digest)"},
    {.name = "perf_events_statements_digest_text_limit",
     .type = TOWER_OPT_INT,
     .default_value = "120",
     .min = "1",
     .max = "4096",
     .help = "digest_text tag length"},
    {.name = "perf_events_statements_limit",
     .type = TOWER_OPT_INT,
     .default_value = "250",
     .min = "1",
     .max = "100000",
     .help = "top digests per gather, by latency"},
    {.name = "perf_events_statements_time_limit",
     .type = TOWER_OPT_INT,
     .default_value = "86400",
     .min = "1",
     .help = "digests last seen within this many seconds (totals)"},
    {.name = "tls_ca", .type = TOWER_OPT_STRING, .help = "CA file (with ?tls=custom)"},
    {.name = "tls_cert", .type = TOWER_OPT_STRING, .help = "client certificate (?tls=custom)"},
    {.name = "tls_key", .type = TOWER_OPT_STRING, .help = "client key (?tls=custom)"},
    {.name = "insecure_skip_verify",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "do not verify the server's certificate (?tls=custom)"},
    TOWER_OPTION_END,
};

static void read_opts(my_opts *o, const tower_config *cfg) {
  o->cfg = cfg;
  o->global_vars = tower_config_bool(cfg, "gather_global_variables");
  o->slave_status = tower_config_bool(cfg, "gather_slave_status") ||
                    tower_config_bool(cfg, "gather_replica_status");
  o->all_slave_channels = tower_config_bool(cfg, "gather_all_slave_channels");
  o->mariadb_dialect = tower_config_bool(cfg, "mariadb_dialect");
  o->process_list = tower_config_bool(cfg, "gather_process_list");
  o->user_stats = tower_config_bool(cfg, "gather_user_statistics");
  o->innodb = tower_config_bool(cfg, "gather_innodb_metrics");
  o->table_io = tower_config_bool(cfg, "gather_table_io_waits");
  o->index_io = tower_config_bool(cfg, "gather_index_io_waits");
  o->table_schema = tower_config_bool(cfg, "gather_table_schema");
  o->perf_statements = tower_config_bool(cfg, "gather_perf_events_statements");
  o->digest_text_limit = tower_config_int(cfg, "perf_events_statements_digest_text_limit");
  o->statements_limit = tower_config_int(cfg, "perf_events_statements_limit");
  o->statements_time_limit = tower_config_int(cfg, "perf_events_statements_time_limit");
  o->interval_slow_ns = tower_config_duration(cfg, "interval_slow");
  o->timeout_ns = tower_config_duration(cfg, "timeout");
  o->tls_ca = tower_config_string(cfg, "tls_ca");
  o->tls_cert = tower_config_string(cfg, "tls_cert");
  o->tls_key = tower_config_string(cfg, "tls_key");
  o->insecure_skip_verify = tower_config_bool(cfg, "insecure_skip_verify");
}

static void state_free(my_state *st) {
  for (size_t i = 0; i < st->n; i++) {
    my_server *s = &st->servers[i];
    my_disconnect(s);
    my_digests_free(&s->digests);
    my_dsn_free(&s->dsn);
    pthread_mutex_destroy(&s->lock);
  }
  pthread_mutex_destroy(&st->lock);
  pthread_cond_destroy(&st->done);
  free(st->servers);
  free(st->finished);
  free(st);
}

static int my_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  /* libmariadb's global setup is not thread-safe: do it before threads */
  if (mysql_library_init(0, NULL, NULL)) {
    tower_error(ctx, "cannot initialize libmariadb");
    return -ENOMEM;
  }
  my_state *st = calloc(1, sizeof *st);
  size_t n = tower_config_strings_len(cfg, "servers");
  if (!st || !(st->servers = calloc(n ? n : 1, sizeof *st->servers)) ||
      !(st->finished = calloc(n ? n : 1, sizeof *st->finished))) {
    if (st) {
      free(st->servers);
      free(st);
    }
    return -ENOMEM;
  }
  st->ctx = ctx;
  read_opts(&st->opts, cfg);
  pthread_mutex_init(&st->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&st->done, &ca);
  pthread_condattr_destroy(&ca);
  const tower_setting *list = tower_config_setting(cfg, "servers");
  for (size_t i = 0; i < n; i++, st->n++) {
    my_server *s = &st->servers[i];
    s->opts = &st->opts;
    s->ctx = ctx;
    s->fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    char why[200];
    if (my_dsn_parse(tower_config_strings_at(cfg, "servers", i), &s->dsn, why, sizeof why)) {
      /* the DSN itself may hold a password: name it by position */
      const tower_setting *at =
          list && tower_setting_len(list) > i ? tower_setting_at(list, i) : list;
      st->n++;
      state_free(st);
      return tower_config_error(cfg, at, "servers[%zu]: %s", i, why);
    }
  }
  *state = st;
  return 0;
}

static void my_destroy(void *state) {
  my_state *st = state;
  for (size_t i = 0; i < st->n; i++) {
    my_server *s = &st->servers[i];
    if (s->running) { /* left behind by a deadline: cut it and wait */
      pthread_mutex_lock(&s->lock);
      if (s->fd >= 0)
        shutdown(s->fd, SHUT_RDWR);
      pthread_mutex_unlock(&s->lock);
      pthread_join(s->thread, NULL);
    }
    for (size_t k = 0; k < s->out.n; k++)
      tower_metric_free(s->out.v[k]);
    free(s->out.v);
  }
  state_free(st);
}

/* The sections of one gather, in Telegraf's order; the first failure ends
 * the server's gather (as Telegraf), its metrics so far are kept. */
static void gather_server(my_server *s) {
  const my_opts *o = s->opts;
  if (my_connect(s) || my_gather_status(s))
    return;
  if (o->global_vars && my_gather_variables(s))
    return;
  if (o->process_list && my_gather_processes(s))
    return;
  if (o->user_stats && my_gather_user_stats(s))
    return;
  if (o->slave_status && my_gather_slave(s))
    return;
  if (o->innodb && my_gather_innodb(s))
    return;
  if (o->table_io && my_gather_table_io(s))
    return;
  if (o->index_io && my_gather_index_io(s))
    return;
  if (o->perf_statements && my_gather_digests(s))
    return;
  if (o->table_schema)
    my_gather_table_schema(s);
}

typedef struct job {
  my_state *st;
  size_t i;
} job;

static void *server_main(void *arg) {
  job *j = arg;
  my_state *st = j->st;
  my_server *s = &st->servers[j->i];
  mysql_thread_init();
  gather_server(s);
  mysql_thread_end();
  pthread_mutex_lock(&st->lock);
  st->finished[j->i] = true;
  pthread_cond_signal(&st->done);
  pthread_mutex_unlock(&st->lock);
  free(j);
  return NULL;
}

static void out_reset(my_out *o) {
  for (size_t k = 0; k < o->n; k++)
    tower_metric_free(o->v[k]);
  o->n = 0;
  o->err[0] = '\0';
  o->queries = 0;
}

enum { IDLE, RUNNING, WAITING, FAILED }; /* a server in one gather */

static bool finished(my_state *st, size_t i) {
  pthread_mutex_lock(&st->lock);
  bool done = st->finished[i];
  pthread_mutex_unlock(&st->lock);
  return done;
}

/* Starts server i's thread; a thread left by the previous gather's
 * deadline is joined first, or waited for (WAITING) while it still runs. */
static int launch(my_state *st, size_t i, tower_acc *acc) {
  my_server *s = &st->servers[i];
  if (s->running) {
    if (!finished(st, i))
      return WAITING;
    pthread_join(s->thread, NULL);
    s->running = false;
  }
  out_reset(&s->out);
  s->cut = false;
  st->finished[i] = false;
  job *j = malloc(sizeof *j);
  if (!j || (*j = (job){st, i}, pthread_create(&s->thread, NULL, server_main, j)) != 0) {
    free(j);
    tower_acc_error(acc, "server %s: cannot start a thread", s->dsn.name);
    return FAILED;
  }
  s->running = true;
  return RUNNING;
}

/* Waits until every server of the gather finished or the deadline; a
 * server whose previous thread ends in time is started then. */
static void wait_all(my_state *st, int *phase, int64_t deadline, tower_acc *acc) {
  struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < st->n; i++) {
      if (phase[i] == WAITING && finished(st, i))
        phase[i] = launch(st, i, acc);
      all &= phase[i] != WAITING && (phase[i] != RUNNING || finished(st, i));
    }
    if (all)
      return;
    pthread_mutex_lock(&st->lock);
    int rc = pthread_cond_timedwait(&st->done, &st->lock, &ts);
    pthread_mutex_unlock(&st->lock);
    if (rc == ETIMEDOUT)
      return;
  }
}

/* Hands a finished server's metrics over, or cuts a late one off. */
static void collect(my_state *st, size_t i, int phase, tower_acc *acc) {
  my_server *s = &st->servers[i];
  double timeout = (double)st->opts.timeout_ns / 1e9;
  if (phase == WAITING) {
    tower_acc_error(acc,
                    "server %s: still busy with a previous gather after the timeout of %.3gs; "
                    "skipped",
                    s->dsn.name, timeout);
    return;
  }
  if (!finished(st, i)) {
    pthread_mutex_lock(&s->lock);
    s->cut = true;
    if (s->fd >= 0)
      shutdown(s->fd, SHUT_RDWR);
    pthread_mutex_unlock(&s->lock);
    tower_acc_error(acc,
                    "server %s: no answer within the timeout of %.3gs; its metrics of this "
                    "gather are dropped and the next gather reconnects",
                    s->dsn.name, timeout);
    return;
  }
  pthread_join(s->thread, NULL);
  s->running = false;
  for (size_t k = 0; k < s->out.n; k++)
    tower_acc_add(acc, s->out.v[k]);
  s->out.n = 0;
  tower_debug(st->ctx, "server %s: %u statement%s", s->dsn.name, s->out.queries,
              plural_s(s->out.queries));
  if (s->out.err[0])
    tower_acc_error(acc, "server %s: %s", s->dsn.name, s->out.err);
}

static int my_gather(void *state, tower_acc *acc) {
  my_state *st = state;
  int phase[st->n ? st->n : 1];
  int64_t deadline = tower_mono_ns() + st->opts.timeout_ns;
  for (size_t i = 0; i < st->n; i++)
    phase[i] = launch(st, i, acc);
  wait_all(st, phase, deadline, acc);
  for (size_t i = 0; i < st->n; i++)
    if (phase[i] == RUNNING || phase[i] == WAITING)
      collect(st, i, phase[i], acc);
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "mysql",
    .description = "MySQL and MariaDB status, variables, replication, digests",
    .version = "1.0.0",
    .options = options,
    .init = my_init,
    .destroy = my_destroy,
    .gather = my_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
