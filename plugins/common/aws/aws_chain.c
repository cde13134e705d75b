/* The credential chain (README.md, "Credentials"), in this order:
 *   1. access_key / secret_key / token in the config (or access_key_id /
 *      secret_access_key / session_token);
 *   2. the `profile` option: that profile of the shared credentials file,
 *      else of the config file. An explicit profile in the config wins
 *      over the environment, as in Telegraf's AWS plugins and boto3's
 *      Session(profile_name=...); so does web_identity_token_file;
 *   3. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
 *   4. the shared credentials file (shared_credential_file,
 *      AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials), then the config
 *      file (AWS_CONFIG_FILE or ~/.aws/config), profile AWS_PROFILE or
 *      "default";
 *   5. a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN)
 *      exchanged through STS AssumeRoleWithWebIdentity;
 *   6. the ECS container credentials endpoint
 *      (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI);
 *   7. the EC2 instance profile through IMDSv2, unless `imds = false` or
 *      AWS_EC2_METADATA_DISABLED=true.
 * With role_arn (and no web identity token), the credentials found sign an
 * STS AssumeRole and the role's credentials sign the requests. Sources 1-4
 * are read once, at init (a reload reads them again); temporary
 * credentials are fetched at the first gather and refreshed before they
 * expire. */
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

#include "aws.h"

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static bool env_true(const char *name) {
  const char *v = env(name);
  return v && (!strcasecmp(v, "true") || !strcmp(v, "1"));
}

/* The option under Telegraf's name, else under inputs.dynamodb's first
 * name; *used says which one was set. */
static const char *opt(const tower_config *cfg, const char *name, const char *alt,
                       const char **used) {
  const char *v = tower_config_string(cfg, name);
  *used = name;
  if ((!v || !*v) && alt) {
    v = tower_config_string(cfg, alt);
    if (v && *v)
      *used = alt;
  }
  return v && *v ? v : NULL;
}

static const char *home_dir(void) {
  const char *home = env("HOME");
  if (!home) {
    struct passwd *pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : "/";
  }
  return home;
}

/* A path from the option (or `var`), else ~/.aws/<base>; a leading "~/"
 * is the home directory. */
static char *aws_path(const char *p, const char *var, const char *base) {
  if (!p)
    p = env(var);
  char *out = NULL;
  if (!p)
    return asprintf(&out, "%s/.aws/%s", home_dir(), base) < 0 ? NULL : out;
  if (p[0] == '~' && p[1] == '/')
    return asprintf(&out, "%s/%s", home_dir(), p + 2) < 0 ? NULL : out;
  return strdup(p);
}

static int found(aws_chain *ch, aws_source src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int found(aws_chain *ch, aws_source src, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ch->source = src;
  vsnprintf(ch->origin, sizeof ch->origin, fmt, ap);
  va_end(ap);
  return 1;
}

/* 1: the config. Returns 1 when used, 0 when not set, or an error. */
static int from_config(aws_chain *ch, const tower_config *cfg) {
  const char *kn, *sn, *tn;
  const char *key = opt(cfg, "access_key", "access_key_id", &kn);
  const char *secret = opt(cfg, "secret_key", "secret_access_key", &sn);
  const char *token = opt(cfg, "token", "session_token", &tn);
  if (!key && !secret && !token)
    return 0;
  if (!key || !secret) {
    /* Name the options the way the operator wrote them. */
    bool old = !strcmp(kn, "access_key_id") || !strcmp(sn, "secret_access_key") ||
               !strcmp(tn, "session_token");
    return tower_config_error(cfg,
                              tower_config_setting(cfg, key      ? kn
                                                        : secret ? sn
                                                                 : tn),
                              "%s and %s go together (%s is optional); set both, or neither to "
                              "use the environment, a profile or the instance profile",
                              old ? "access_key_id" : "access_key",
                              old ? "secret_access_key" : "secret_key",
                              old ? "session_token" : "token");
  }
  int rc = aws_creds_set(&ch->creds, key, secret, token, 0);
  return rc ? rc : found(ch, AWS_SRC_CONFIG, "the configuration (%s)", kn);
}

/* One profile of the credentials file, else of the config file. */
static int read_profile(const tower_config *cfg, const char *profile, aws_creds *out, char *where,
                        size_t where_size, char *err, size_t err_size) {
  const char *used;
  char *cred = aws_path(opt(cfg, "shared_credential_file", "shared_credentials_file", &used),
                        "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  char *conf = aws_path(NULL, "AWS_CONFIG_FILE", "config");
  int rc = -ENOMEM;
  if (cred && conf) {
    rc = aws_profile_read(cred, profile, out, err, err_size);
    snprintf(where, where_size, "%s", cred);
    char err2[768];
    /* The config file is a second place, not an error of its own. */
    if ((rc == -ENOENT || rc == -ESRCH) &&
        aws_profile_read(conf, profile, out, err2, sizeof err2) == 0) {
      snprintf(where, where_size, "%s", conf);
      rc = 0;
    }
  }
  free(cred);
  free(conf);
  return rc;
}

/* 2 and 4: one profile of the shared files. `required`: the profile was
 * asked for by name, so its absence is an error rather than a next step. */
static int from_file(aws_chain *ch, const tower_config *cfg, const char *profile, bool required) {
  char err[768], where[512];
  int rc = read_profile(cfg, profile, &ch->creds, where, sizeof where, err, sizeof err);
  if (rc == 0) {
    rc = found(ch, required ? AWS_SRC_PROFILE : AWS_SRC_FILE,
               "the shared credentials file %.300s, profile [%.100s]", where, profile);
  } else if (rc == -ENOMEM) {
    return rc;
  } else if (required || (rc != -ENOENT && rc != -ESRCH) || env("AWS_PROFILE")) {
    /* A profile named by the operator (option or AWS_PROFILE) must exist. */
    const char *used;
    opt(cfg, "shared_credential_file", "shared_credentials_file", &used);
    const tower_setting *at = tower_config_setting(cfg, required ? "profile" : used);
    rc = tower_config_error(cfg, at, "%s; fix the file or the profile name", err);
  } else {
    tower_debug(ch->ctx, "no shared credentials: %s", err);
    rc = 0;
  }
  return rc;
}

/* 3: the environment. */
static int from_env(aws_chain *ch, const tower_config *cfg) {
  const char *key = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
  if (!key && !secret)
    return 0;
  if (!key || !secret)
    return tower_config_error(cfg, NULL,
                              "%s is set but %s is not: the environment holds half a key pair; "
                              "set both or unset both",
                              key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                              key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
  int rc = aws_creds_set(&ch->creds, key, secret, env("AWS_SESSION_TOKEN"), 0);
  return rc ? rc : found(ch, AWS_SRC_ENV, "the environment (AWS_ACCESS_KEY_ID)");
}

/* STS: AWS_ENDPOINT_URL_STS (as the SDKs), else the regional endpoint. */
static int remote_on(aws_chain *ch, const char *region) {
  if (ch->remote_on)
    return 0;
  aws_remote *r = &ch->remote;
  int rc = aws_fetch_init(&r->fetch);
  if (rc)
    return rc;
  ch->remote_on = true;
  const char *sts = env("AWS_ENDPOINT_URL_STS");
  if (sts)
    r->sts_url = strdup(sts);
  else if (asprintf(&r->sts_url, "https://sts.%s.amazonaws.com%s", region,
                    strncmp(region, "cn-", 3) == 0 ? ".cn" : "") < 0)
    r->sts_url = NULL;
  snprintf(r->sts_sigv4, sizeof r->sts_sigv4, "aws:amz:%s:sts", region);
  return r->sts_url ? 0 : -ENOMEM;
}

static int set_role(aws_chain *ch, const char *arn, const char *session) {
  char fallback[64];
  snprintf(fallback, sizeof fallback, "tower-%ld", (long)getpid());
  ch->remote.role_arn = strdup(arn);
  ch->remote.session_name = strdup(session ? session : fallback);
  return ch->remote.role_arn && ch->remote.session_name ? 0 : -ENOMEM;
}

/* 2b and 5: a web identity token file and the role it is exchanged for. */
static int from_web_identity(aws_chain *ch, const tower_config *cfg, const char *region,
                             bool configured) {
  const char *file = configured ? tower_config_string(cfg, "web_identity_token_file")
                                : env("AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!file || !*file)
    return 0;
  const char *arn = tower_config_string(cfg, "role_arn");
  if (!arn || !*arn)
    arn = env("AWS_ROLE_ARN");
  if (!arn)
    return tower_config_error(cfg, tower_config_setting(cfg, "web_identity_token_file"),
                              "a web identity token (%s) needs the role to assume: set role_arn "
                              "or AWS_ROLE_ARN",
                              file);
  const char *session = tower_config_string(cfg, "role_session_name");
  int rc = remote_on(ch, region);
  if (rc == 0)
    rc = set_role(ch, arn, session && *session ? session : env("AWS_ROLE_SESSION_NAME"));
  if (rc == 0 && !(ch->remote.token_file = strdup(file)))
    rc = -ENOMEM;
  return rc ? rc
            : found(ch, AWS_SRC_WEB_IDENTITY,
                    "the web identity token %.200s for role %.200s (STS "
                    "AssumeRoleWithWebIdentity)",
                    file, arn);
}

/* The SDKs accept plain http only to the container agent's own addresses
 * and loopback: the token must not travel anywhere else in clear. */
static bool ecs_host_ok(const char *url) {
  static const char *const ok[] = {"http://127.",  "http://localhost:",    "http://localhost/",
                                   "http://[::1]", "http://169.254.170.2", "http://169.254.170.23",
                                   "https://"};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    if (strncmp(url, ok[i], strlen(ok[i])) == 0)
      return true;
  return false;
}

/* 6: the ECS (or EKS Pod Identity) container credentials endpoint. */
static int from_ecs(aws_chain *ch, const tower_config *cfg, const char *region) {
  const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!rel && !full)
    return 0;
  if (!rel && !ecs_host_ok(full))
    return tower_config_error(cfg, NULL,
                              "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to "
                              "loopback or 169.254.170.2/23; it is %.200s",
                              full);
  int rc = remote_on(ch, region);
  if (rc)
    return rc;
  aws_remote *r = &ch->remote;
  if (rel ? asprintf(&r->ecs_url, "http://169.254.170.2%s", rel) < 0 : !(r->ecs_url = strdup(full)))
    return -ENOMEM;
  const char *auth = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  const char *auth_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  if ((auth_file && !(r->ecs_auth_file = strdup(auth_file))) ||
      (!auth_file && auth && !(r->ecs_auth = strdup(auth))))
    return -ENOMEM;
  char shown[256];
  tower_redact_url(r->ecs_url, shown, sizeof shown);
  return found(ch, AWS_SRC_ECS, "the container credentials endpoint %s", shown);
}

/* 7: the instance profile, fetched at the first gather. */
static int from_imds(aws_chain *ch, const tower_config *cfg) {
  if (!tower_config_bool(cfg, "imds") || env_true("AWS_EC2_METADATA_DISABLED"))
    return tower_config_error(
        cfg, NULL,
        "no AWS credentials: none in the configuration (access_key, secret_key, profile, "
        "web_identity_token_file), none in the environment (AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE, "
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), no usable shared credentials file, and the "
        "EC2 instance metadata service is %s",
        tower_config_bool(cfg, "imds") ? "disabled by AWS_EC2_METADATA_DISABLED"
                                       : "off (imds = false)");
  const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  int rc = aws_imds_init(&ch->imds, ep ? ep : "http://169.254.169.254");
  if (rc)
    return rc;
  ch->imds_on = true;
  char shown[256];
  tower_redact_url(ch->imds.endpoint, shown, sizeof shown);
  return found(ch, AWS_SRC_IMDS, "the EC2 instance profile (IMDSv2 at %s)", shown);
}

static int walk(aws_chain *ch, const tower_config *cfg, const char *region) {
  const char *profile = tower_config_string(cfg, "profile");
  int rc = from_config(ch, cfg);
  if (rc == 0 && profile && *profile)
    rc = from_file(ch, cfg, profile, true);
  if (rc == 0)
    rc = from_web_identity(ch, cfg, region, true);
  if (rc == 0)
    rc = from_env(ch, cfg);
  if (rc == 0)
    rc = from_file(ch, cfg, env("AWS_PROFILE") ? env("AWS_PROFILE") : "default", false);
  if (rc == 0)
    rc = from_web_identity(ch, cfg, region, false);
  if (rc == 0)
    rc = from_ecs(ch, cfg, region);
  if (rc == 0)
    rc = from_imds(ch, cfg);
  return rc < 0 ? rc : 0;
}

/* role_arn over what the chain found (a web identity uses it itself). */
static int assume_on_top(aws_chain *ch, const tower_config *cfg, const char *region) {
  const char *arn = tower_config_string(cfg, "role_arn");
  if (!arn || !*arn || ch->source == AWS_SRC_WEB_IDENTITY)
    return 0;
  const char *session = tower_config_string(cfg, "role_session_name");
  int rc = remote_on(ch, region);
  if (rc == 0)
    rc = set_role(ch, arn, session && *session ? session : NULL);
  if (rc)
    return rc;
  ch->assume = true;
  /* The source's credentials now only sign AssumeRole. */
  ch->base = ch->creds;
  memset(&ch->creds, 0, sizeof ch->creds);
  char via[sizeof ch->origin];
  snprintf(via, sizeof via, "%s", ch->origin);
  snprintf(ch->origin, sizeof ch->origin, "role %.200s (STS AssumeRole) with %.250s", arn, via);
  return 0;
}

int aws_chain_init(aws_chain *ch, tower_ctx *ctx, const tower_config *cfg, const char *region) {
  memset(ch, 0, sizeof *ch);
  ch->ctx = ctx;
  int rc = walk(ch, cfg, region);
  if (rc == 0)
    rc = assume_on_top(ch, cfg, region);
  if (rc)
    return rc;
  if (aws_chain_refreshes(ch)) {
    tower_info(ctx, "AWS credentials: %s, fetched at the first gather", ch->origin);
  } else {
    char hint[64];
    aws_key_hint(ch->creds.access_key, hint, sizeof hint);
    tower_info(ctx, "AWS credentials: %s, access key %s%s", ch->origin, hint,
               ch->creds.token ? ", with a session token" : "");
  }
  return 0;
}

void aws_chain_fini(aws_chain *ch) {
  aws_creds_clear(&ch->creds);
  aws_creds_clear(&ch->base);
  if (ch->imds_on)
    aws_imds_fini(&ch->imds);
  if (ch->remote_on)
    aws_remote_fini(&ch->remote);
  ch->imds_on = ch->remote_on = false;
}

bool aws_chain_refreshes(const aws_chain *ch) {
  return ch->assume || ch->source == AWS_SRC_WEB_IDENTITY || ch->source == AWS_SRC_ECS ||
         ch->source == AWS_SRC_IMDS;
}

static bool fresh_enough(const aws_creds *c, int64_t now) {
  return c->access_key && (c->expires_ns == 0 || now < c->expires_ns - AWS_REFRESH_MARGIN_NS);
}

/* The source's own credentials, fetched when temporary. */
static int fetch_source(aws_chain *ch, aws_creds *out, char *err, size_t err_size) {
  switch (ch->source) {
  case AWS_SRC_IMDS:
    return aws_imds_fetch(&ch->imds, out, err, err_size);
  case AWS_SRC_ECS:
    return aws_ecs_fetch(&ch->remote, out, err, err_size);
  case AWS_SRC_WEB_IDENTITY:
    return aws_sts_web_identity(&ch->remote, out, err, err_size);
  default:
    return 0; /* static: already in place */
  }
}

static int fetch(aws_chain *ch, aws_creds *out, char *err, size_t err_size) {
  if (!ch->assume)
    return fetch_source(ch, out, err, err_size);
  if (ch->source >= AWS_SRC_WEB_IDENTITY && !fresh_enough(&ch->base, tower_now())) {
    aws_creds b = {0};
    int rc = fetch_source(ch, &b, err, err_size);
    if (rc)
      return rc;
    aws_creds_clear(&ch->base);
    ch->base = b;
  }
  return aws_sts_assume_role(&ch->remote, &ch->base, out, err, err_size);
}

static void log_fetched(aws_chain *ch, bool first) {
  char hint[64], when[64];
  aws_key_hint(ch->creds.access_key, hint, sizeof hint);
  tower_buf *b = tower_buf_new(64);
  snprintf(when, sizeof when, "%s", "an unknown time");
  if (b && tower_format_time(b, ch->creds.expires_ns, "rfc3339") == 0)
    snprintf(when, sizeof when, "%s", tower_buf_data(b));
  tower_buf_free(b);
  int level = first ? TOWER_LOG_INFO : TOWER_LOG_DEBUG;
  if (ch->source == AWS_SRC_IMDS && !ch->assume)
    tower_log(ch->ctx, level,
              "instance profile credentials of role %s fetched (access key %s); they expire at %s",
              ch->imds.role, hint, when);
  else
    tower_log(ch->ctx, level,
              "temporary credentials from %s fetched (access key %s); they expire at %s",
              ch->origin, hint, when);
}

int aws_chain_get(aws_chain *ch, char *err, size_t err_size) {
  if (!aws_chain_refreshes(ch))
    return 0;
  int64_t now = tower_now();
  bool have = ch->creds.access_key != NULL;
  if (fresh_enough(&ch->creds, now))
    return 0;
  aws_creds fresh = {0};
  int rc = fetch(ch, &fresh, err, err_size);
  if (rc == 0) {
    aws_creds_clear(&ch->creds);
    ch->creds = fresh;
    log_fetched(ch, !have);
    return 0;
  }
  aws_creds_clear(&fresh);
  if (have && now < ch->creds.expires_ns) {
    tower_warn(ch->ctx,
               "cannot refresh the temporary credentials (%s); using the current ones until "
               "they expire",
               err);
    return 0;
  }
  return rc;
}

void aws_chain_expire(aws_chain *ch) {
  if (aws_chain_refreshes(ch) && ch->creds.access_key)
    ch->creds.expires_ns = 1;
  if (ch->assume && ch->source >= AWS_SRC_WEB_IDENTITY && ch->base.access_key)
    ch->base.expires_ns = 1;
}
