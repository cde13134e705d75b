/* The credential chain (README.md, "Credentials"), in this order:
 *   1. access_key_id / secret_access_key / session_token in the config;
 *   2. the `profile` option: that profile of the shared credentials file.
 *      An explicit profile in the config wins over the environment, as in
 *      Telegraf's AWS plugins and boto3's Session(profile_name=...);
 *   3. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
 *   4. the shared credentials file (shared_credentials_file,
 *      AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials), profile
 *      AWS_PROFILE or "default";
 *   5. the EC2 instance profile through IMDSv2, unless `imds = false` or
 *      AWS_EC2_METADATA_DISABLED=true.
 * Sources 1-4 are read once, at init (a reload reads them again); instance
 * profile credentials are temporary and refreshed before they expire. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dynamodb.h"

/* ---- credentials ----------------------------------------------------------------- */

static void free_secret(char *s) {
  if (s) {
    /* Secrets do not linger in freed memory. */
    volatile char *p = s;
    while (*p)
      *p++ = '\0';
    free(s);
  }
}

void ddb_creds_clear(ddb_creds *c) {
  free(c->access_key);
  free_secret(c->secret_key);
  free_secret(c->token);
  memset(c, 0, sizeof *c);
}

int ddb_creds_set(ddb_creds *dst, const char *key, const char *secret, const char *token,
                  int64_t expires_ns) {
  ddb_creds n = {.expires_ns = expires_ns};
  n.access_key = strdup(key);
  n.secret_key = strdup(secret);
  n.token = token && *token ? strdup(token) : NULL;
  if (!n.access_key || !n.secret_key || (token && *token && !n.token)) {
    ddb_creds_clear(&n);
    return -ENOMEM;
  }
  ddb_creds_clear(dst);
  *dst = n;
  return 0;
}

void ddb_key_hint(const char *access_key, char *out, size_t size) {
  size_t n = access_key ? strlen(access_key) : 0;
  snprintf(out, size, "****************%s", n > 4 ? access_key + n - 4 : "");
}

/* ---- the shared credentials file -------------------------------------------------- */

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
    e--;
  *e = '\0';
  return s;
}

typedef struct profile_scan {
  const char *want;
  bool in, found;
  char *key, *secret, *token;
  const char *unsupported; /* a key naming a source we do not implement */
} profile_scan;

static void take(char **slot, const char *value) {
  free_secret(*slot);
  *slot = strdup(value);
}

static void profile_line(profile_scan *p, char *line) {
  char *s = trim(line);
  if (!*s || *s == '#' || *s == ';')
    return;
  if (*s == '[') {
    char *end = strchr(s, ']');
    if (end)
      *end = '\0';
    p->in = strcmp(trim(s + 1), p->want) == 0;
    p->found |= p->in;
    return;
  }
  char *eq = strchr(s, '=');
  if (!p->in || !eq)
    return;
  *eq = '\0';
  char *k = trim(s), *v = trim(eq + 1);
  if (!strcasecmp(k, "aws_access_key_id"))
    take(&p->key, v);
  else if (!strcasecmp(k, "aws_secret_access_key"))
    take(&p->secret, v);
  else if (!strcasecmp(k, "aws_session_token") || !strcasecmp(k, "aws_security_token"))
    take(&p->token, v);
  else if (!strcasecmp(k, "role_arn") || !strcasecmp(k, "credential_process") ||
           !strcasecmp(k, "sso_session") || !strcasecmp(k, "sso_start_url"))
    p->unsupported = strcasecmp(k, "role_arn") == 0             ? "role_arn"
                     : strcasecmp(k, "credential_process") == 0 ? "credential_process"
                                                                : "sso";
}

static int profile_result(profile_scan *p, const char *path, ddb_creds *out, char *err,
                          size_t err_size) {
  const char *missing = !p->key ? "aws_access_key_id" : !p->secret ? "aws_secret_access_key" : 0;
  if (!p->found) {
    snprintf(err, err_size, "profile [%s] is not in %s", p->want, path);
    return -ESRCH;
  }
  if (missing && p->unsupported) {
    snprintf(err, err_size,
             "profile [%s] in %s uses %s, which this plugin does not support; give it "
             "aws_access_key_id and aws_secret_access_key, or use the instance profile",
             p->want, path, p->unsupported);
    return -ESRCH;
  }
  if (missing) {
    snprintf(err, err_size, "profile [%s] in %s has no %s", p->want, path, missing);
    return -ESRCH;
  }
  return ddb_creds_set(out, p->key, p->secret, p->token, 0);
}

int ddb_profile_read(const char *path, const char *profile, ddb_creds *out, char *err,
                     size_t err_size) {
  FILE *f = fopen(path, "re");
  if (!f) {
    int e = errno;
    if (e != ENOENT)
      snprintf(err, err_size, "cannot read %s: %s", path, strerror(e));
    else
      snprintf(err, err_size, "%s does not exist", path);
    return -e;
  }
  profile_scan p = {.want = profile};
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) >= 0)
    profile_line(&p, line);
  free_secret(line);
  fclose(f);
  int rc = profile_result(&p, path, out, err, err_size);
  free(p.key);
  free_secret(p.secret);
  free_secret(p.token);
  return rc;
}

/* ---- the chain ------------------------------------------------------------------ */

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static bool env_true(const char *name) {
  const char *v = env(name);
  return v && (!strcasecmp(v, "true") || !strcmp(v, "1"));
}

/* The shared credentials file: the option, AWS_SHARED_CREDENTIALS_FILE, or
 * ~/.aws/credentials; a leading "~/" is the home directory. */
static char *credentials_path(const tower_config *cfg) {
  const char *p = tower_config_string(cfg, "shared_credentials_file");
  if (!p || !*p)
    p = env("AWS_SHARED_CREDENTIALS_FILE");
  const char *home = env("HOME");
  if (!home) {
    struct passwd *pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : "/";
  }
  char *out = NULL;
  if (!p)
    return asprintf(&out, "%s/.aws/credentials", home) < 0 ? NULL : out;
  if (p[0] == '~' && p[1] == '/')
    return asprintf(&out, "%s/%s", home, p + 2) < 0 ? NULL : out;
  return strdup(p);
}

static int found(ddb_chain *ch, ddb_source src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int found(ddb_chain *ch, ddb_source src, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ch->source = src;
  vsnprintf(ch->origin, sizeof ch->origin, fmt, ap);
  va_end(ap);
  return 1;
}

/* 1: the config. Returns 1 when used, 0 when not set, or an error. */
static int from_config(ddb_chain *ch, const tower_config *cfg) {
  const char *key = tower_config_string(cfg, "access_key_id");
  const char *secret = tower_config_string(cfg, "secret_access_key");
  const char *token = tower_config_string(cfg, "session_token");
  bool k = key && *key, s = secret && *secret, t = token && *token;
  if (!k && !s && !t)
    return 0;
  if (!k || !s)
    return tower_config_error(
        cfg,
        tower_config_setting(cfg, k   ? "access_key_id"
                                  : s ? "secret_access_key"
                                      : "session_token"),
        "access_key_id and secret_access_key go together (session_token is optional); set both, "
        "or neither to use the environment, a profile or the instance profile");
  int rc = ddb_creds_set(&ch->creds, key, secret, token, 0);
  return rc ? rc : found(ch, DDB_SRC_CONFIG, "the configuration (access_key_id)");
}

/* 2 and 4: one profile of the shared file. `required`: the profile was
 * asked for by name, so its absence is an error rather than a next step. */
static int from_file(ddb_chain *ch, const tower_config *cfg, const char *profile, bool required) {
  char *path = credentials_path(cfg), err[768];
  if (!path)
    return -ENOMEM;
  int rc = ddb_profile_read(path, profile, &ch->creds, err, sizeof err);
  if (rc == 0) {
    char what[600];
    snprintf(what, sizeof what, "%s, profile [%s]", path, profile);
    rc = found(ch, required ? DDB_SRC_PROFILE : DDB_SRC_FILE, "the shared credentials file %s",
               what);
  } else if (required || (rc != -ENOENT && rc != -ESRCH) || env("AWS_PROFILE")) {
    /* A profile named by the operator (option or AWS_PROFILE) must exist. */
    const tower_setting *at =
        tower_config_setting(cfg, required ? "profile" : "shared_credentials_file");
    rc = tower_config_error(cfg, at, "%s; fix the file or the profile name", err);
  } else {
    tower_debug(ch->ctx, "no shared credentials: %s", err);
    rc = 0;
  }
  free(path);
  return rc;
}

/* 3: the environment. */
static int from_env(ddb_chain *ch, const tower_config *cfg) {
  const char *key = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
  if (!key && !secret)
    return 0;
  if (!key || !secret)
    return tower_config_error(cfg, NULL,
                              "%s is set but %s is not: the environment holds half a key pair; "
                              "set both or unset both",
                              key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                              key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
  int rc = ddb_creds_set(&ch->creds, key, secret, env("AWS_SESSION_TOKEN"), 0);
  return rc ? rc : found(ch, DDB_SRC_ENV, "the environment (AWS_ACCESS_KEY_ID)");
}

/* 5: the instance profile, fetched at the first gather. */
static int from_imds(ddb_chain *ch, const tower_config *cfg) {
  if (!tower_config_bool(cfg, "imds") || env_true("AWS_EC2_METADATA_DISABLED"))
    return tower_config_error(
        cfg, NULL,
        "no AWS credentials: none in the configuration (access_key_id, secret_access_key, "
        "profile), none in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), no "
        "usable shared credentials file, and the EC2 instance metadata service is %s",
        tower_config_bool(cfg, "imds") ? "disabled by AWS_EC2_METADATA_DISABLED"
                                       : "off (imds = false)");
  const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  int rc = ddb_imds_init(&ch->imds, ep ? ep : "http://169.254.169.254");
  if (rc)
    return rc;
  ch->imds_on = true;
  char shown[256];
  tower_redact_url(ch->imds.endpoint, shown, sizeof shown);
  return found(ch, DDB_SRC_IMDS, "the EC2 instance profile (IMDSv2 at %s)", shown);
}

static int walk(ddb_chain *ch, const tower_config *cfg) {
  const char *profile = tower_config_string(cfg, "profile");
  int rc = from_config(ch, cfg);
  if (rc == 0 && profile && *profile)
    rc = from_file(ch, cfg, profile, true);
  if (rc == 0)
    rc = from_env(ch, cfg);
  if (rc == 0)
    rc = from_file(ch, cfg, env("AWS_PROFILE") ? env("AWS_PROFILE") : "default", false);
  if (rc == 0)
    rc = from_imds(ch, cfg);
  return rc < 0 ? rc : 0;
}

int ddb_chain_init(ddb_chain *ch, tower_ctx *ctx, const tower_config *cfg) {
  memset(ch, 0, sizeof *ch);
  ch->ctx = ctx;
  int rc = walk(ch, cfg);
  if (rc)
    return rc;
  if (ch->source == DDB_SRC_IMDS) {
    tower_info(ctx, "AWS credentials: %s, fetched at the first gather", ch->origin);
  } else {
    char hint[64];
    ddb_key_hint(ch->creds.access_key, hint, sizeof hint);
    tower_info(ctx, "AWS credentials: %s, access key %s%s", ch->origin, hint,
               ch->creds.token ? ", with a session token" : "");
  }
  return 0;
}

void ddb_chain_fini(ddb_chain *ch) {
  ddb_creds_clear(&ch->creds);
  if (ch->imds_on)
    ddb_imds_fini(&ch->imds);
  ch->imds_on = false;
}

static void log_fetched(ddb_chain *ch, bool first) {
  char hint[64], when[64];
  ddb_key_hint(ch->creds.access_key, hint, sizeof hint);
  tower_buf *b = tower_buf_new(64);
  snprintf(when, sizeof when, "%s", "an unknown time");
  if (b && tower_format_time(b, ch->creds.expires_ns, "rfc3339") == 0)
    snprintf(when, sizeof when, "%s", tower_buf_data(b));
  tower_buf_free(b);
  tower_log(ch->ctx, first ? TOWER_LOG_INFO : TOWER_LOG_DEBUG,
            "instance profile credentials of role %s fetched (access key %s); they expire at %s",
            ch->imds.role, hint, when);
}

int ddb_chain_get(ddb_chain *ch, char *err, size_t err_size) {
  if (ch->source != DDB_SRC_IMDS)
    return 0;
  int64_t now = tower_now();
  bool have = ch->creds.access_key != NULL;
  if (have && (ch->creds.expires_ns == 0 || now < ch->creds.expires_ns - DDB_REFRESH_MARGIN_NS))
    return 0;
  ddb_creds fresh = {0};
  int rc = ddb_imds_fetch(&ch->imds, &fresh, err, err_size);
  if (rc == 0) {
    ddb_creds_clear(&ch->creds);
    ch->creds = fresh;
    log_fetched(ch, !have);
    return 0;
  }
  if (have && now < ch->creds.expires_ns) {
    tower_warn(ch->ctx,
               "cannot refresh the instance profile credentials (%s); using the current "
               "ones until they expire",
               err);
    return 0;
  }
  return rc;
}

void ddb_chain_expire(ddb_chain *ch) {
  if (ch->source == DDB_SRC_IMDS && ch->creds.access_key)
    ch->creds.expires_ns = 1;
}
