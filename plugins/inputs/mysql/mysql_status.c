/* The server-wide sections: SHOW GLOBAL STATUS (`mysql`), SHOW GLOBAL
 * VARIABLES (`mysql_variables`), the replica status (`mysql`, slave_*
 * fields) and information_schema.INNODB_METRICS (`mysql_innodb`). Each
 * gives one metric per server (Telegraf splits them into metrics of 20
 * fields with the same tags and time; one metric is the same series). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_input.h"

/* Reads two-column rows (name, value) into `m`, keys lower-cased.
 * `version_tags`: a name containing "version" is also a tag (as Telegraf
 * does for variables). */
static int name_values(my_server *s, const char *what, const char *sql, tower_metric *m,
                       bool version_tags) {
  MYSQL_RES *r = my_query(s, what, sql);
  if (!r)
    return -EIO;
  MYSQL_ROW row;
  char key[192];
  while ((row = mysql_fetch_row(r))) {
    unsigned long *len = mysql_fetch_lengths(r);
    if (!row[0])
      continue;
    my_lower(key, sizeof key, row[0], len[0]);
    if (version_tags && strstr(key, "version") && row[1] && len[1])
      tower_metric_add_tag_n(m, key, strlen(key), row[1], len[1]);
    if (strcmp(key, "uptime") == 0 && row[1])
      s->uptime = strtoll(row[1], NULL, 10);
    if (my_add_value(m, key, row[1], row[1] ? len[1] : 0) < 0) {
      my_fail(s, what, "out of memory");
      break;
    }
  }
  return my_rows_end(s, what, r);
}

int my_gather_status(my_server *s) {
  tower_metric *m = my_metric(s, "mysql");
  if (!m)
    return -ENOMEM;
  int rc = name_values(s, "SHOW GLOBAL STATUS", "SHOW GLOBAL STATUS", m, false);
  my_emit(s, m);
  return rc;
}

int my_gather_variables(my_server *s) {
  /* interval_slow: the variables change rarely and are many */
  int64_t now = tower_mono_ns();
  if (s->vars_done && s->opts->interval_slow_ns > 0 &&
      now - s->vars_mono_ns < s->opts->interval_slow_ns)
    return 0;
  tower_metric *m = my_metric(s, "mysql_variables");
  if (!m)
    return -ENOMEM;
  int rc = name_values(s, "SHOW GLOBAL VARIABLES", "SHOW GLOBAL VARIABLES", m, true);
  my_emit(s, m);
  if (rc == 0) {
    s->vars_done = true;
    s->vars_mono_ns = now;
  }
  return rc;
}

/* One row of the replica status into a `mysql` metric of slave_* fields. */
static int slave_row(my_server *s, MYSQL_RES *r, MYSQL_ROW row) {
  unsigned n = mysql_num_fields(r);
  MYSQL_FIELD *f = mysql_fetch_fields(r);
  unsigned long *len = mysql_fetch_lengths(r);
  tower_metric *m = my_metric(s, "mysql");
  if (!m)
    return -ENOMEM;
  char key[200] = "slave_";
  for (unsigned i = 0; i < n; i++) {
    my_lower(key + 6, sizeof key - 6, f[i].name, f[i].name_length);
    bool channel = strcmp(key + 6, "channel_name") == 0 || strcmp(key + 6, "connection_name") == 0;
    if (s->opts->all_slave_channels && channel) {
      /* the default channel's name is empty */
      if (row[i] && len[i])
        tower_metric_add_tag_n(m, "channel", 7, row[i], len[i]);
      else
        tower_metric_add_tag(m, "channel", "default");
      continue;
    }
    my_add_typed(m, key, &f[i], row[i], row[i] ? len[i] : 0);
  }
  my_emit(s, m);
  return 0;
}

int my_gather_slave(my_server *s) {
  const char *sql;
  if (s->opts->mariadb_dialect)
    sql = "SHOW ALL SLAVES STATUS";
  else
    sql = "SHOW SLAVE STATUS";
  MYSQL_RES *r = my_query(s, sql, sql);
  if (!r)
    return -EIO;
  MYSQL_ROW row;
  bool first = true;
  while ((row = mysql_fetch_row(r))) {
    /* without gather_all_slave_channels only the first row counts, but the
     * others must be read to free the connection */
    if (first || s->opts->all_slave_channels)
      slave_row(s, r, row);
    first = false;
  }
  return my_rows_end(s, sql, r);
}

int my_gather_innodb(my_server *s) {
  /* MariaDB 10.5 and later have ENABLED where MySQL has STATUS */
  const char *sql =
      s->mariadb && s->version >= 100500
          ? "SELECT NAME, COUNT FROM information_schema.INNODB_METRICS WHERE ENABLED = 1"
          : "SELECT NAME, COUNT FROM information_schema.INNODB_METRICS "
            "WHERE status = 'enabled'";
  const char *what = "information_schema.INNODB_METRICS";
  MYSQL_RES *r = my_query(s, what, sql);
  if (!r)
    return -EIO;
  tower_metric *m = my_metric(s, "mysql_innodb");
  MYSQL_ROW row;
  char key[192];
  while (m && (row = mysql_fetch_row(r))) {
    unsigned long *len = mysql_fetch_lengths(r);
    if (!row[0] || !row[1])
      continue;
    my_lower(key, sizeof key, row[0], len[0]);
    /* Telegraf reads COUNT as an unsigned BIGINT; a negative count (a few
     * gauges can be) would fail there too and is left out */
    if (row[1][0] != '-')
      tower_metric_add_uint(m, key, strtoull(row[1], NULL, 10));
  }
  my_emit(s, m);
  if (!m) {
    while (mysql_fetch_row(r))
      ;
  }
  return my_rows_end(s, what, r);
}
