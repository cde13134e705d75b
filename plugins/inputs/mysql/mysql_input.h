/* inputs.mysql: shared types of the plugin (README.md). One `my_server` per
 * entry of `servers`, each gathered on its own thread by mysql.c; the
 * sections (status, lists, digests) add their metrics to the server's own
 * list, which the gather hands to the accumulator once the thread is done,
 * so no thread but the gather's ever touches the accumulator. */
#ifndef TOWER_INPUT_MYSQL_H
#define TOWER_INPUT_MYSQL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include <tower/tower.h>

/* A parsed Telegraf DSN: [user[:password]@][tcp(host:port)|unix(path)]/[db][?params] */
typedef struct my_dsn {
  char *user, *password; /* NULL when absent */
  char *host;            /* tcp; NULL for a unix socket */
  unsigned port;
  char *socket;   /* unix; NULL for tcp */
  char *db;       /* NULL when empty */
  char *tls;      /* the tls parameter: NULL, false, true, skip-verify, preferred, custom */
  char tag[280];  /* the `server` tag: host:port or the socket path (Telegraf's Addr) */
  char name[400]; /* for messages: user@tag, never the password */
} my_dsn;

/* Parses `text` into `d` (freed with my_dsn_free). Returns 0, or -EINVAL
 * with a reason (no secret in it) in `why`. */
int my_dsn_parse(const char *text, my_dsn *d, char *why, size_t why_len);
void my_dsn_free(my_dsn *d);

/* The previous counters of one statement digest (mysql_digest.c). */
typedef struct my_digest_prev my_digest_prev;
typedef struct my_digests {
  my_digest_prev *slots; /* previous totals; open addressing by key hash */
  size_t cap, used;
  bool baseline; /* a first gather has been seen */
  void *work;    /* buffers reused between gathers (mysql_digest.c) */
} my_digests;

typedef struct my_opts {
  bool global_vars, slave_status, all_slave_channels, mariadb_dialect, process_list, user_stats,
      innodb, table_io, index_io, table_schema, perf_statements;
  const tower_config *cfg; /* table_schema_databases */
  int64_t digest_text_limit, statements_limit, statements_time_limit;
  int64_t interval_slow_ns, timeout_ns;
  const char *tls_ca, *tls_cert, *tls_key;
  bool insecure_skip_verify;
} my_opts;

/* The metrics one server's gather produced, handed to the accumulator by
 * the gather thread. */
typedef struct my_out {
  tower_metric **v;
  size_t n, cap;
  char err[512];    /* the first error, "" when none */
  unsigned queries; /* statements issued (for the benchmark and debug logs) */
} my_out;

typedef struct my_server {
  const my_opts *opts;
  tower_ctx *ctx;
  my_dsn dsn;
  MYSQL *conn;           /* kept between gathers; NULL after an error */
  pthread_mutex_t lock;  /* guards conn's socket against the deadline's shutdown */
  int fd;                /* the connection's socket while a gather runs, else -1 */
  bool cut;              /* the deadline shut the socket down */
  bool mariadb;          /* the server says it is MariaDB */
  unsigned long version; /* mysql_get_server_version */
  int64_t uptime, prev_uptime;
  int64_t vars_mono_ns; /* when global variables were last read (interval_slow) */
  bool vars_done;
  bool user_stats_missing; /* the table does not exist: stop asking */
  my_digests digests;
  my_out out;
  /* thread bookkeeping (mysql.c) */
  pthread_t thread;
  bool running;
} my_server;

/* ---- the connection (mysql_conn.c) ---- */
/* Connects when needed; 0 or -errno with the reason in s->out.err. */
int my_connect(my_server *s);
/* Closes the connection (after an error, or at destroy). */
void my_disconnect(my_server *s);
/* Runs `sql` and starts streaming its rows; NULL on error, with the reason
 * in s->out.err (the connection is closed when the error is the client's
 * or the link's). The caller frees the result with mysql_free_result. */
MYSQL_RES *my_query(my_server *s, const char *what, const char *sql);
/* Frees a result after its last row; 0, or -EIO when reading the rows
 * failed (recorded, as my_query does). */
int my_rows_end(my_server *s, const char *what, MYSQL_RES *r);
/* Records an error of section `what` (the first one wins). */
void my_fail(my_server *s, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- output ---- */
/* A new metric named `name` with the server tag; NULL when out of memory
 * (recorded). Add it with my_emit. */
tower_metric *my_metric(my_server *s, const char *name);
/* Keeps `m` for the accumulator (frees it when out of memory). */
void my_emit(my_server *s, tower_metric *m);

/* ---- v2 value conversion (mysql_value.c) ---- */
/* Telegraf's metric_version 2 conversion of a status or variable value:
 * YES/ON -> 1, NO/OFF -> 0, integer, float, else string; empty: nothing.
 * Returns 0 when added, 1 when skipped, <0 on memory errors. */
int my_add_value(tower_metric *m, const char *key, const char *val, size_t len);
/* By column type, as Telegraf's parseValueByDatabaseTypeName. */
int my_add_typed(tower_metric *m, const char *key, const MYSQL_FIELD *f, const char *val,
                 size_t len);
/* Lower-cases `in` into `out` (size `n`). */
void my_lower(char *out, size_t n, const char *in, size_t len);
/* Unsigned / float value of a column, 0 for NULL or junk. */
uint64_t my_u64(const char *v);
double my_f64(const char *v);

/* ---- sections ---- */
int my_gather_status(my_server *s);     /* mysql (global status) */
int my_gather_variables(my_server *s);  /* mysql_variables */
int my_gather_slave(my_server *s);      /* mysql slave_* */
int my_gather_innodb(my_server *s);     /* mysql_innodb */
int my_gather_processes(my_server *s);  /* mysql_process_list, mysql_users */
int my_gather_user_stats(my_server *s); /* mysql_user_stats */
int my_gather_table_io(my_server *s);   /* mysql_perf_schema (table io waits) */
int my_gather_index_io(my_server *s);   /* mysql_perf_schema (index io waits) */
int my_gather_table_schema(my_server *s);
int my_gather_digests(my_server *s); /* mysql_perf_schema + mysql_statement_digest */
void my_digests_free(my_digests *d);

#endif
