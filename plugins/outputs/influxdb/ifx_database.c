/* CREATE DATABASE (v1): sent before the first write to each database, and
 * again when a write finds its database missing (dropped, or a failover
 * server that never had it), like Telegraf. The outcome is remembered per
 * database name so that a write is not preceded by a query every time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "influxdb.h"

bool ifx_db_known(const ifx_state *s, const char *db) {
  for (size_t i = 0; i < s->ncreated; i++)
    if (strcmp(s->created[i], db) == 0)
      return true;
  return false;
}

/* Remembers db (allocation only for a database not seen before). */
static void remember(ifx_state *s, const char *db) {
  if (ifx_db_known(s, db))
    return;
  char **p = realloc(s->created, (s->ncreated + 1) * sizeof *p);
  if (!p)
    return;
  s->created = p;
  if ((p[s->ncreated] = strdup(db)) != NULL)
    s->ncreated++;
}

void ifx_db_fini(ifx_state *s) {
  for (size_t i = 0; i < s->ncreated; i++)
    free(s->created[i]);
  free(s->created);
  s->created = NULL;
  s->ncreated = 0;
}

/* POST <base>/query with q=CREATE DATABASE "db" (a form body, so the name
 * never appears in a URL or an access log). The statement is built in the
 * body's line scratch buffer, free between two metrics. */
static int send_create(ifx_state *s, size_t u, const char *db) {
  tower_buf_reset(s->url);
  tower_buf_reset(s->query);
  tower_buf_reset(s->body.line);
  int rc = tower_buf_append_str(s->url, s->urls[u].base);
  rc = rc ? rc : tower_buf_append_str(s->url, "/query");
  rc = rc ? rc : ifx_http_auth_query(s);
  rc = rc ? rc : tower_buf_append_str(s->body.line, "CREATE DATABASE ");
  rc = rc ? rc : ifx_influxql_ident(s->body.line, db);
  rc = rc ? rc : tower_buf_append_str(s->query, "q=");
  rc = rc ? rc : ifx_url_escape(s->query, tower_buf_data(s->body.line));
  if (rc)
    return rc;
  ifx_http_post(s, tower_buf_data(s->query), tower_buf_len(s->query), true);
  return 0;
}

/* A /query answer can be 200 with the statement's error inside:
 * {"results":[{"statement_id":0,"error":"..."}]}. */
static bool query_failed(const ifx_response *r) {
  return r->status < 200 || r->status >= 300 || strstr(r->body, "\"error\"") != NULL;
}

bool ifx_db_create(ifx_state *s, size_t u, const char *db) {
  if (send_create(s, u, db)) {
    tower_error(s->ctx, "cannot build the CREATE DATABASE request: out of memory");
    return false;
  }
  ifx_response *r = &s->resp;
  if (!query_failed(r)) {
    tower_debug(s->ctx, "database \"%s\" created (or already there) on %s", db,
                s->urls[u].redacted);
    remember(s, db);
    return true;
  }
  if (r->status == 0 || r->status >= 500) {
    /* The server is not reachable: the write itself will say so. */
    tower_debug(s->ctx, "CREATE DATABASE \"%s\" on %s failed: %s", db, s->urls[u].redacted,
                r->reason);
    return false;
  }
  /* Refused (no admin privilege, wrong password...): say it once and do not
   * ask again before every write; a write that then finds the database
   * missing asks again. */
  tower_warn(s->ctx,
             "cannot create database \"%s\" on %s: %ld %s; create it with an admin user (CREATE "
             "DATABASE), or set skip_database_creation = true if it exists",
             db, s->urls[u].redacted, r->status, r->reason);
  remember(s, db);
  return false;
}
