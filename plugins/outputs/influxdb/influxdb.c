/* outputs.influxdb: writes to InfluxDB 1.x (/write) or 2.x (/api/v2/write)
 * over HTTP(S) with libcurl, like Telegraf's outputs.influxdb and
 * outputs.influxdb_v2 in one plugin (`api`). See README.md for the
 * behaviour. This file holds the options, init/destroy and the write path:
 * metrics grouped per database (bucket), each group sent as one request,
 * split in halves when the server finds it too large or refuses it whole,
 * URLs tried in turn when one is down or misconfigured. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../common/plural.h"
#include "influxdb.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* Requests a write may spend isolating the points of a batch the server
 * refused as a whole (400): about 2 log2(n) per bad point, so a few bad
 * points in a batch of thousands are found; beyond that the rest of the
 * refused requests are dropped, as Telegraf drops them at once. */
#define IFX_BISECT_REQUESTS 64

static const tower_option options[] = {
    {.name = "urls",
     .type = TOWER_OPT_STRINGS,
     .default_value = "http://localhost:8086",
     .help = "server URLs (http:// or https://); several are failover, not fan-out: each request "
             "goes to one, the next is tried when it is down or refuses the configuration"},
    {.name = "api",
     .type = TOWER_OPT_ENUM,
     .default_value = "v1",
     .choices = "v1|v2",
     .help = "v1: InfluxDB 1.x /write (database, username/password); v2: InfluxDB 2.x "
             "/api/v2/write (organization, bucket, token)"},
    {.name = "database",
     .type = TOWER_OPT_STRING,
     .default_value = "telegraf",
     .help = "v1: database to write to (Telegraf's default, so existing dashboards keep working)"},
    {.name = "database_tag",
     .type = TOWER_OPT_STRING,
     .help = "v1: tag whose value names the database of each metric (database when absent)"},
    {.name = "exclude_database_tag",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "v1: do not write the database_tag tag itself"},
    {.name = "retention_policy",
     .type = TOWER_OPT_STRING,
     .help = "v1: retention policy to write to (empty: the database's default)"},
    {.name = "write_consistency",
     .type = TOWER_OPT_ENUM,
     .default_value = "any",
     .choices = "any|one|quorum|all",
     .help = "v1: write consistency (InfluxDB Enterprise clusters; ignored by OSS)"},
    HTTP_CLIENT_BASIC_AUTH_OPTIONS, /* v1 */
    {.name = "auth_in_query",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "v1: send username and password as u= and p= query parameters instead of basic "
             "auth (for servers or proxies set up that way)"},
    {.name = "skip_database_creation",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "v1: never send CREATE DATABASE (for users without admin privileges)"},
    {.name = "organization", .type = TOWER_OPT_STRING, .help = "v2: organization name"},
    {.name = "bucket", .type = TOWER_OPT_STRING, .help = "v2: bucket to write to"},
    {.name = "bucket_tag",
     .type = TOWER_OPT_STRING,
     .help = "v2: tag whose value names the bucket of each metric (bucket when absent)"},
    {.name = "exclude_bucket_tag",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "v2: do not write the bucket_tag tag itself"},
    {.name = "token",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_SECRET,
     .help = "v2: API token, sent as Authorization: Token ..."},
    {.name = "precision",
     .type = TOWER_OPT_ENUM,
     .default_value = "ns",
     .choices = "ns|us|ms|s",
     .help = "timestamp unit written (and sent as the precision parameter); coarser units "
             "compress better in InfluxDB but merge points within one unit"},
    {.name = "content_encoding",
     .type = TOWER_OPT_ENUM,
     .default_value = "gzip",
     .choices = "gzip|identity",
     .help = "compress request bodies with gzip"},
    HTTP_CLIENT_TIMEOUT_OPTION("5s"),
    HTTP_CLIENT_TLS_OPTIONS,
    HTTP_CLIENT_HEADERS_OPTION,
    /* Telegraf's outputs.influxdb takes the environment's proxy unless
     * http_proxy says otherwise. */
    HTTP_CLIENT_PROXY_OPTIONS("true"),
    HTTP_CLIENT_PROXY_ALIAS_OPTION,
    {.name = "user_agent",
     .type = TOWER_OPT_STRING,
     .default_value = "tower/" PLUGIN_VERSION,
     .help = "User-Agent header"},
    {.name = "influx_uint_support",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "write unsigned fields as unsigned (InfluxDB 2.x; 1.x OSS refuses them); else as "
             "integers clipped to 9223372036854775807"},
    {.name = "influx_omit_timestamp",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "write no timestamps: the server stamps points on arrival"},
    TOWER_OPTION_END,
};

/* ---- grouping ---------------------------------------------------------------- */

static int grow(void *pp, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t c = need < 16 ? 16 : need * 2;
  void *p = realloc(*(void **)pp, c * elem);
  if (!p)
    return -ENOMEM;
  *(void **)pp = p;
  *cap = c;
  return 0;
}

/* The group of `name`, added when new. Linear: a write rarely routes to
 * more than a handful of databases. */
static int group_of(ifx_state *s, const char *name, size_t *g) {
  for (size_t i = s->ngroups; i-- > 0;)
    if (s->groups[i].name == name || strcmp(s->groups[i].name, name) == 0) {
      *g = i;
      return 0;
    }
  if (grow(&s->groups, &s->gcap, s->ngroups + 1, sizeof *s->groups))
    return -ENOMEM;
  s->groups[s->ngroups] = (ifx_group){.name = name};
  *g = s->ngroups++;
  return 0;
}

/* Groups the batch per database (bucket): s->order lists the metrics group
 * after group, each in batch order (a stable counting sort). */
static int group_batch(ifx_state *s, const tower_batch *batch) {
  size_t n = tower_batch_len(batch), cap = s->cap;
  if (grow(&s->gid, &cap, n, sizeof *s->gid) || grow(&s->order, &s->cap, n, sizeof *s->order))
    return -ENOMEM;
  const char *dflt = s->api == IFX_V1 ? s->database : s->bucket;
  s->ngroups = 0;
  size_t g = 0;
  for (size_t i = 0; i < n; i++) {
    const char *name =
        s->route_tag ? tower_metric_tag(tower_batch_at(batch, i), s->route_tag) : NULL;
    name = name ? name : dflt;
    bool same = s->ngroups && (s->groups[g].name == name || !strcmp(s->groups[g].name, name));
    if (!same && group_of(s, name, &g))
      return -ENOMEM;
    s->gid[i] = (uint32_t)g;
    s->groups[g].count++;
  }
  size_t start = 0;
  for (size_t k = 0; k < s->ngroups; k++) {
    s->groups[k].start = start;
    start += s->groups[k].count;
    s->groups[k].count = 0;
  }
  for (size_t i = 0; i < n; i++) {
    ifx_group *grp = &s->groups[s->gid[i]];
    s->order[grp->start + grp->count++] = (uint32_t)i;
  }
  return 0;
}

/* ---- one request, on one URL ------------------------------------------------- */

static const char *target_kind(const ifx_state *s) {
  return s->api == IFX_V1 ? "database" : "bucket";
}

static int build_write_url(ifx_state *s, size_t u, const char *name) {
  tower_buf *b = s->url;
  tower_buf_reset(b);
  int rc = tower_buf_append_str(b, s->urls[u].base);
  if (s->api == IFX_V2) {
    rc = rc ? rc : tower_buf_append_str(b, "/api/v2/write?org=");
    rc = rc ? rc : ifx_url_escape(b, s->organization);
    rc = rc ? rc : tower_buf_append_str(b, "&bucket=");
    rc = rc ? rc : ifx_url_escape(b, name);
  } else {
    rc = rc ? rc : tower_buf_append_str(b, "/write?db=");
    rc = rc ? rc : ifx_url_escape(b, name);
    if (s->retention_policy && *s->retention_policy) {
      rc = rc ? rc : tower_buf_append_str(b, "&rp=");
      rc = rc ? rc : ifx_url_escape(b, s->retention_policy);
    }
    /* "one" is the server's default: not sent, as in Telegraf. */
    if (strcmp(s->consistency, "one") != 0)
      rc = rc ? rc : tower_buf_printf(b, "&consistency=%s", s->consistency);
  }
  rc = rc ? rc : tower_buf_printf(b, "&precision=%s", s->precision);
  return rc ? rc : ifx_http_auth_query(s);
}

static ifx_verdict post(ifx_state *s, size_t u, const char *name, uint64_t *rejected) {
  if (build_write_url(s, u, name))
    return IFX_UNAVAILABLE; /* out of memory: retried later */
  const ifx_body *b = &s->body;
  if (s->gzip)
    ifx_http_post(s, b->gz, b->gz_len, false);
  else
    ifx_http_post(s, tower_buf_data(b->lp), tower_buf_len(b->lp), false);
  return ifx_classify(s->api, s->resp.status, s->resp.reason, rejected);
}

/* Posts the current body to URL u, creating the database first (v1) when
 * it is new, or when the write finds it missing (dropped since, or a
 * failover server that never had it). */
static ifx_verdict post_creating(ifx_state *s, size_t u, const char *name, uint64_t *rejected) {
  bool create = s->api == IFX_V1 && !s->skip_database_creation, tried = false;
  if (create && !ifx_db_known(s, name)) {
    ifx_db_create(s, u, name);
    tried = true;
  }
  ifx_verdict v = post(s, u, name, rejected);
  if (v != IFX_DB_NOT_FOUND || !create || tried)
    return v;
  s->saved = s->resp; /* the write's answer, for the log if CREATE fails */
  if (ifx_db_create(s, u, name))
    return post(s, u, name, rejected);
  s->resp = s->saved;
  return v;
}

/* ---- logging a failed request ------------------------------------------------- */

static const char *config_hint(const ifx_state *s, ifx_verdict v) {
  long st = s->resp.status;
  if (v == IFX_DB_NOT_FOUND)
    return s->skip_database_creation
               ? "create the database (CREATE DATABASE), or unset skip_database_creation so "
                 "tower creates it"
               : "create the database with an admin user (CREATE DATABASE)";
  if (strstr(s->resp.reason, "retention policy not found"))
    return "create the retention policy, or fix retention_policy";
  if (st == 401)
    return s->api == IFX_V1 ? "check username and password" : "check token";
  if (st == 403)
    return s->api == IFX_V1 ? "grant the user WRITE on the database"
                            : "give the token write permission on the bucket";
  if (st == 404)
    return s->api == IFX_V1 ? "check that the URL is the server's base URL"
                            : "check organization and bucket, and that the URL is the server's "
                              "base URL";
  if (st == 407)
    return "check the proxy credentials in http_proxy";
  if (st >= 300 && st < 400)
    return "the server redirects: configure the URL it points to";
  return "fix the configuration";
}

static void log_failure(ifx_state *s, size_t u, const char *name, ifx_verdict v, bool more) {
  const ifx_response *r = &s->resp;
  const char *next = more ? "; trying the next URL" : "";
  if (r->status == 0)
    tower_error(s->ctx, "write to %s (%s \"%s\") failed: %s%s", s->urls[u].redacted, target_kind(s),
                name, r->reason, next);
  else if (v == IFX_UNAVAILABLE)
    tower_error(s->ctx, "write to %s (%s \"%s\") failed: HTTP %ld: %s%s", s->urls[u].redacted,
                target_kind(s), name, r->status, r->reason, next);
  else
    tower_error(s->ctx,
                "write to %s (%s \"%s\") refused: HTTP %ld: %s; %s (the metrics stay in the "
                "buffer and are retried)%s",
                s->urls[u].redacted, target_kind(s), name, r->status, r->reason, config_hint(s, v),
                next);
}

static void note_hint(ifx_state *s) {
  if (s->resp.retry_after_ns > s->retry_hint)
    s->retry_hint = s->resp.retry_after_ns;
}

static bool fails_over(ifx_verdict v) {
  return v == IFX_UNAVAILABLE || v == IFX_CONFIG || v == IFX_DB_NOT_FOUND;
}

/* Posts the body to the current URL, then to the others in turn while they
 * are down or misconfigured. The URL that answered stays current. */
static ifx_verdict post_failover(ifx_state *s, const char *name, uint64_t *rejected) {
  size_t start = s->cur;
  ifx_verdict v = IFX_UNAVAILABLE;
  for (size_t k = 0; k < s->nurls; k++) {
    size_t u = (start + k) % s->nurls;
    v = post_creating(s, u, name, rejected);
    note_hint(s);
    if (fails_over(v)) {
      log_failure(s, u, name, v, k + 1 < s->nurls);
      continue;
    }
    s->cur = u;
    if (v == IFX_THROTTLED)
      tower_warn(s->ctx, "%s asks to slow down (HTTP 429: %s); retrying later", s->urls[u].redacted,
                 s->resp.reason);
    return v;
  }
  s->cur = (start + 1) % s->nurls; /* every URL failed: start elsewhere next time */
  return v;
}

/* ---- losses ------------------------------------------------------------------- */

/* Records `lost` points of a request (and `kept` stored by the same
 * response) for the one log line of the write. */
static void note_loss(ifx_state *s, uint64_t lost, uint64_t kept, const char *name, long status,
                      const char *reason) {
  if (!lost)
    return;
  ifx_losses *l = &s->loss;
  if (!l->rejected) {
    l->status = status;
    snprintf(l->where, sizeof l->where, "%s (%s \"%s\")", s->urls[s->cur].redacted, target_kind(s),
             name);
    snprintf(l->reason, sizeof l->reason, "%s", reason);
  }
  l->rejected += lost;
  l->kept += kept;
}

/* Metrics tower_lp_write() could not represent: no request carried them. */
static void note_unwritable(ifx_state *s, uint64_t n, const char *name) {
  note_loss(s, n, 0, name, 0, "no field line protocol can carry (NaN or Inf values only)");
}

static void report_losses(ifx_state *s, size_t n) {
  const ifx_losses *l = &s->loss;
  if (!l->rejected)
    return;
  tower_ctx_count_rejected(s->ctx, l->rejected);
  if (l->status)
    tower_error(s->ctx,
                "%llu of %zu metric%s refused by %s and lost: HTTP %ld: %s (the others were "
                "stored)",
                (unsigned long long)l->rejected, n, plural_s(n), l->where, l->status, l->reason);
  else
    tower_error(s->ctx, "%llu of %zu metric%s not written to %s: %s",
                (unsigned long long)l->rejected, n, plural_s(n), l->where, l->reason);
}

/* ---- a run of metrics ---------------------------------------------------------- */

static int send_run(ifx_state *s, const char *name, const uint32_t *idx, size_t n);

static int split(ifx_state *s, const char *name, const uint32_t *idx, size_t n) {
  size_t mid = n / 2;
  int rc = send_run(s, name, idx, mid);
  return rc ? rc : send_run(s, name, idx + mid, n - mid);
}

/* What to do after the server refused a whole request of `lines` points. */
static int refused(ifx_state *s, ifx_verdict v, const char *name, const uint32_t *idx, size_t n,
                   size_t lines, size_t skipped) {
  bool can_split = n > 1 && (v == IFX_TOO_LARGE || (v == IFX_REJECTED && s->bisect_budget > 0));
  if (can_split) {
    /* The halves build these metrics again: their unwritable ones are
     * counted there. */
    if (v == IFX_REJECTED)
      s->bisect_budget -= 2;
    tower_debug(s->ctx, "HTTP %ld for %zu metrics: splitting the request in halves", s->resp.status,
                n);
    return split(s, name, idx, n);
  }
  note_unwritable(s, skipped, name);
  note_loss(s, lines, 0, name, s->resp.status, s->resp.reason);
  return 0;
}

/* Sends metrics idx[0..n) of the batch as one request (or, when the server
 * refuses it whole, as halves). 0 when every point is dealt with (stored,
 * or refused for good and counted), -EAGAIN when the batch must be kept
 * and retried, -ENOMEM. */
static int send_run(ifx_state *s, const char *name, const uint32_t *idx, size_t n) {
  size_t lines, skipped;
  int rc = ifx_body_build(&s->body, s->batch, idx, n, &lines, &skipped);
  if (!rc && lines && s->gzip)
    rc = ifx_body_gzip(&s->body);
  if (rc)
    return rc;
  if (!lines) {
    note_unwritable(s, skipped, name);
    return 0;
  }
  uint64_t rejected = 0;
  ifx_verdict v = post_failover(s, name, &rejected);
  switch (v) {
  case IFX_WRITTEN:
    note_unwritable(s, skipped, name);
    return 0;
  case IFX_PARTIAL:
    rejected = rejected < lines ? rejected : lines;
    note_loss(s, rejected, lines - rejected, name, s->resp.status, s->resp.reason);
    note_unwritable(s, skipped, name);
    return 0;
  case IFX_TOO_LARGE:
  case IFX_REJECTED:
  case IFX_REFUSED:
    return refused(s, v, name, idx, n, lines, skipped);
  default:
    return -EAGAIN;
  }
}

static tower_write_result ifx_write(void *state, const tower_batch *batch) {
  ifx_state *s = state;
  size_t n = tower_batch_len(batch);
  s->batch = batch;
  s->retry_hint = 0;
  s->bisect_budget = IFX_BISECT_REQUESTS;
  memset(&s->loss, 0, sizeof s->loss);
  int rc = group_batch(s, batch);
  for (size_t g = 0; !rc && g < s->ngroups; g++)
    rc = send_run(s, s->groups[g].name, s->order + s->groups[g].start, s->groups[g].count);
  if (rc) {
    /* Nothing is counted as lost: the whole batch comes back, and points
     * already stored are sent again, which InfluxDB overwrites in place. */
    if (rc == -ENOMEM)
      tower_error(s->ctx, "out of memory while building a request; retrying later");
    else if (rc == -EIO)
      tower_error(s->ctx, "zlib failed to compress a request; retrying later");
    if (s->retry_hint > 0)
      tower_ctx_retry_after(s->ctx, s->retry_hint);
    return TOWER_WRITE_RETRY;
  }
  report_losses(s, n);
  return TOWER_WRITE_OK;
}

/* ---- init / destroy ------------------------------------------------------------- */

static bool nonempty(const char *v) {
  return v && *v;
}

/* Options of the other API are mistakes worth stopping for: silently
 * ignoring a token or a database would write somewhere unexpected. */
static int check_api_options(const tower_config *cfg, ifx_api api) {
  static const char *const v1_only[] = {
      "database",         "database_tag",      "exclude_database_tag",
      "retention_policy", "write_consistency", "username",
      "password",         "auth_in_query",     "skip_database_creation"};
  static const char *const v2_only[] = {"organization", "bucket", "bucket_tag",
                                        "exclude_bucket_tag", "token"};
  const char *const *other = api == IFX_V1 ? v2_only : v1_only;
  size_t n = api == IFX_V1 ? sizeof v2_only / sizeof *v2_only : sizeof v1_only / sizeof *v1_only;
  for (size_t i = 0; i < n; i++)
    if (tower_config_isset(cfg, other[i]))
      return tower_config_error(cfg, tower_config_setting(cfg, other[i]),
                                "%s is a %s option, but api = \"%s\"", other[i],
                                api == IFX_V1 ? "v2" : "v1", api == IFX_V1 ? "v1" : "v2");
  return 0;
}

static int check_options(const tower_config *cfg, ifx_api api) {
  int rc = check_api_options(cfg, api);
  if (rc)
    return rc;
  if (api == IFX_V1 && !nonempty(tower_config_string(cfg, "database")))
    return tower_config_error(cfg, tower_config_setting(cfg, "database"),
                              "database must not be empty");
  if (api == IFX_V2 && !nonempty(tower_config_string(cfg, "organization")))
    return tower_config_error(cfg, NULL, "api = \"v2\" needs organization");
  if (api == IFX_V2 && !nonempty(tower_config_string(cfg, "bucket")))
    return tower_config_error(cfg, NULL,
                              "api = \"v2\" needs bucket (also the bucket of metrics without "
                              "bucket_tag)");
  if (!tower_config_strings_len(cfg, "urls"))
    return tower_config_error(cfg, tower_config_setting(cfg, "urls"),
                              "urls must list at least one URL");
  return 0;
}

/* Checks one URL and derives its base (no trailing '/'). */
static int parse_url(const tower_config *cfg, const char *text, ifx_url *u) {
  const tower_setting *at = tower_config_setting(cfg, "urls");
  u->text = text;
  if (!(u->redacted = malloc(strlen(text) + 64)))
    return -ENOMEM;
  tower_redact_url(text, u->redacted, strlen(text) + 64);
  const char *host = NULL;
  if (strncasecmp(text, "http://", 7) == 0)
    host = text + 7;
  else if (strncasecmp(text, "https://", 8) == 0)
    host = text + 8;
  if (!host)
    return tower_config_error(cfg, at,
                              "urls: \"%s\" is not an http:// or https:// URL (udp:// and "
                              "unix:// are not supported)",
                              u->redacted);
  if (!*host || *host == '/' || strpbrk(text, "?# "))
    return tower_config_error(cfg, at,
                              "urls: \"%s\" must be a server's base URL (http://host:8086), "
                              "without a query or spaces",
                              u->redacted);
  size_t len = strlen(text);
  while (len > (size_t)(host - text) && text[len - 1] == '/')
    len--;
  if (!(u->base = strndup(text, len)))
    return -ENOMEM;
  return 0;
}

static int load_urls(ifx_state *s, const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "urls");
  if (!(s->urls = calloc(n, sizeof *s->urls)))
    return -ENOMEM;
  s->nurls = n;
  for (size_t i = 0; i < n; i++) {
    int rc = parse_url(cfg, tower_config_strings_at(cfg, "urls", i), &s->urls[i]);
    if (rc)
      return rc;
  }
  return 0;
}

static void free_secret(char *p) {
  if (p) {
    explicit_bzero(p, strlen(p));
    free(p);
  }
}

static void ifx_destroy(void *state) {
  ifx_state *s = state;
  ifx_http_fini(s);
  ifx_body_fini(&s->body);
  ifx_db_fini(s);
  for (size_t i = 0; s->urls && i < s->nurls; i++) {
    free(s->urls[i].base);
    free(s->urls[i].redacted);
  }
  free(s->urls);
  free_secret(s->auth_header);
  tower_buf_free(s->url);
  tower_buf_free(s->query);
  free(s->gid);
  free(s->order);
  free(s->groups);
  free(s);
}

/* The precision parameter: 1.x reads n, u, ms, s (and silently takes any
 * other value as nanoseconds); 2.x reads ns, us, ms, s. */
static void read_precision(ifx_state *s, const tower_config *cfg, int64_t *ns) {
  static const struct {
    const char *name, *v1;
    int64_t ns;
  } units[] = {{"ns", "n", 1}, {"us", "u", 1000}, {"ms", "ms", 1000000}, {"s", "s", 1000000000}};
  const char *p = tower_config_string(cfg, "precision");
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if (strcmp(p, units[i].name) == 0) {
      s->precision = s->api == IFX_V1 ? units[i].v1 : units[i].name;
      *ns = units[i].ns;
    }
}

static void read_options(ifx_state *s, const tower_config *cfg) {
  const char *tag_key = s->api == IFX_V1 ? "database_tag" : "bucket_tag";
  const char *tag = tower_config_string(cfg, tag_key);
  s->route_tag = nonempty(tag) ? tag : NULL;
  s->database = tower_config_string(cfg, "database");
  s->retention_policy = tower_config_string(cfg, "retention_policy");
  s->consistency = tower_config_string(cfg, "write_consistency");
  s->auth_in_query = tower_config_bool(cfg, "auth_in_query");
  s->skip_database_creation = tower_config_bool(cfg, "skip_database_creation");
  s->organization = tower_config_string(cfg, "organization");
  s->bucket = tower_config_string(cfg, "bucket");
  s->gzip = strcmp(tower_config_string(cfg, "content_encoding"), "gzip") == 0;
}

static int make_buffers(ifx_state *s, const tower_config *cfg) {
  int64_t precision_ns = 1;
  read_precision(s, cfg, &precision_ns);
  unsigned flags = (tower_config_bool(cfg, "influx_uint_support") ? TOWER_LP_UINT : 0) |
                   (tower_config_bool(cfg, "influx_omit_timestamp") ? TOWER_LP_NO_TIME : 0);
  bool exclude =
      tower_config_bool(cfg, s->api == IFX_V1 ? "exclude_database_tag" : "exclude_bucket_tag");
  if (!(s->url = tower_buf_new(256)) || !(s->query = tower_buf_new(256)))
    return -ENOMEM;
  const char *token = tower_config_string(cfg, "token");
  if (s->api == IFX_V2 && nonempty(token)) {
    size_t n = strlen(token) + 32;
    if (!(s->auth_header = malloc(n)))
      return -ENOMEM;
    snprintf(s->auth_header, n, "Authorization: Token %s", token);
  }
  return ifx_body_init(&s->body, flags, precision_ns, exclude ? s->route_tag : NULL, s->gzip);
}

static int ifx_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  ifx_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->api = strcmp(tower_config_string(cfg, "api"), "v2") == 0 ? IFX_V2 : IFX_V1;
  int rc = check_options(cfg, s->api);
  if (!rc)
    rc = load_urls(s, cfg);
  if (!rc) {
    read_options(s, cfg);
    rc = make_buffers(s, cfg);
  }
  if (!rc)
    rc = ifx_http_init(s, cfg);
  if (rc) {
    ifx_destroy(s);
    return rc;
  }
  tower_debug(ctx, "writing to %s (api %s, %zu URL%s)", s->urls[0].redacted,
              s->api == IFX_V1 ? "v1" : "v2", s->nurls, s->nurls > 1 ? "s" : "");
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_OUTPUT),
    .name = "influxdb",
    .description = "InfluxDB 1.x and 2.x write APIs (Telegraf's influxdb and influxdb_v2)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = ifx_init,
    .destroy = ifx_destroy,
    .write = ifx_write,
};

TOWER_PLUGIN_ENTRY(plugin)
