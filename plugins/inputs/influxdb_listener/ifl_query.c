/* /query: what InfluxDB clients send before they write, answered as
 * influxd 1.x answers it, so that they start writing.
 *
 *   CREATE DATABASE "db" [WITH ...]   Telegraf's and tower's outputs.influxdb,
 *                                     client libraries; remembered
 *   DROP DATABASE "db"                forgotten
 *   SHOW DATABASES                    the influx CLI's `use db` checks the
 *                                     name is listed: the databases created
 *                                     or written to since tower started
 *   SHOW RETENTION POLICIES [ON db]   the default one, autogen
 *
 * Any other statement (SELECT, SHOW MEASUREMENTS...) is answered with a
 * statement error: tower stores nothing it could query. The query is read
 * from the URL (q=...) or from a form body (POST, the way tower's and
 * Telegraf's outputs send it); statements are separated by ';'. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "influxdb_listener.h"

/* ---- the databases ------------------------------------------------------------ */

/* The index of `db` in s->dbs, or -1. The pool lock is held. */
static ptrdiff_t db_find(ifl_state *s, const char *db) {
  for (size_t i = 0; i < s->ndbs; i++)
    if (strcmp(s->dbs[i], db) == 0)
      return (ptrdiff_t)i;
  return -1;
}

void ifl_db_seen(ifl_state *s, const char *db) {
  if (!db || strlen(db) > 255)
    return;
  pthread_mutex_lock(&s->pool_lock);
  if (db_find(s, db) < 0 && s->ndbs < IFL_MAX_DATABASES) {
    char *copy = strdup(db);
    if (copy)
      s->dbs[s->ndbs++] = copy;
  }
  pthread_mutex_unlock(&s->pool_lock);
}

static void db_forget(ifl_state *s, const char *db) {
  pthread_mutex_lock(&s->pool_lock);
  ptrdiff_t i = db_find(s, db);
  if (i >= 0) {
    free(s->dbs[i]);
    s->dbs[i] = s->dbs[--s->ndbs];
  }
  pthread_mutex_unlock(&s->pool_lock);
}

static int db_list(ifl_state *s, tower_buf *out) {
  int rc = tower_buf_append_str(out, ",\"series\":[{\"name\":\"databases\",\"columns\":[\"name\"]");
  pthread_mutex_lock(&s->pool_lock);
  for (size_t i = 0; rc == 0 && i < s->ndbs; i++) {
    rc = tower_buf_append_str(out, i ? ",[\"" : ",\"values\":[[\"");
    rc = rc ? rc : ifl_json_text(out, s->dbs[i], strlen(s->dbs[i]));
    rc = rc ? rc : tower_buf_append_str(out, "\"]");
  }
  if (rc == 0 && s->ndbs)
    rc = tower_buf_append_str(out, "]");
  pthread_mutex_unlock(&s->pool_lock);
  return rc ? rc : tower_buf_append_str(out, "}]");
}

/* ---- statements ------------------------------------------------------------------ */

typedef struct cursor {
  const char *p, *end;
} cursor;

static void skip_space(cursor *c) {
  while (c->p < c->end && isspace((unsigned char)*c->p))
    c->p++;
}

/* Consumes keyword `kw` (any case) when it comes next, as a whole word. */
static bool keyword(cursor *c, const char *kw) {
  skip_space(c);
  size_t n = strlen(kw);
  if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, kw, n) != 0)
    return false;
  if (c->p + n < c->end && !isspace((unsigned char)c->p[n]))
    return false;
  c->p += n;
  return true;
}

/* An identifier: "quoted" (\" and \\ escapes) or bare up to a space.
 * Returns false when there is none or it does not fit. */
static bool identifier(cursor *c, char *out, size_t size) {
  skip_space(c);
  size_t o = 0;
  bool quoted = c->p < c->end && *c->p == '"';
  if (quoted)
    c->p++;
  while (c->p < c->end && o + 1 < size) {
    char ch = *c->p;
    if (quoted && ch == '"')
      break;
    if (!quoted && isspace((unsigned char)ch))
      break;
    if (quoted && ch == '\\' && c->p + 1 < c->end)
      ch = *++c->p;
    out[o++] = ch;
    c->p++;
  }
  if (quoted && (c->p >= c->end || *c->p != '"'))
    return false;
  c->p += quoted;
  out[o] = '\0';
  return o > 0;
}

static int retention_policies(tower_buf *out) {
  return tower_buf_append_str(
      out, ",\"series\":[{\"columns\":[\"name\",\"duration\",\"shardGroupDuration\","
           "\"replicaN\",\"default\"],\"values\":[[\"autogen\",\"0s\",\"168h0m0s\",1,true]]}]");
}

static int statement_error(tower_buf *out, const char *why, const char *stmt, size_t len) {
  int rc = tower_buf_printf(out, ",\"error\":\"%s", why);
  rc = rc ? rc : ifl_json_text(out, stmt, len > 80 ? 80 : len);
  return rc ? rc : tower_buf_append_str(out, len > 80 ? "...\"" : "\"");
}

/* Runs one statement; appends what follows "statement_id":N. */
static int statement(ifl_state *s, cursor *c, tower_buf *out) {
  char name[256];
  cursor all = *c;
  if (keyword(c, "SHOW") && keyword(c, "DATABASES"))
    return db_list(s, out);
  *c = all;
  if (keyword(c, "SHOW") && keyword(c, "RETENTION") && keyword(c, "POLICIES"))
    return retention_policies(out);
  *c = all;
  bool create = keyword(c, "CREATE");
  if ((create || keyword(c, "DROP")) && keyword(c, "DATABASE")) {
    if (!identifier(c, name, sizeof name))
      return statement_error(out, "expected a database name: ", all.p, (size_t)(all.end - all.p));
    if (create)
      ifl_db_seen(s, name);
    else
      db_forget(s, name);
    return 0;
  }
  skip_space(&all);
  return statement_error(out, "tower accepts writes only and stores nothing to query: ", all.p,
                         (size_t)(all.end - all.p));
}

/* The end of the statement at p: the next ';' outside quotes. */
static const char *statement_end(const char *p, const char *end) {
  char quote = 0;
  for (; p < end; p++) {
    if (quote && *p == '\\' && p + 1 < end)
      p++;
    else if (quote && *p == quote)
      quote = 0;
    else if (!quote && (*p == '"' || *p == '\''))
      quote = *p;
    else if (!quote && *p == ';')
      break;
  }
  return p;
}

static int run_all(ifl_state *s, const char *q, tower_buf *out) {
  const char *p = q, *end = q + strlen(q);
  int rc = tower_buf_append_str(out, "{\"results\":[");
  unsigned id = 0;
  while (rc == 0 && p < end) {
    const char *stop = statement_end(p, end);
    cursor c = {p, stop};
    skip_space(&c);
    if (c.p < c.end) {
      rc = tower_buf_printf(out, "%s{\"statement_id\":%u", id ? "," : "", id);
      rc = rc ? rc : statement(s, &c, out);
      rc = rc ? rc : tower_buf_append_str(out, "}");
      id++;
    }
    p = stop + 1;
  }
  return rc ? rc : tower_buf_append_str(out, "]}");
}

/* ---- the form body ------------------------------------------------------------------- */

static int hex(char ch) {
  return isdigit((unsigned char)ch)    ? ch - '0'
         : isxdigit((unsigned char)ch) ? (tolower((unsigned char)ch) - 'a' + 10)
                                       : -1;
}

/* The value of `q` in an application/x-www-form-urlencoded body,
 * decoded (malloc'd), or NULL. */
static char *form_q(const char *form, size_t len) {
  const char *p = form, *end = form + len;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    if (stop - p >= 2 && p[0] == 'q' && p[1] == '=') {
      char *out = malloc((size_t)(stop - p)), *o = out;
      if (!out)
        return NULL;
      for (const char *v = p + 2; v < stop; v++) {
        if (*v == '+') {
          *o++ = ' ';
        } else if (*v == '%' && stop - v >= 3 && hex(v[1]) >= 0 && hex(v[2]) >= 0) {
          *o++ = (char)(hex(v[1]) * 16 + hex(v[2]));
          v += 2;
        } else {
          *o++ = *v;
        }
      }
      *o = '\0';
      return out;
    }
    p = stop + 1;
  }
  return NULL;
}

enum MHD_Result ifl_query(ifl_state *s, struct MHD_Connection *c, const char *form, size_t len) {
  char *from_form = form ? form_q(form, len) : NULL;
  const char *q =
      from_form ? from_form : MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
  if (!q || !*q) {
    free(from_form);
    return ifl_reply_error(s, c, IFL_QUERY, MHD_HTTP_BAD_REQUEST,
                           "missing required parameter \"q\"");
  }
  tower_buf *out = tower_buf_new(256);
  int rc = out ? run_all(s, q, out) : -ENOMEM;
  free(from_form);
  enum MHD_Result res =
      rc ? MHD_NO : ifl_reply(s, c, MHD_HTTP_OK, tower_buf_data(out), tower_buf_len(out), NULL);
  tower_buf_free(out);
  return res;
}
