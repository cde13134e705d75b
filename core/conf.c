/* Loading the libconfig file: check and scan the text, parse (libconfig
 * reads every @include from the main file's directory), then substitute
 * environment variables in every string value.
 *
 * The scan reads the main file and every @include before libconfig does,
 * because libconfig (1.5, Debian's) trusts its input in ways an agent must
 * not:
 *   - it opens includes with a blocking fopen and reads them whole: a FIFO
 *     hangs the loader, a device or a huge file balloons it;
 *   - it drops "\x00" from strings and truncates at a raw NUL byte, so the
 *     value silently differs from the file;
 *   - it keeps integers without an L suffix in 32 bits and saturates the
 *     others at 64, so 4294967296 reads as 0 and 99999999999999999999 as -1.
 * The scan refuses the first two with file:line, and records the true value
 * of every integer libconfig cannot hold, which fix_integers() then writes
 * into the tree (or reports as too large for 64 bits). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

struct twi_conf {
  _Atomic int refs;
  config_t cfg;
  char *path;
  char *include_dir;
};

/* The directory to put before `file` in a message: libconfig names an
 * @include'd file as written (relative to the include directory), which
 * means nothing to someone reading the log from elsewhere. The main file
 * (the first libconfig read) keeps the name it was given. */
static const char *include_prefix(const config_t *cfg, const char *file) {
  if (!cfg || !cfg->include_dir || !file || file[0] == '/' ||
      (cfg->num_filenames > 0 && strcmp(cfg->filenames[0], file) == 0))
    return "";
  return cfg->include_dir;
}

const char *twi_setting_where(const config_setting_t *s, char *buf, size_t len) {
  const char *file = s ? config_setting_source_file(s) : NULL;
  unsigned line = s ? config_setting_source_line(s) : 0;
  const char *dir = include_prefix(s ? s->config : NULL, file);
  if (file && line)
    snprintf(buf, len, "%s%s%s:%u", dir, *dir ? "/" : "", file, line);
  else if (file)
    snprintf(buf, len, "%s%s%s", dir, *dir ? "/" : "", file);
  else
    snprintf(buf, len, "<config>");
  return buf;
}

/* Appends n bytes to the growing string *out. */
static int put(char **out, size_t *len, size_t *cap, const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    while (c < *len + n + 1)
      c *= 2;
    char *p = realloc(*out, c);
    if (!p)
      return -ENOMEM;
    *out = p;
    *cap = c;
  }
  memcpy(*out + *len, s, n);
  *len += n;
  (*out)[*len] = '\0';
  return 0;
}

/* Text quoted in a message, with line breaks and other control bytes
 * escaped (a message is one log line) and at most 100 bytes shown. */
static const char *quoted(const char *s, size_t n, char *buf, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 8 < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (i == 100) {
      o += (size_t)snprintf(buf + o, len - o, "...");
      break;
    }
    if (c == '\n' || c == '\r' || c == '\t')
      o += (size_t)snprintf(buf + o, len - o, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
    else if (c < 0x20 || c == 0x7f)
      o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
    else
      buf[o++] = (char)c;
  }
  buf[o] = '\0';
  return buf;
}

char *twi_env_subst(const char *in, char *err, size_t errlen) {
  char *out = NULL;
  size_t len = 0, cap = 0;
  if (put(&out, &len, &cap, "", 0))
    goto nomem;
  for (const char *p = in; *p;) {
    const char *d = strstr(p, "${");
    if (!d) {
      if (put(&out, &len, &cap, p, strlen(p)))
        goto nomem;
      break;
    }
    if (d > p && d[-1] == '$') { /* "$${" is a literal "${" */
      if (put(&out, &len, &cap, p, (size_t)(d - p) - 1) || put(&out, &len, &cap, "${", 2))
        goto nomem;
      p = d + 2;
      continue;
    }
    if (put(&out, &len, &cap, p, (size_t)(d - p)))
      goto nomem;
    const char *close = strchr(d, '}');
    char q1[160], q2[160];
    if (!close) {
      snprintf(err, errlen, "\"${\" without a closing \"}\" in \"%s\" (write $${ for a literal ${)",
               quoted(in, strlen(in), q1, sizeof q1));
      free(out);
      return NULL;
    }
    /* NAME, NAME:-default (unset or empty) or NAME-default (unset). */
    const char *name = d + 2, *end = close, *def = NULL;
    bool empty_uses_default = false;
    const char *dash = memchr(name, '-', (size_t)(close - name));
    if (dash) {
      end = dash;
      def = dash + 1;
      if (dash > name && dash[-1] == ':') {
        end = dash - 1;
        empty_uses_default = true;
      }
    }
    char var[256];
    size_t vlen = (size_t)(end - name);
    if (vlen == 0 || vlen >= sizeof var) {
      snprintf(err, errlen, "bad variable reference \"%s\" in \"%s\"",
               quoted(d, (size_t)(close - d + 1), q1, sizeof q1),
               quoted(in, strlen(in), q2, sizeof q2));
      free(out);
      return NULL;
    }
    memcpy(var, name, vlen);
    var[vlen] = '\0';
    const char *val = getenv(var);
    if (val && !*val && empty_uses_default)
      val = NULL;
    if (val) {
      if (put(&out, &len, &cap, val, strlen(val)))
        goto nomem;
    } else if (def) {
      if (put(&out, &len, &cap, def, (size_t)(close - def)))
        goto nomem;
    } else {
      quoted(var, vlen, q1, sizeof q1);
      snprintf(err, errlen,
               "environment variable %s is not set; set it or give a default with ${%s:-value}", q1,
               q1);
      free(out);
      return NULL;
    }
    p = close + 1;
  }
  return out;
nomem:
  free(out);
  snprintf(err, errlen, "out of memory");
  return NULL;
}

/* Walks the tree substituting in every string (values and array/list
 * elements alike). */
static int subst_tree(config_setting_t *s, char *err, size_t errlen) {
  if (config_setting_type(s) == CONFIG_TYPE_STRING) {
    const char *v = config_setting_get_string(s);
    if (!strstr(v, "${"))
      return 0;
    char msg[512];
    char *nv = twi_env_subst(v, msg, sizeof msg);
    if (!nv) {
      char where[256];
      snprintf(err, errlen, "%s: %s", twi_setting_where(s, where, sizeof where), msg);
      return -EINVAL;
    }
    int ok = config_setting_set_string(s, nv);
    free(nv);
    return ok ? 0 : -ENOMEM;
  }
  int n = config_setting_is_aggregate(s) ? config_setting_length(s) : 0;
  for (int i = 0; i < n; i++) {
    int rc = subst_tree(config_setting_get_elem(s, (unsigned)i), err, errlen);
    if (rc)
      return rc;
  }
  return 0;
}

/* ---- scanning the text before libconfig -------------------------------- */

/* The most text one configuration may hold: the main file and all its
 * includes together. Real configurations are kilobytes; the bound keeps a
 * mistaken @include (a log, a disk image) from making the loader read and
 * allocate without end. */
#define CONF_MAX_BYTES (16u << 20)
/* libconfig's own include nesting limit (MAX_INCLUDE_DEPTH): deeper is a
 * file that includes itself. */
#define CONF_MAX_DEPTH 10
/* Includes of one configuration: each opens a file, so even tiny ones
 * must end somewhere. */
#define CONF_MAX_INCLUDES 1000

/* An integer literal libconfig cannot hold as written: its position among
 * all integer literals (the order of the tree) and its true value. */
typedef struct big_int {
  size_t index;
  int64_t value;
} big_int;

typedef struct scan {
  const char *include_dir; /* as libconfig resolves @include; may be NULL */
  size_t bytes;            /* read so far, against CONF_MAX_BYTES */
  unsigned includes;       /* against CONF_MAX_INCLUDES */
  size_t nints;            /* integer literals seen */
  big_int *big;
  size_t nbig, capbig;
  /* The first literal beyond 64 bits: reported from the tree, where its
   * setting is known. */
  bool overflow;
  size_t overflow_index;
  char overflow_text[64];
  char *err;
  size_t errlen;
} scan;

static const char *file_kind(mode_t m) {
  if (S_ISFIFO(m))
    return "a FIFO";
  if (S_ISDIR(m))
    return "a directory";
  if (S_ISCHR(m))
    return "a character device";
  if (S_ISBLK(m))
    return "a block device";
  if (S_ISSOCK(m))
    return "a socket";
  return "not a regular file";
}

/* Reads what `fd` holds, up to `limit` bytes: 0, -EFBIG beyond the limit
 * (a file that grew since fstat), or a negative errno. */
static int read_all(int fd, size_t limit, char **out, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  int rc = buf ? 0 : -ENOMEM;
  while (rc == 0) {
    if (n > limit) {
      rc = -EFBIG;
      break;
    }
    if (n == cap - 1) {
      char *b = realloc(buf, cap * 2);
      if (!b) {
        rc = -ENOMEM;
        break;
      }
      buf = b;
      cap *= 2;
    }
    ssize_t got = read(fd, buf + n, cap - 1 - n);
    if (got == 0)
      break;
    if (got < 0 && errno != EINTR)
      rc = -errno;
    n += got > 0 ? (size_t)got : 0;
  }
  if (rc) {
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

/* Reads the file at `path` whole. `what` starts every message ("tower.conf"
 * or "tower.conf:3: @include \"x.inc\""). O_NONBLOCK: opening a FIFO must
 * not wait for a writer; fstat then refuses it. libconfig opens the file
 * again by name: whoever can swap it in between can already edit the
 * configuration. */
static int read_text(scan *sc, const char *path, const char *what, char **text, size_t *len) {
  const char *shown = strcmp(what, path) ? path : "the file";
  size_t room = CONF_MAX_BYTES - sc->bytes;
  struct stat st;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  int rc = fd < 0 || fstat(fd, &st) ? -errno : 0;
  if (rc == 0 && !S_ISREG(st.st_mode))
    rc = -EBADF;
  else if (rc == 0 && (uintmax_t)st.st_size > room)
    rc = -EFBIG;
  else if (rc == 0)
    rc = read_all(fd, room, text, len);
  if (fd >= 0)
    close(fd);
  if (rc == 0) {
    sc->bytes += *len;
    return 0;
  }
  if (rc == -EBADF)
    snprintf(sc->err, sc->errlen, "%s: %s is %s; give a regular file", what, shown,
             file_kind(st.st_mode));
  else if (rc == -EFBIG && sc->bytes && (uintmax_t)st.st_size <= CONF_MAX_BYTES)
    snprintf(sc->err, sc->errlen,
             "%s: with %s the configuration (main file and includes together) grows beyond "
             "%u MiB; is a file included over and over?",
             what, shown, CONF_MAX_BYTES >> 20);
  else if (rc == -EFBIG)
    snprintf(sc->err, sc->errlen,
             "%s: %s is larger than %u MiB, the most a configuration may hold; is it the "
             "right file?",
             what, shown, CONF_MAX_BYTES >> 20);
  else
    snprintf(sc->err, sc->errlen, "%s: cannot read %s: %s", what, shown, strerror(-rc));
  return rc;
}

/* The line at `at`, counting from `line` at `from`. */
static unsigned line_at(const char *from, const char *at, unsigned line) {
  for (const char *p = from; p < at; p++)
    line += *p == '\n';
  return line;
}

/* A text that is the file itself: a NUL byte would end libconfig's reading
 * of a string (or of the file) early, so whatever follows would be lost
 * without a word. */
static int check_no_nul(scan *sc, const char *name, const char *text, size_t len) {
  const char *nul = memchr(text, '\0', len);
  if (!nul)
    return 0;
  snprintf(sc->err, sc->errlen, "%s:%u: the file holds a NUL byte; is it a text file?", name,
           line_at(text, nul, 1));
  return -EINVAL;
}

static int scan_text(scan *sc, const char *name, const char *text, size_t len, int depth);

static int scan_include(scan *sc, const char *name, unsigned line, const char *file, int depth) {
  /* libconfig's rule: every @include, nested ones too, is relative to the
   * include directory (the main file's), which it prepends even to an
   * absolute path. The same file must be checked as libconfig will open. */
  char *what = NULL, *path = NULL;
  if (asprintf(&what, "%s:%u: @include \"%s\"", name, line, file) < 0)
    what = NULL;
  if (!what || (sc->include_dir ? asprintf(&path, "%s/%s", sc->include_dir, file) < 0
                                : !(path = strdup(file)))) {
    free(what);
    snprintf(sc->err, sc->errlen, "out of memory");
    return -ENOMEM;
  }
  int rc = -EINVAL;
  char *text = NULL;
  size_t n = 0;
  if (depth >= CONF_MAX_DEPTH)
    snprintf(sc->err, sc->errlen, "%s: includes nest deeper than %d (does a file include itself?)",
             what, CONF_MAX_DEPTH);
  else if (++sc->includes > CONF_MAX_INCLUDES)
    snprintf(sc->err, sc->errlen, "%s: more than %d includes in one configuration", what,
             CONF_MAX_INCLUDES);
  else if ((rc = read_text(sc, path, what, &text, &n)) == 0)
    rc = scan_text(sc, file, text, n, depth + 1);
  free(text);
  free(path);
  free(what);
  return rc;
}

/* ---- the lexer: the tokens of libconfig's scanner.l that matter --------- */

static size_t span(const char *p, const char *end, const char *set) {
  size_t n = 0;
  while (p + n < end && p[n] && strchr(set, p[n]))
    n++;
  return n;
}

#define DIGITS "0123456789"
#define HEXDIGITS "0123456789abcdefABCDEF"

/* [eE][-+]?[0-9]+ at p, or 0. */
static size_t exponent(const char *p, const char *end) {
  if (p >= end || (*p != 'e' && *p != 'E'))
    return 0;
  size_t sign = p + 1 < end && (p[1] == '-' || p[1] == '+');
  size_t d = span(p + 1 + sign, end, DIGITS);
  return d ? 1 + sign + d : 0;
}

/* Length of libconfig's float token at p, or 0:
 * [-+]?[0-9]*\.[0-9]*([eE][-+]?[0-9]+)? | [-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+ */
static size_t float_len(const char *p, const char *end) {
  size_t sign = *p == '-' || *p == '+';
  size_t d = span(p + sign, end, DIGITS);
  const char *q = p + sign + d;
  size_t frac = q < end && *q == '.' ? 1 + span(q + 1, end, DIGITS) : 0;
  size_t e = exponent(q + frac, end);
  if (frac)
    return sign + d + frac + e;
  return d && e ? sign + d + e : 0;
}

/* "L" or "LL" after an integer (libconfig's 64-bit marker). */
static size_t l_suffix(const char *p, const char *end) {
  return p < end && *p == 'L' ? 1 + (p + 1 < end && p[1] == 'L') : 0;
}

static int record_int(scan *sc, int64_t value, bool overflow, const char *text, size_t len) {
  size_t index = sc->nints++;
  if (overflow && !sc->overflow) {
    sc->overflow = true;
    sc->overflow_index = index;
    snprintf(sc->overflow_text, sizeof sc->overflow_text, "%.*s", (int)len, text);
  }
  if (overflow || (value >= INT32_MIN && value <= INT32_MAX))
    return 0; /* libconfig holds it as written (or the tree walk reports it) */
  if (sc->nbig == sc->capbig) {
    size_t cap = sc->capbig ? sc->capbig * 2 : 16;
    big_int *b = realloc(sc->big, cap * sizeof *b);
    if (!b) {
      snprintf(sc->err, sc->errlen, "out of memory");
      return -ENOMEM;
    }
    sc->big = b;
    sc->capbig = cap;
  }
  sc->big[sc->nbig++] = (big_int){index, value};
  return 0;
}

/* The value of [-+]?[0-9]+ (sign + d digits at p); false beyond int64. */
static bool decimal_value(const char *p, size_t sign, size_t d, int64_t *out) {
  size_t zeros = span(p + sign, p + sign + d, "0");
  if (d - zeros > 19) /* more digits than any int64 */
    return false;
  if (zeros == d) {
    *out = 0;
    return true;
  }
  char buf[24];
  snprintf(buf, sizeof buf, "%.*s%.*s", (int)sign, p, (int)(d - zeros), p + sign + zeros);
  errno = 0;
  *out = strtoll(buf, NULL, 10);
  return errno != ERANGE;
}

/* The value of h hex digits at p; false beyond int64. */
static bool hex_value(const char *p, size_t h, int64_t *out) {
  size_t zeros = span(p, p + h, "0");
  if (h - zeros > 16)
    return false;
  char buf[17];
  snprintf(buf, sizeof buf, "%.*s", (int)(h - zeros), p + zeros);
  uint64_t u = zeros == h ? 0 : strtoull(buf, NULL, 16);
  *out = (int64_t)(u & INT64_MAX);
  return u <= INT64_MAX;
}

/* A number token at p (decimal, hex, float): records integers, returns the
 * token's length. Flex takes the longest match, as this does. */
static size_t scan_number(scan *sc, const char *p, const char *end, int *rc) {
  size_t flen = float_len(p, end);
  size_t sign = *p == '-' || *p == '+';
  size_t d = span(p + sign, end, DIGITS);
  size_t ilen = d ? sign + d + l_suffix(p + sign + d, end) : 0;
  bool hex = !sign && d == 1 && *p == '0' && p + 1 < end && (p[1] == 'x' || p[1] == 'X');
  size_t h = hex ? span(p + 2, end, HEXDIGITS) : 0;
  size_t hlen = h ? 2 + h + l_suffix(p + 2 + h, end) : 0;
  if (flen >= ilen && flen >= hlen)
    return flen ? flen : 1;
  int64_t value = 0;
  bool fits = hlen > ilen ? hex_value(p + 2, h, &value) : decimal_value(p, sign, d, &value);
  size_t len = hlen > ilen ? hlen : ilen;
  *rc = record_int(sc, value, !fits, p, len);
  return len;
}

static bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string literal from its opening quote: returns the length through the
 * closing quote (or to the end). libconfig turns "\x00" into nothing. */
static size_t scan_string(scan *sc, const char *name, unsigned line, const char *p, const char *end,
                          int *rc) {
  const char *q = p + 1;
  while (q < end && *q != '"') {
    if (*q != '\\') {
      q++;
    } else if (q + 3 < end && (q[1] == 'x' || q[1] == 'X') && is_hex(q[2]) && is_hex(q[3])) {
      if (q[2] == '0' && q[3] == '0') {
        snprintf(sc->err, sc->errlen,
                 "%s:%u: \"\\x00\" in a string: strings cannot hold a NUL byte", name,
                 line_at(p, q, line));
        *rc = -EINVAL;
        return (size_t)(end - p);
      }
      q += 4;
    } else {
      /* \n \r \t \f \\ \" are two characters; any other backslash is
       * one, kept as it is */
      q += q + 1 < end && strchr("nrtf\\\"", q[1]) ? 2 : 1;
    }
  }
  return (size_t)(q < end ? q + 1 - p : end - p);
}

/* At the start of a line: ^[ \t]*@include[ \t]+" and the quoted file name
 * (\\ and \" escaped). Returns the length through the closing quote, or 0
 * when this is no include. */
static size_t scan_include_line(scan *sc, const char *name, unsigned line, const char *p,
                                const char *end, int depth, int *rc) {
  const char *q = p + span(p, end, " \t");
  static const char directive[] = "@include";
  size_t dl = sizeof directive - 1;
  if ((size_t)(end - q) < dl || memcmp(q, directive, dl) != 0)
    return 0;
  size_t ws = span(q + dl, end, " \t");
  if (!ws || q + dl + ws >= end || q[dl + ws] != '"')
    return 0;
  q += dl + ws + 1;
  char file[4096];
  size_t n = 0;
  for (; q < end && *q != '"'; q++) {
    if (*q == '\\' && q + 1 < end && (q[1] == '\\' || q[1] == '"'))
      q++;
    else if (*q == '\\')
      continue; /* no rule of libconfig's takes it: flex drops it */
    if (n + 1 == sizeof file)
      break;
    file[n++] = *q;
  }
  file[n] = '\0';
  if (n + 1 == sizeof file) {
    snprintf(sc->err, sc->errlen, "%s:%u: @include: the file name is longer than %zu bytes", name,
             line, sizeof file - 1);
    *rc = -ENAMETOOLONG;
    return (size_t)(end - p);
  }
  if (q >= end)
    return (size_t)(end - p); /* unterminated: libconfig reports it */
  *rc = scan_include(sc, name, line_at(p, q, line), file, depth);
  return (size_t)(q + 1 - p);
}

/* Walks `text` as libconfig's scanner does in its INITIAL state: comments,
 * strings, names, numbers and @include at the start of a line. */
static int scan_text(scan *sc, const char *name, const char *text, size_t len, int depth) {
  int rc = check_no_nul(sc, name, text, len);
  const char *end = text + len;
  unsigned line = 1;
  bool bol = true; /* flex's ^: the last character read was a newline */
  for (const char *p = text; p < end && rc == 0;) {
    size_t n = bol ? scan_include_line(sc, name, line, p, end, depth, &rc) : 0;
    char c = *p;
    if (n) {
      /* the include's text came here; this line goes on after it */
    } else if (c == '"') {
      n = scan_string(sc, name, line, p, end, &rc);
    } else if (c == '#' || (c == '/' && p + 1 < end && p[1] == '/')) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      n = (size_t)((nl ? nl : end) - p);
    } else if (c == '/' && p + 1 < end && p[1] == '*') {
      const char *close = memmem(p + 2, (size_t)(end - p - 2), "*/", 2);
      n = close ? (size_t)(close + 2 - p) : (size_t)(end - p);
    } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*') {
      n = 1 + span(p + 1, end, "-_*" DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    } else if (strchr("+-." DIGITS, c)) {
      n = scan_number(sc, p, end, &rc);
    } else {
      n = 1;
    }
    bol = n == 1 && c == '\n';
    line = line_at(p, p + n, line);
    p += n;
  }
  return rc;
}

/* ---- writing the true integers into the tree ---------------------------- */

/* "agent.metric_batch_size", "inputs[0].lines[2]": where a setting sits. */
static void setting_path(const config_setting_t *s, char *buf, size_t len) {
  const config_setting_t *parent = config_setting_parent(s);
  if (!parent) {
    buf[0] = '\0';
    return;
  }
  setting_path(parent, buf, len);
  size_t used = strlen(buf);
  const char *name = config_setting_name(s);
  if (name)
    snprintf(buf + used, len - used, "%s%s", used ? "." : "", name);
  else
    snprintf(buf + used, len - used, "[%d]", config_setting_index(s));
}

typedef struct fixer {
  const scan *sc;
  size_t index; /* integer settings seen, in file order */
  size_t next_big;
} fixer;

static int fix_integer(fixer *f, config_setting_t *s, char *err, size_t errlen) {
  size_t index = f->index++;
  char where[256], path[256];
  const scan *sc = f->sc;
  if (sc->overflow && index == sc->overflow_index) {
    setting_path(s, path, sizeof path);
    bool neg = sc->overflow_text[0] == '-';
    snprintf(err, errlen, "%s: %s: %s is too %s (%s the %s %s, the %s 64-bit integer)",
             twi_setting_where(s, where, sizeof where), path, sc->overflow_text,
             neg ? "small" : "large", neg ? "below" : "above", neg ? "minimum" : "maximum",
             neg ? "-9223372036854775808" : "9223372036854775807", neg ? "smallest" : "largest");
    return -ERANGE;
  }
  if (f->next_big >= sc->nbig || sc->big[f->next_big].index != index)
    return 0;
  int64_t value = sc->big[f->next_big++].value;
  /* libconfig kept the low 32 bits (1.5) or the whole value (1.7): anything
   * else means the tree and the scanned text disagree. */
  if ((uint32_t)config_setting_get_int64(s) != (uint32_t)value)
    return -EAGAIN;
  /* No setter turns an int into an int64 (config_setting_set_int64 zeroes
   * a value beyond 32 bits); the struct is public, so write it. */
  s->type = CONFIG_TYPE_INT64;
  s->value.llval = value;
  return 0;
}

static int fix_tree(fixer *f, config_setting_t *s, char *err, size_t errlen) {
  int t = config_setting_type(s);
  if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
    return fix_integer(f, s, err, errlen);
  int n = config_setting_is_aggregate(s) ? config_setting_length(s) : 0;
  for (int i = 0; i < n; i++) {
    int rc = fix_tree(f, config_setting_get_elem(s, (unsigned)i), err, errlen);
    if (rc)
      return rc;
  }
  return 0;
}

/* Gives every integer setting the value written in the file. */
static int fix_integers(const scan *sc, config_setting_t *root, const char *name, char *err,
                        size_t errlen) {
  fixer f = {.sc = sc};
  int rc = fix_tree(&f, root, err, errlen);
  if (rc == -EAGAIN || (rc == 0 && f.index != sc->nints)) {
    snprintf(err, errlen,
             "%s: the integers libconfig parsed differ from those in the text (did a file "
             "change while it was read?); load it again",
             name);
    return -EINVAL;
  }
  return rc;
}

static twi_conf *conf_new(const char *name, const char *include_dir) {
  twi_conf *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  atomic_init(&c->refs, 1);
  config_init(&c->cfg);
  c->path = strdup(name);
  c->include_dir = include_dir ? strdup(include_dir) : NULL;
  if (!c->path || (include_dir && !c->include_dir)) {
    twi_conf_unref(c);
    return NULL;
  }
  if (c->include_dir)
    config_set_include_dir(&c->cfg, c->include_dir);
  return c;
}

/* libconfig's verdict. Its I/O errors carry no reason: `io_errno`, read
 * right after the call that was made with errno = 0, is fopen's when that
 * failed and 0 otherwise, which strerror would print as "Success". */
static twi_conf *finish(twi_conf *c, const scan *sc, int ok, int io_errno, char *err,
                        size_t errlen) {
  if (!ok) {
    const char *file = config_error_file(&c->cfg);
    if (config_error_type(&c->cfg) == CONFIG_ERR_FILE_IO && io_errno)
      snprintf(err, errlen, "%s: cannot read the file: %s", c->path, strerror(io_errno));
    else if (config_error_type(&c->cfg) == CONFIG_ERR_FILE_IO)
      snprintf(err, errlen,
               "%s: libconfig could not read the file and gave no reason; check that it and "
               "every file it includes are readable regular files",
               c->path);
    else if (file && *include_prefix(&c->cfg, file))
      snprintf(err, errlen, "%s/%s:%d: %s", c->include_dir, file, config_error_line(&c->cfg),
               config_error_text(&c->cfg));
    else
      snprintf(err, errlen, "%s:%d: %s", file ? file : c->path, config_error_line(&c->cfg),
               config_error_text(&c->cfg));
    twi_conf_unref(c);
    return NULL;
  }
  config_setting_t *root = config_root_setting(&c->cfg);
  if (fix_integers(sc, root, c->path, err, errlen) || subst_tree(root, err, errlen)) {
    twi_conf_unref(c);
    return NULL;
  }
  return c;
}

twi_conf *twi_conf_load(const char *path, char *err, size_t errlen) {
  char *copy = strdup(path);
  twi_conf *c = copy ? conf_new(path, dirname(copy)) : NULL;
  free(copy);
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  scan sc = {.include_dir = c->include_dir, .err = err, .errlen = errlen};
  char *text = NULL;
  size_t len = 0;
  int rc = read_text(&sc, path, path, &text, &len);
  if (rc == 0)
    rc = scan_text(&sc, path, text, len, 0);
  free(text);
  if (rc == 0) {
    errno = 0;
    int ok = config_read_file(&c->cfg, path);
    c = finish(c, &sc, ok, errno, err, errlen);
  } else {
    twi_conf_unref(c);
    c = NULL;
  }
  free(sc.big);
  return c;
}

twi_conf *twi_conf_load_string(const char *text, const char *name, const char *include_dir,
                               char *err, size_t errlen) {
  twi_conf *c = conf_new(name ? name : "<string>", include_dir);
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  scan sc = {.include_dir = c->include_dir, .bytes = strlen(text), .err = err, .errlen = errlen};
  int rc = -EFBIG;
  if (sc.bytes > CONF_MAX_BYTES)
    snprintf(err, errlen, "%s: the text is larger than %u MiB", c->path, CONF_MAX_BYTES >> 20);
  else
    rc = scan_text(&sc, c->path, text, sc.bytes, 0);
  if (rc == 0) {
    errno = 0;
    int ok = config_read_string(&c->cfg, text);
    c = finish(c, &sc, ok, errno, err, errlen);
  } else {
    twi_conf_unref(c);
    c = NULL;
  }
  free(sc.big);
  return c;
}

twi_conf *twi_conf_ref(twi_conf *c) {
  atomic_fetch_add(&c->refs, 1);
  return c;
}

void twi_conf_unref(twi_conf *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
    return;
  config_destroy(&c->cfg);
  free(c->path);
  free(c->include_dir);
  free(c);
}

config_setting_t *twi_conf_root(const twi_conf *c) {
  return config_root_setting(&c->cfg);
}
const char *twi_conf_path(const twi_conf *c) {
  return c->path;
}
