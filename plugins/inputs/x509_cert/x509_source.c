/* `sources`: parsed once at init into network endpoints and file globs;
 * globs are expanded again at every gather (files come and go).
 *
 * Accepted forms (README.md):
 *   https://host[:port]      TLS, port 443 by default
 *   tcp://host:port          TLS right away (tcp4:// and tcp6:// pin the family)
 *   smtp://host[:port]       SMTP, STARTTLS, then TLS; port 25 by default
 *   file:///abs/glob*.pem    files (file://rel/path for a relative path)
 *   /abs/glob*.pem           files
 * A path or query after host:port is ignored, as Telegraf ignores it. */
#define _GNU_SOURCE /* asprintf, memrchr, GLOB_BRACE */
#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "x509_cert.h"

#define FILE_PREFIX "file://"

bool x509_is_ip(const char *host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* ---- network sources ---------------------------------------------------- */

typedef struct scheme {
  const char *name;
  x509_kind kind;
  int family;
  const char *default_port; /* NULL: the port is required */
} scheme;

static const scheme schemes[] = {
    {"https", X509_SRC_TLS, AF_UNSPEC, "443"}, {"tcp", X509_SRC_TLS, AF_UNSPEC, NULL},
    {"tcp4", X509_SRC_TLS, AF_INET, NULL},     {"tcp6", X509_SRC_TLS, AF_INET6, NULL},
    {"smtp", X509_SRC_SMTP, AF_UNSPEC, "25"},
};

static const scheme *find_scheme(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
    if (strlen(schemes[i].name) == len && strncmp(schemes[i].name, name, len) == 0)
      return &schemes[i];
  return NULL;
}

/* Schemes Telegraf knows that tower does not implement: say so plainly. */
static const char *unsupported_hint(const char *name, size_t len) {
  static const char *const known[] = {"udp", "udp4", "udp6", "jks", "pkcs12", "wincertstore"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strlen(known[i]) == len && strncmp(known[i], name, len) == 0)
      return "Telegraf's DTLS (udp://), Java key store, PKCS#12 and Windows store sources are "
             "not supported by tower; export the certificates to PEM files instead";
  return "use https://, tcp://, tcp4://, tcp6://, smtp://, file:// or an absolute path";
}

/* A service name as RFC 6335 spells them: letters, digits and single
 * inner hyphens, at least one letter ("https", "ldaps", "submission"). */
static bool service_syntax(const char *p) {
  size_t n = strlen(p);
  if (n == 0 || n > 15 || p[0] == '-' || p[n - 1] == '-' || strstr(p, "--"))
    return false;
  return strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
         strcspn(p, "abcdefghijklmnopqrstuvwxyz") < n;
}

/* Checks the port of a source the same way for every scheme: a number from
 * 1 to 65535, or a service name the services database knows, replaced by
 * its number now so that a typo fails at startup rather than at every
 * gather. Returns what is wrong (in `why`), or NULL. */
static const char *check_port(char **port, char *why, size_t len) {
  const char *p = *port;
  if (*p && strspn(p, "0123456789") == strlen(p)) {
    errno = 0;
    unsigned long v = strtoul(p, NULL, 10);
    if (errno == 0 && v >= 1 && v <= 65535)
      return NULL;
    snprintf(why, len, "port \"%s\" is not from 1 to 65535", p);
    return why;
  }
  struct servent se, *found = NULL;
  char buf[1024];
  if (!service_syntax(p) || getservbyname_r(p, "tcp", &se, buf, sizeof buf, &found) != 0 ||
      !found) {
    snprintf(why, len,
             "port \"%s\" is neither a number from 1 to 65535 nor a service name of "
             "/etc/services; give the number",
             p);
    return why;
  }
  char *num = NULL;
  if (asprintf(&num, "%u", (unsigned)ntohs((uint16_t)found->s_port)) < 0)
    return "out of memory";
  free(*port);
  *port = num;
  return NULL;
}

/* Splits "host:port", "[v6]:port", "host" or "[v6]" (userinfo dropped). */
static int split_authority(const char *auth, size_t len, char **host, char **port,
                           const char **why) {
  const char *end = auth + len;
  const char *at = memchr(auth, '@', len);
  const char *h = at ? at + 1 : auth, *h_end, *colon = NULL;
  if (h < end && *h == '[') {
    h_end = memchr(h, ']', (size_t)(end - h));
    if (!h_end) {
      *why = "missing ']' after the IPv6 address";
      return -EINVAL;
    }
    if (h_end + 1 < end) {
      if (h_end[1] != ':') {
        *why = "expected ':port' after ']'";
        return -EINVAL;
      }
      colon = h_end + 1;
    }
    h++;
  } else {
    colon = memrchr(h, ':', (size_t)(end - h));
    if (colon && memchr(h, ':', (size_t)(colon - h))) {
      *why = "write IPv6 addresses in brackets: tcp://[::1]:443";
      return -EINVAL;
    }
    h_end = colon ? colon : end;
  }
  *host = strndup(h, (size_t)(h_end - h));
  *port = colon ? strndup(colon + 1, (size_t)(end - colon - 1)) : NULL;
  if (!*host || (colon && !*port))
    return -ENOMEM;
  return 0;
}

/* `text` with ":port" added after its authority, for the source tag of a
 * URL written without its default port (Telegraf's tag then shows :443). */
static char *tag_with_port(const char *text, size_t auth_end, const char *port) {
  char *t = NULL;
  if (asprintf(&t, "%.*s:%s%s", (int)auth_end, text, port, text + auth_end) < 0)
    return NULL;
  return t;
}

/* What is wrong with a parsed host and port (in `why`), or NULL. */
static const char *endpoint_problem(const scheme *sc, x509_source *src, char *why, size_t len) {
  if (!src->host[0])
    return "the host is empty";
  if (!src->port && !sc->default_port)
    return "give the port: tcp://host:port";
  return src->port ? check_port(&src->port, why, len) : NULL;
}

static int load_url(const tower_config *cfg, const tower_setting *e, const char *text,
                    size_t scheme_len, x509_source *src) {
  const scheme *sc = find_scheme(text, scheme_len);
  if (!sc)
    return tower_config_error(cfg, e, "source \"%s\": unsupported scheme \"%.*s\"; %s", text,
                              (int)scheme_len, text, unsupported_hint(text, scheme_len));
  const char *auth = text + scheme_len + 3;
  size_t auth_len = strcspn(auth, "/?#");
  const char *why = NULL;
  char buf[256];
  int rc = split_authority(auth, auth_len, &src->host, &src->port, &why);
  if (rc == -ENOMEM)
    return rc;
  if (rc == 0)
    why = endpoint_problem(sc, src, buf, sizeof buf);
  if (why)
    return tower_config_error(cfg, e, "source \"%s\": %s", text, why);
  src->kind = sc->kind;
  src->family = sc->family;
  size_t auth_end = (size_t)(auth - text) + auth_len;
  if (!src->port) {
    src->port = strdup(sc->default_port);
    src->tag = tag_with_port(text, auth_end, sc->default_port);
  } else {
    src->tag = strdup(text);
  }
  return src->port && src->tag ? 0 : -ENOMEM;
}

/* ---- file sources ---------------------------------------------------------- */

static int load_path(const tower_config *cfg, const tower_setting *e, const char *text,
                     const char *path, x509_source *src) {
  if (!path[0])
    return tower_config_error(cfg, e, "source \"%s\": the path is empty", text);
  src->kind = X509_SRC_FILE;
  src->pattern = strdup(path);
  src->magic = strpbrk(path, "*?[{") != NULL;
  return src->pattern ? 0 : -ENOMEM;
}

static int load_source(const tower_config *cfg, const tower_setting *e, const char *text,
                       x509_source *src) {
  if (strncmp(text, FILE_PREFIX, strlen(FILE_PREFIX)) == 0)
    return load_path(cfg, e, text, text + strlen(FILE_PREFIX), src);
  if (text[0] == '/')
    return load_path(cfg, e, text, text, src);
  const char *sep = strstr(text, "://");
  size_t scheme_len = sep ? (size_t)(sep - text) : 0;
  if (!sep || scheme_len == 0 || strspn(text, "abcdefghijklmnopqrstuvwxyz0123456789+") < scheme_len)
    return tower_config_error(cfg, e,
                              "source \"%s\" is neither a URL (https://host:443, tcp://host:port, "
                              "smtp://host:25) nor an absolute path; write a relative path as "
                              "file://%s",
                              text, text);
  return load_url(cfg, e, text, scheme_len, src);
}

int x509_sources_load(x509_state *s, const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "sources");
  const tower_setting *set = tower_config_setting(cfg, "sources");
  if (n == 0)
    return tower_config_error(cfg, set,
                              "sources is empty; give at least one, e.g. sources = "
                              "[\"https://example.org:443\", \"/etc/ssl/certs/server.pem\"];");
  s->sources = calloc(n, sizeof *s->sources);
  if (!s->sources)
    return -ENOMEM;
  s->nsources = n;
  for (size_t i = 0; i < n; i++) {
    const tower_setting *e = tower_setting_at(set, i);
    int rc =
        load_source(cfg, e ? e : set, tower_config_strings_at(cfg, "sources", i), &s->sources[i]);
    if (rc)
      return rc;
  }
  return 0;
}

void x509_sources_free(x509_state *s) {
  for (size_t i = 0; i < s->nsources; i++) {
    free(s->sources[i].tag);
    free(s->sources[i].host);
    free(s->sources[i].port);
    free(s->sources[i].pattern);
  }
  free(s->sources);
  s->sources = NULL;
  s->nsources = 0;
}

/* ---- this gather's jobs ------------------------------------------------------ */

typedef struct job_list {
  x509_job *v;
  size_t n, cap;
} job_list;

static x509_job *push_job(job_list *l, const x509_source *src) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    x509_job *v = realloc(l->v, cap * sizeof *v);
    if (!v)
      return NULL;
    l->v = v;
    l->cap = cap;
  }
  x509_job *j = &l->v[l->n++];
  memset(j, 0, sizeof *j);
  j->src = src;
  return j;
}

/* The tag of a file: Telegraf reports files as file:// URLs. */
static int file_job(job_list *l, const x509_source *src, const char *path, const char *error) {
  x509_job *j = push_job(l, src);
  if (!j)
    return -ENOMEM;
  j->path = strdup(path);
  if (asprintf(&j->tag, FILE_PREFIX "%s", path) < 0)
    j->tag = NULL;
  if (error) {
    j->failed = true;
    snprintf(j->error, sizeof j->error, "%s", error);
  }
  return j->path && j->tag ? 0 : -ENOMEM;
}

static int glob_error(const char *path, int err) {
  (void)path;
  (void)err;
  return 0; /* an unreadable directory only hides its files; keep going */
}

/* One job per file the glob matches; directories it matches are skipped.
 * A path without wildcards is one job as it is, whose read says what is
 * wrong with it (ENOENT, EACCES, a directory) rather than "no match". */
static int expand(job_list *l, const x509_source *src) {
  if (!src->magic)
    return file_job(l, src, src->pattern, NULL);
  glob_t g;
  int rc = glob(src->pattern, GLOB_BRACE | GLOB_MARK, glob_error, &g);
  if (rc == GLOB_NOSPACE) {
    globfree(&g);
    return -ENOMEM;
  }
  if (rc != 0) {
    globfree(&g);
    char msg[X509_ERR_MAX];
    snprintf(msg, sizeof msg,
             "no file matches %s (check the pattern and the permissions of "
             "its directories)",
             src->pattern);
    return file_job(l, src, src->pattern, msg);
  }
  int err = 0;
  for (size_t i = 0; i < g.gl_pathc && !err; i++) {
    const char *p = g.gl_pathv[i];
    size_t len = strlen(p);
    if (len > 1 && p[len - 1] == '/')
      continue;
    err = file_job(l, src, p, NULL);
  }
  globfree(&g);
  return err;
}

int x509_jobs_new(const x509_state *s, x509_job **jobs, size_t *njobs) {
  job_list l = {0};
  int rc = 0;
  for (size_t i = 0; i < s->nsources && rc == 0; i++) {
    const x509_source *src = &s->sources[i];
    if (src->kind == X509_SRC_FILE) {
      rc = expand(&l, src);
      continue;
    }
    x509_job *j = push_job(&l, src);
    if (!j || !(j->tag = strdup(src->tag)))
      rc = -ENOMEM;
  }
  if (rc) {
    x509_jobs_free(l.v, l.n);
    return rc;
  }
  *jobs = l.v;
  *njobs = l.n;
  return 0;
}

void x509_jobs_free(x509_job *jobs, size_t njobs) {
  for (size_t i = 0; i < njobs; i++) {
    for (size_t k = 0; k < jobs[i].nmetrics; k++)
      tower_metric_free(jobs[i].metrics[k]);
    free(jobs[i].metrics);
    free(jobs[i].path);
    free(jobs[i].tag);
  }
  free(jobs);
}
