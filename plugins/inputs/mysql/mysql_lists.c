/* The per-object sections: the process list (`mysql_process_list`,
 * `mysql_users`), user statistics (`mysql_user_stats`), table and index
 * I/O waits (`mysql_perf_schema`) and table schema (`mysql_table_schema`,
 * `mysql_table_schema_version`), with Telegraf's names and types. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_input.h"

#define PICO 1e12 /* performance_schema timers count picoseconds */

/* Telegraf's thread states: every one is reported, 0 when no thread is in it. */
static const char *const states[] = {"after create",
                                     "altering table",
                                     "analyzing",
                                     "checking permissions",
                                     "checking table",
                                     "cleaning up",
                                     "closing tables",
                                     "converting heap to myisam",
                                     "copying to tmp table",
                                     "creating sort index",
                                     "creating table",
                                     "creating tmp table",
                                     "deleting",
                                     "executing",
                                     "execution of init_command",
                                     "end",
                                     "freeing items",
                                     "flushing tables",
                                     "fulltext initialization",
                                     "idle",
                                     "init",
                                     "killed",
                                     "waiting for lock",
                                     "logging slow query",
                                     "login",
                                     "manage keys",
                                     "opening tables",
                                     "optimizing",
                                     "preparing",
                                     "reading from net",
                                     "removing duplicates",
                                     "removing tmp table",
                                     "reopen tables",
                                     "repair by sorting",
                                     "repair done",
                                     "repair with keycache",
                                     "replication master",
                                     "rolling back",
                                     "searching rows for update",
                                     "sending data",
                                     "sorting for group",
                                     "sorting for order",
                                     "sorting index",
                                     "sorting result",
                                     "statistics",
                                     "updating",
                                     "waiting for tables",
                                     "waiting for table flush",
                                     "waiting on cond",
                                     "writing to net",
                                     "other"};
#define NSTATES (sizeof states / sizeof *states)

static const char *const mapped[][2] = {
    {"user sleep", "idle"},
    {"creating index", "altering table"},
    {"committing alter table to storage engine", "altering table"},
    {"discard or import tablespace", "altering table"},
    {"rename", "altering table"},
    {"setup", "altering table"},
    {"renaming result table", "altering table"},
    {"preparing for alter table", "altering table"},
    {"copying to group table", "copying to tmp table"},
    {"copy to tmp table", "copying to tmp table"},
    {"query end", "end"},
    {"update", "updating"},
    {"updating main table", "updating"},
    {"updating reference tables", "updating"},
    {"system lock", "waiting for lock"},
    {"user lock", "waiting for lock"},
    {"table lock", "waiting for lock"},
    {"deleting from main table", "deleting"},
    {"deleting from reference tables", "deleting"},
};

static size_t state_index(const char *name) {
  for (size_t i = 0; i < NSTATES; i++)
    if (strcmp(states[i], name) == 0)
      return i;
  return NSTATES;
}

/* Telegraf's findThreadState: lower case, '_' as ' ', then the mappings. */
static size_t thread_state(const char *command, const char *state) {
  char c[128], st[128];
  my_lower(c, sizeof c, command, strlen(command));
  my_lower(st, sizeof st, state, strlen(state));
  for (char *p = c; *p; p++)
    *p = *p == '_' ? ' ' : *p;
  for (char *p = st; *p; p++)
    *p = *p == '_' ? ' ' : *p;
  size_t i = state_index(st);
  if (i < NSTATES)
    return i;
  for (size_t k = 0; k < sizeof mapped / sizeof *mapped; k++)
    if (strcmp(st, mapped[k][0]) == 0)
      return state_index(mapped[k][1]);
  if (strstr(st, "waiting for") && strstr(st, "lock"))
    return state_index("waiting for lock");
  if (strcmp(c, "sleep") == 0 && !st[0])
    return state_index("idle");
  if (strcmp(c, "query") == 0)
    return state_index("executing");
  if (strcmp(c, "binlog dump") == 0)
    return state_index("replication master");
  return state_index("other");
}

static int thread_states(my_server *s) {
  const char *what = "information_schema.PROCESSLIST";
  MYSQL_RES *r = my_query(s, what,
                          "SELECT COALESCE(command,''), COALESCE(state,''), COUNT(*) "
                          "FROM information_schema.processlist WHERE ID != CONNECTION_ID() "
                          "GROUP BY command, state");
  if (!r)
    return -EIO;
  int64_t counts[NSTATES] = {0};
  MYSQL_ROW row;
  while ((row = mysql_fetch_row(r)))
    counts[thread_state(row[0] ? row[0] : "", row[1] ? row[1] : "")] += strtoll(row[2], NULL, 10);
  int rc = my_rows_end(s, what, r);
  if (rc)
    return rc;
  tower_metric *m = my_metric(s, "mysql_process_list");
  char key[96];
  for (size_t i = 0; m && i < NSTATES; i++) {
    snprintf(key, sizeof key, "threads_%s", states[i]);
    for (char *p = key; *p; p++)
      *p = *p == ' ' ? '_' : *p;
    tower_metric_add_int(m, key, counts[i]);
  }
  my_emit(s, m);
  return 0;
}

int my_gather_processes(my_server *s) {
  int rc = thread_states(s);
  if (rc)
    return rc;
  const char *what = "information_schema.PROCESSLIST users";
  MYSQL_RES *r =
      my_query(s, what, "SELECT user, SUM(1) FROM information_schema.processlist GROUP BY user");
  if (!r)
    return -EIO;
  MYSQL_ROW row;
  while ((row = mysql_fetch_row(r))) {
    tower_metric *m = my_metric(s, "mysql_users");
    if (m && row[0] && row[0][0])
      tower_metric_add_tag(m, "user", row[0]);
    if (m)
      tower_metric_add_int(m, "connections", strtoll(row[1] ? row[1] : "0", NULL, 10));
    my_emit(s, m);
  }
  return my_rows_end(s, what, r);
}

int my_gather_user_stats(my_server *s) {
  if (s->user_stats_missing)
    return 0;
  const char *what = "information_schema.USER_STATISTICS";
  MYSQL_RES *r = my_query(s, what, "SELECT * FROM information_schema.user_statistics");
  if (!r) {
    /* MySQL has no such table: say so once and stop asking, as Telegraf */
    if (strstr(s->out.err, "nknown table"))
      s->user_stats_missing = true;
    return -EIO;
  }
  unsigned n = mysql_num_fields(r);
  MYSQL_FIELD *f = mysql_fetch_fields(r);
  MYSQL_ROW row;
  char key[128];
  while ((row = mysql_fetch_row(r))) {
    unsigned long *len = mysql_fetch_lengths(r);
    tower_metric *m = my_metric(s, "mysql_user_stats");
    if (m && row[0] && len[0])
      tower_metric_add_tag_n(m, "user", 4, row[0], len[0]);
    for (unsigned i = 1; m && i < n; i++) {
      my_lower(key, sizeof key, f[i].name, f[i].name_length);
      if (IS_NUM(f[i].type) && f[i].type != MYSQL_TYPE_FLOAT && f[i].type != MYSQL_TYPE_DOUBLE &&
          f[i].type != MYSQL_TYPE_DECIMAL && f[i].type != MYSQL_TYPE_NEWDECIMAL)
        tower_metric_add_int(m, key, strtoll(row[i] ? row[i] : "0", NULL, 10));
      else if (IS_NUM(f[i].type))
        tower_metric_add_float(m, key, my_f64(row[i]));
      else if (row[i] && len[i])
        tower_metric_add_string_n(m, key, strlen(key), row[i], len[i]);
    }
    my_emit(s, m);
  }
  return my_rows_end(s, what, r);
}

static const char *const ops[] = {"fetch", "insert", "update", "delete"};

/* Rows of SCHEMA, NAME, [INDEX,] 4 counts, 4 timers from
 * table_io_waits_summary_by_table or _by_index_usage. */
static int io_waits(my_server *s, const char *what, const char *sql, const char *prefix,
                    bool index) {
  MYSQL_RES *r = my_query(s, what, sql);
  if (!r)
    return -EIO;
  unsigned base = index ? 3 : 2;
  char key[96];
  MYSQL_ROW row;
  while ((row = mysql_fetch_row(r))) {
    tower_metric *m = my_metric(s, "mysql_perf_schema");
    if (!m)
      continue;
    if (row[0] && row[0][0])
      tower_metric_add_tag(m, "schema", row[0]);
    if (row[1] && row[1][0])
      tower_metric_add_tag(m, "name", row[1]);
    if (index)
      tower_metric_add_tag(m, "index", row[2] ? row[2] : "NONE");
    /* an index only fetches; Telegraf reports writes on the NONE row alone */
    size_t nops = index && row[2] && strcmp(row[2], "NONE") != 0 ? 1 : 4;
    for (size_t k = 0; k < nops; k++) {
      snprintf(key, sizeof key, "%s_io_waits_total_%s", prefix, ops[k]);
      tower_metric_add_float(m, key, my_f64(row[base + k]));
      snprintf(key, sizeof key, "%s_io_waits_seconds_total_%s", prefix, ops[k]);
      tower_metric_add_float(m, key, my_f64(row[base + 4 + k]) / PICO);
    }
    my_emit(s, m);
  }
  return my_rows_end(s, what, r);
}

int my_gather_table_io(my_server *s) {
  return io_waits(s, "performance_schema.table_io_waits_summary_by_table",
                  "SELECT OBJECT_SCHEMA, OBJECT_NAME, COUNT_FETCH, COUNT_INSERT, COUNT_UPDATE, "
                  "COUNT_DELETE, SUM_TIMER_FETCH, SUM_TIMER_INSERT, SUM_TIMER_UPDATE, "
                  "SUM_TIMER_DELETE FROM performance_schema.table_io_waits_summary_by_table "
                  "WHERE OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema')",
                  "table", false);
}

int my_gather_index_io(my_server *s) {
  return io_waits(s, "performance_schema.table_io_waits_summary_by_index_usage",
                  "SELECT OBJECT_SCHEMA, OBJECT_NAME, IFNULL(INDEX_NAME, 'NONE'), COUNT_FETCH, "
                  "COUNT_INSERT, COUNT_UPDATE, COUNT_DELETE, SUM_TIMER_FETCH, SUM_TIMER_INSERT, "
                  "SUM_TIMER_UPDATE, SUM_TIMER_DELETE "
                  "FROM performance_schema.table_io_waits_summary_by_index_usage "
                  "WHERE OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema')",
                  "index", true);
}

static void table_row(my_server *s, MYSQL_ROW row) {
  static const char *const sizes[] = {"rows", "data_length", "index_length", "data_free"};
  tower_metric *m = my_metric(s, "mysql_table_schema");
  if (m) {
    tower_metric_add_tag(m, "schema", row[0]);
    tower_metric_add_tag(m, "table", row[1]);
  }
  for (size_t k = 0; m && k < 4; k++)
    tower_metric_add_float(m, sizes[k], my_f64(row[6 + k]));
  tower_metric *v = m ? tower_metric_clone(m) : NULL;
  my_emit(s, m);
  if (!v)
    return;
  for (size_t k = 0; k < 4; k++)
    tower_metric_remove_field(v, sizes[k]);
  tower_metric_set_name(v, "mysql_table_schema_version");
  const char *tags[][2] = {
      {"type", row[2]}, {"engine", row[3]}, {"row_format", row[5]}, {"create_options", row[10]}};
  for (size_t k = 0; k < 4; k++)
    if (tags[k][1] && tags[k][1][0])
      tower_metric_add_tag(v, tags[k][0], tags[k][1]);
  tower_metric_add_float(v, "table_version", my_f64(row[4]));
  my_emit(s, v);
}

static int schema_of(my_server *s, const char *db) {
  char esc[2 * 256 + 1], sql[1024];
  size_t n = strlen(db);
  if (n > 256) {
    my_fail(s, "information_schema.TABLES", "database name longer than 256 bytes: %.40s...", db);
    return -EINVAL;
  }
  mysql_real_escape_string(s->conn, esc, db, (unsigned long)n);
  snprintf(sql, sizeof sql,
           "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, IFNULL(ENGINE, 'NONE'), "
           "IFNULL(VERSION, '0'), IFNULL(ROW_FORMAT, 'NONE'), IFNULL(TABLE_ROWS, '0'), "
           "IFNULL(DATA_LENGTH, '0'), IFNULL(INDEX_LENGTH, '0'), IFNULL(DATA_FREE, '0'), "
           "IFNULL(CREATE_OPTIONS, 'NONE') FROM information_schema.tables "
           "WHERE TABLE_SCHEMA = '%s'",
           esc);
  const char *what = "information_schema.TABLES";
  MYSQL_RES *r = my_query(s, what, sql);
  if (!r)
    return -EIO;
  MYSQL_ROW row;
  while ((row = mysql_fetch_row(r)))
    if (row[0] && row[1])
      table_row(s, row);
  return my_rows_end(s, what, r);
}

int my_gather_table_schema(my_server *s) {
  size_t n = tower_config_strings_len(s->opts->cfg, "table_schema_databases");
  for (size_t i = 0; i < n; i++)
    if (schema_of(s, tower_config_strings_at(s->opts->cfg, "table_schema_databases", i)))
      return -EIO;
  if (n)
    return 0;
  const char *what = "information_schema.SCHEMATA";
  MYSQL_RES *r = my_query(s, what,
                          "SELECT SCHEMA_NAME FROM information_schema.schemata WHERE SCHEMA_NAME "
                          "NOT IN ('mysql', 'performance_schema', 'information_schema')");
  if (!r)
    return -EIO;
  /* one statement at a time on a connection: keep the names, then ask */
  char **dbs = NULL;
  size_t ndb = 0;
  MYSQL_ROW row;
  while ((row = mysql_fetch_row(r))) {
    char **more = realloc(dbs, (ndb + 1) * sizeof *dbs);
    if (!more || !row[0] || !(more[ndb] = strdup(row[0]))) {
      dbs = more ? more : dbs;
      continue;
    }
    dbs = more;
    ndb++;
  }
  int rc = my_rows_end(s, what, r);
  for (size_t i = 0; i < ndb; i++) {
    if (rc == 0)
      rc = schema_of(s, dbs[i]);
    free(dbs[i]);
  }
  free(dbs);
  return rc;
}
