/* Environment variables in configuration strings, with Telegraf's syntax so
 * that its files carry over:
 *
 *   $VAR, ${VAR}       the value of VAR (a name is [A-Za-z_][A-Za-z0-9_]*)
 *   ${VAR:-default}    default when VAR is unset or empty
 *   ${VAR-default}     default when VAR is unset
 *   ${VAR:?message}    an error with the message when VAR is unset or empty
 *   ${VAR?message}     the same when VAR is unset
 *   $$NAME, $${        a literal $ before the name or { (so "pa$$word" is
 *                      pa$word, as in Telegraf)
 *
 * Any other "$" stays as written: "$1", "100$", "^cpu$", and "$$" before
 * anything but a name or "{", which is a shell's process id in an exec
 * command ("kill $$") far more often than an escape (Telegraf turns every
 * "$$" into "$").
 * Unlike Telegraf, which keeps "$VAR" as written when VAR is unset, an unset
 * variable without a default is an error: a password with a "$" in it must
 * not reach a server half-substituted or changed without a word. The error
 * must not print the password either: for a setting whose name says it may
 * hold a secret, messages show neither the value nor the variable name (a
 * piece of it). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_env.h"
#include "diag.h"

typedef struct out {
  char *s;
  size_t len, cap;
  bool nomem;
} out;

/* Appends n bytes to the growing string. */
static void put(out *o, const char *s, size_t n) {
  if (o->nomem)
    return;
  if (o->len + n + 1 > o->cap) {
    size_t c = o->cap ? o->cap * 2 : 64;
    while (c < o->len + n + 1)
      c *= 2;
    char *p = realloc(o->s, c);
    if (!p) {
      o->nomem = true;
      return;
    }
    o->s = p;
    o->cap = c;
  }
  memcpy(o->s + o->len, s, n);
  o->len += n;
  o->s[o->len] = '\0';
}

static bool name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static size_t name_len(const char *p) {
  size_t n = 0;
  if (!name_start(p[0]))
    return 0;
  while (name_start(p[n]) || (p[n] >= '0' && p[n] <= '9'))
    n++;
  return n;
}

/* The value of the variable named by n bytes at p, or NULL when unset. */
static const char *lookup(const char *p, size_t n) {
  char var[256];
  if (n >= sizeof var)
    return NULL;
  memcpy(var, p, n);
  var[n] = '\0';
  return getenv(var);
}

/* One substitution: the text and how to report on it. */
typedef struct subst {
  const char *in;
  bool hide; /* the value may be a secret: quote none of it */
  char *err;
  size_t errlen;
} subst;

static const char hidden[] = "(not shown: the value may be a secret)";

static void unset(const subst *x, const char *p, size_t n, bool braced) {
  if (x->hide)
    snprintf(x->err, x->errlen,
             "a variable of the value is not set in the environment %s; set it, give a default "
             "with ${NAME:-value}%s",
             hidden, braced ? "" : ", or write $$ for a literal $");
  else if (braced)
    snprintf(x->err, x->errlen,
             "environment variable %.*s is not set; set it or give a default with "
             "${%.*s:-value}",
             (int)n, p, (int)n, p);
  else
    snprintf(x->err, x->errlen,
             "environment variable %.*s is not set; set it, give a default with ${%.*s:-value}, "
             "or write $$ for a literal $",
             (int)n, p, (int)n, p);
}

static void malformed(const subst *x, const char *d, const char *close) {
  if (!close && x->hide)
    snprintf(x->err, x->errlen, "\"${\" without a closing \"}\" %s (write $${ for a literal ${)",
             hidden);
  else if (!close)
    snprintf(x->err, x->errlen,
             "\"${\" without a closing \"}\" in \"%s\" (write $${ for a literal ${)", x->in);
  else if (x->hide)
    snprintf(x->err, x->errlen,
             "bad variable reference %s (a name is letters, digits and _; write $${ for a "
             "literal ${)",
             hidden);
  else
    snprintf(x->err, x->errlen,
             "bad variable reference \"%.*s\" in \"%s\" (a name is letters, digits and _; write "
             "$${ for a literal ${)",
             (int)(close - d + 1), d, x->in);
}

/* ${...} at d: appends the substitution; returns the position after the
 * closing "}", or NULL with the message in err. */
static const char *braced(out *o, const char *d, const subst *x) {
  const char *name = d + 2, *close = strchr(name, '}');
  size_t n = name_len(name);
  const char *op = name + n, *rest = op + (op[0] == ':');
  if (!close || !n || (op != close && *rest != '-' && *rest != '?')) {
    malformed(x, d, close);
    return NULL;
  }
  bool empty_unset = op[0] == ':'; /* the ":" forms treat empty as unset */
  const char *val = lookup(name, n);
  if (val && !*val && empty_unset)
    val = NULL;
  const char *word = op == close ? NULL : rest + 1;
  if (val)
    put(o, val, strlen(val));
  else if (word && *rest == '-')
    put(o, word, (size_t)(close - word));
  else if (word) /* the operator's own message: no secret */
    snprintf(x->err, x->errlen, "environment variable %.*s is not set: %.*s", (int)n, name,
             (int)(close - word), word);
  else
    unset(x, name, n, true);
  return val || (word && *rest == '-') ? close + 1 : NULL;
}

static char *substitute(const subst *x) {
  out o = {0};
  put(&o, "", 0);
  for (const char *p = x->in; *p && !o.nomem;) {
    const char *d = strchr(p, '$');
    if (!d) {
      put(&o, p, strlen(p));
      break;
    }
    put(&o, p, (size_t)(d - p));
    size_t n = name_len(d + 1);
    if (d[1] == '$') { /* "$$NAME", "$${": a literal "$"; any other "$$" stays */
      bool escape = d[2] == '{' || name_start(d[2]);
      put(&o, "$$", escape ? 1 : 2);
      p = d + 2;
    } else if (d[1] == '{') {
      p = braced(&o, d, x);
    } else if (n) {
      const char *val = lookup(d + 1, n);
      if (val)
        put(&o, val, strlen(val));
      else
        unset(x, d + 1, n, false);
      p = val ? d + 1 + n : NULL;
    } else { /* "$" before anything else stays */
      put(&o, "$", 1);
      p = d + 1;
    }
    if (!p) {
      free(o.s);
      return NULL;
    }
  }
  if (o.nomem) {
    free(o.s);
    snprintf(x->err, x->errlen, "out of memory");
    return NULL;
  }
  return o.s;
}

char *twi_env_subst(const char *in, char *err, size_t errlen) {
  subst x = {in, false, err, errlen};
  char *text = substitute(&x);
  if (!text && errlen)
    twi_one_line(err);
  return text;
}

/* Whether the setting's name (or its nearest named parent's, for array
 * elements) says it may hold a secret: password, token, secret_access_key,
 * an Authorization header... */
static bool may_be_secret(const config_setting_t *s) {
  static const char *const words[] = {"pass", "secret", "token", "key", "auth", "credential", NULL};
  while (s && !config_setting_name(s))
    s = config_setting_parent(s);
  const char *name = s ? config_setting_name(s) : NULL;
  for (size_t i = 0; name && words[i]; i++)
    if (strcasestr(name, words[i]))
      return true;
  return false;
}

int twi_env_subst_tree(config_setting_t *s, char *err, size_t errlen) {
  if (config_setting_type(s) == CONFIG_TYPE_STRING) {
    const char *v = config_setting_get_string(s);
    if (!strchr(v, '$'))
      return 0;
    char msg[512];
    subst x = {v, may_be_secret(s), msg, sizeof msg};
    char *nv = substitute(&x);
    if (!nv) {
      char where[256];
      snprintf(err, errlen, "%s: %s", twi_setting_where(s, where, sizeof where), msg);
      twi_one_line(err); /* the value quoted may span lines */
      return -EINVAL;
    }
    int ok = config_setting_set_string(s, nv);
    free(nv);
    return ok ? 0 : -ENOMEM;
  }
  int n = config_setting_is_aggregate(s) ? config_setting_length(s) : 0;
  for (int i = 0; i < n; i++) {
    int rc = twi_env_subst_tree(config_setting_get_elem(s, (unsigned)i), err, errlen);
    if (rc)
      return rc;
  }
  return 0;
}
