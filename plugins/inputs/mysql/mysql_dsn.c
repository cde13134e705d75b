/* Telegraf's (go-sql-driver's) DSN for inputs.mysql:
 *   [user[:password]@][tcp[(host:port)]|unix[(path)]]/[dbname][?tls=...&...]
 * The user part ends at the last '@' before the last '/', so a password may
 * hold '@', ':' and '/' is not allowed after it (as in the driver). The
 * password is kept for the connection only: `name` and `tag`, the only
 * strings messages use, never contain it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_input.h"

static char *dup_n(const char *p, size_t n) {
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, p, n);
    s[n] = '\0';
  }
  return s;
}

static int bad(char *why, size_t why_len, const char *msg) {
  snprintf(why, why_len, "%s", msg);
  return -EINVAL;
}

/* "host:port", "[v6]:port", "host" -> host and port. */
static int parse_tcp(my_dsn *d, const char *a, size_t n, char *why, size_t why_len) {
  const char *colon = NULL;
  const char *hs = a, *he;
  if (n && a[0] == '[') {
    const char *close = memchr(a, ']', n);
    if (!close)
      return bad(why, why_len, "an IPv6 address opened with '[' has no ']'");
    hs = a + 1;
    he = close;
    if (close + 1 < a + n) {
      if (close[1] != ':')
        return bad(why, why_len, "after ']' only ':port' may follow");
      colon = close + 1;
    }
  } else {
    colon = memchr(a, ':', n);
    he = colon ? colon : a + n;
  }
  d->port = 3306;
  if (colon) {
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (end != a + n || colon + 1 == end || p == 0 || p > 65535)
      return bad(why, why_len, "the port is not a number from 1 to 65535");
    d->port = (unsigned)p;
  }
  d->host = he > hs ? dup_n(hs, (size_t)(he - hs)) : strdup("127.0.0.1");
  return d->host ? 0 : -ENOMEM;
}

static int parse_addr(my_dsn *d, const char *a, size_t n, char *why, size_t why_len) {
  const char *open = memchr(a, '(', n);
  size_t proto_len = open ? (size_t)(open - a) : n;
  const char *addr = NULL;
  size_t addr_len = 0;
  if (open) {
    if (a[n - 1] != ')')
      return bad(why, why_len, "the address opened with '(' has no ')' before '/'");
    addr = open + 1;
    addr_len = (size_t)(a + n - 1 - addr);
  }
  if (proto_len == 0 || (proto_len == 3 && memcmp(a, "tcp", 3) == 0))
    return parse_tcp(d, addr ? addr : "", addr_len, why, why_len);
  if (proto_len == 4 && memcmp(a, "unix", 4) == 0) {
    d->socket = addr_len ? dup_n(addr, addr_len) : strdup("/tmp/mysql.sock");
    return d->socket ? 0 : -ENOMEM;
  }
  return bad(why, why_len, "the protocol must be tcp(host:port) or unix(/path/to/socket)");
}

static int parse_params(my_dsn *d, const char *q, char *why, size_t why_len) {
  while (*q) {
    size_t n = strcspn(q, "&");
    if (n > 4 && memcmp(q, "tls=", 4) == 0) {
      free(d->tls);
      d->tls = dup_n(q + 4, n - 4);
      if (!d->tls)
        return -ENOMEM;
      const char *ok[] = {"false", "true", "skip-verify", "preferred", "custom", NULL};
      bool known = false;
      for (size_t i = 0; ok[i]; i++)
        known |= strcmp(d->tls, ok[i]) == 0;
      if (!known)
        return bad(why, why_len,
                   "tls= must be false, true, skip-verify, preferred or custom (tls_ca, tls_cert, "
                   "tls_key of the block)");
    }
    /* Other driver parameters (timeout, charset...) are accepted and
     * ignored: the block's `timeout` rules the connection. */
    q += n;
    if (*q == '&')
      q++;
  }
  return 0;
}

static void describe(my_dsn *d) {
  if (d->socket)
    snprintf(d->tag, sizeof d->tag, "%s", d->socket);
  else if (strchr(d->host, ':'))
    snprintf(d->tag, sizeof d->tag, "[%s]:%u", d->host, d->port);
  else
    snprintf(d->tag, sizeof d->tag, "%s:%u", d->host, d->port);
  if (d->user)
    snprintf(d->name, sizeof d->name, "%s@%s", d->user, d->tag);
  else
    snprintf(d->name, sizeof d->name, "%s", d->tag);
}

int my_dsn_parse(const char *text, my_dsn *d, char *why, size_t why_len) {
  memset(d, 0, sizeof *d);
  const char *q = strchr(text, '?');
  size_t len = q ? (size_t)(q - text) : strlen(text);
  int rc;
  if (len == 0) { /* "" is the driver's default: tcp(127.0.0.1:3306)/ */
    rc = parse_tcp(d, "", 0, why, why_len);
    goto done;
  }
  const char *slash = NULL;
  for (const char *p = text; p < text + len; p++)
    if (*p == '/')
      slash = p;
  if (!slash) {
    rc = bad(why, why_len, "no '/' after the address (write user:password@tcp(host:port)/)");
    goto done;
  }
  const char *at = NULL;
  for (const char *p = text; p < slash; p++)
    if (*p == '@')
      at = p;
  const char *a = at ? at + 1 : text;
  if (at) {
    const char *colon = memchr(text, ':', (size_t)(at - text));
    d->user = dup_n(text, (size_t)((colon ? colon : at) - text));
    d->password = colon ? dup_n(colon + 1, (size_t)(at - colon - 1)) : NULL;
    if (!d->user || (colon && !d->password)) {
      rc = -ENOMEM;
      goto done;
    }
  }
  rc = slash > a ? parse_addr(d, a, (size_t)(slash - a), why, why_len)
                 : parse_tcp(d, "", 0, why, why_len);
  if (rc == 0 && slash + 1 < text + len &&
      !(d->db = dup_n(slash + 1, (size_t)(text + len - slash - 1))))
    rc = -ENOMEM;
  if (rc == 0 && q)
    rc = parse_params(d, q + 1, why, why_len);
done:
  if (rc == 0)
    describe(d);
  else if (rc == -ENOMEM)
    snprintf(why, why_len, "out of memory");
  return rc;
}

void my_dsn_free(my_dsn *d) {
  if (d->password) /* do not leave the password in freed memory */
    memset(d->password, 0, strlen(d->password));
  free(d->user);
  free(d->password);
  free(d->host);
  free(d->socket);
  free(d->db);
  free(d->tls);
  memset(d, 0, sizeof *d);
}
