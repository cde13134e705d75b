/* Credentials as strings that are wiped when freed, and the AWS shared
 * credentials and config files (INI), read as the AWS SDKs read them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getline */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws.h"

/* ---- credentials ----------------------------------------------------------------- */

void aws_free_secret(char *s) {
  if (s) {
    /* Secrets do not linger in freed memory. */
    volatile char *p = s;
    while (*p)
      *p++ = '\0';
    free(s);
  }
}

void aws_creds_clear(aws_creds *c) {
  free(c->access_key);
  aws_free_secret(c->secret_key);
  aws_free_secret(c->token);
  memset(c, 0, sizeof *c);
}

int aws_creds_set(aws_creds *dst, const char *key, const char *secret, const char *token,
                  int64_t expires_ns) {
  aws_creds n = {.expires_ns = expires_ns};
  n.access_key = strdup(key);
  n.secret_key = strdup(secret);
  n.token = token && *token ? strdup(token) : NULL;
  if (!n.access_key || !n.secret_key || (token && *token && !n.token)) {
    aws_creds_clear(&n);
    return -ENOMEM;
  }
  aws_creds_clear(dst);
  *dst = n;
  return 0;
}

void aws_key_hint(const char *access_key, char *out, size_t size) {
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
  aws_free_secret(*slot);
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
    /* The config file names them [profile name] ([default] stays). */
    const char *name = trim(s + 1);
    if (strncmp(name, "profile ", 8) == 0)
      name = trim((char *)name + 8);
    p->in = strcmp(name, p->want) == 0;
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

static int profile_result(profile_scan *p, const char *path, aws_creds *out, char *err,
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
  return aws_creds_set(out, p->key, p->secret, p->token, 0);
}

int aws_profile_read(const char *path, const char *profile, aws_creds *out, char *err,
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
  aws_free_secret(line);
  fclose(f);
  int rc = profile_result(&p, path, out, err, err_size);
  free(p.key);
  aws_free_secret(p.secret);
  aws_free_secret(p.token);
  return rc;
}
