/* Log lines: "2026-11-21T05:36:00Z E! [inputs.cpu:main] message".
 *
 * One write(2) per line so that concurrent lines never interleave. The
 * message is scrubbed, then escaped:
 *  - every occurrence of a configured secret (secrets.c) becomes
 *    "<redacted>", whatever relayed it (a server's reply, a command's
 *    stderr, a plugin's own message);
 *  - newline, carriage return, tab and backslash become \n \r \t \\, every
 *    other C0 control, DEL and every byte >= 0x80 (C1 controls, UTF-8, stray
 *    binary) becomes \xNN, so one event is one line of printable ASCII that
 *    no terminal interprets, and the escapes are unambiguous.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <tower/plugin.h>

#include "log_internal.h"
#include "secrets.h"

#define LOG_BURST 5
#define LINE_MAX_BYTES 4096

static _Atomic int agent_level = TOWER_LOG_INFO;
static _Atomic int log_fd = STDERR_FILENO;
static _Atomic int64_t window_ns = 60LL * 1000000000LL;
static twi_log_limiter agent_limiter = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char level_tag[][3] = {"E!", "W!", "I!", "D!", "T!"};
static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void twi_log_set_level(tower_log_level level) {
  atomic_store(&agent_level, (int)level);
}
tower_log_level twi_log_level(void) {
  return (tower_log_level)atomic_load(&agent_level);
}
void twi_log_set_window(int64_t ns) {
  atomic_store(&window_ns, ns);
}

int twi_log_parse_level(const char *name) {
  for (int i = 0; name && i <= TOWER_LOG_TRACE; i++)
    if (strcasecmp(name, level_names[i]) == 0)
      return i;
  if (name && strcasecmp(name, "warning") == 0)
    return TOWER_LOG_WARN;
  return -1;
}

int twi_log_set_file(const char *path) {
  int fd = STDERR_FILENO;
  if (path && *path && strcmp(path, "stderr") != 0) {
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
      return -errno;
  }
  int old = atomic_exchange(&log_fd, fd);
  if (old != STDERR_FILENO)
    close(old);
  return 0;
}

void twi_log_limiter_init(twi_log_limiter *l) {
  memset(l, 0, sizeof *l);
  pthread_mutex_init(&l->lock, NULL);
}

void twi_log_limiter_destroy(twi_log_limiter *l) {
  pthread_mutex_destroy(&l->lock);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Decides whether a line with format `fmt` prints now. On yes, *reported is
 * set to the number of lines suppressed since the last one that printed. */
static int limiter_admit(twi_log_limiter *l, const char *fmt, uint32_t *reported) {
  int64_t now = mono_ns(), win = atomic_load(&window_ns);
  *reported = 0;
  pthread_mutex_lock(&l->lock);
  int idx = -1, oldest = 0;
  for (int i = 0; i < TWI_LOG_SLOTS; i++) {
    if (l->slot[i].fmt == fmt) {
      idx = i;
      break;
    }
    if (l->slot[i].window_start < l->slot[oldest].window_start)
      oldest = i;
  }
  if (idx < 0) { /* new format: take the slot unused the longest */
    idx = oldest;
    l->slot[idx].fmt = fmt;
    l->slot[idx].window_start = now;
    l->slot[idx].count = 0;
    l->slot[idx].suppressed = 0;
  }
  if (now - l->slot[idx].window_start >= win) {
    l->slot[idx].window_start = now;
    l->slot[idx].count = 0;
  }
  int admit = ++l->slot[idx].count <= LOG_BURST;
  if (admit) {
    *reported = l->slot[idx].suppressed;
    l->slot[idx].suppressed = 0;
  } else {
    l->slot[idx].suppressed++;
  }
  pthread_mutex_unlock(&l->lock);
  return admit;
}

int tower_log_enabled(const tower_ctx *ctx, tower_log_level level) {
  int lvl = ctx ? twi_log_src_of(ctx)->level : -1;
  if (lvl < 0)
    lvl = atomic_load(&agent_level);
  return (int)level <= lvl;
}

/* Appends msg[0..n) to line[*len..cap), escaped (see the top of the file);
 * each run of bytes marked in `mark` (may be NULL) becomes one "<redacted>".
 * Stops when the line is full. */
static void put_escaped(char *line, size_t *len, size_t cap, const char *msg, size_t n,
                        const unsigned char *mark) {
  static const char redacted[] = "<redacted>";
  for (size_t i = 0; i < n && *len + sizeof redacted < cap; i++) {
    unsigned char c = (unsigned char)msg[i];
    if (mark && mark[i]) {
      while (i + 1 < n && mark[i + 1])
        i++;
      memcpy(line + *len, redacted, sizeof redacted - 1);
      *len += sizeof redacted - 1;
    } else if (c == '\n' || c == '\r' || c == '\t' || c == '\\') {
      line[(*len)++] = '\\';
      line[(*len)++] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : '\\';
    } else if (c < 0x20 || c >= 0x7f) {
      static const char hex[] = "0123456789abcdef";
      memcpy(line + *len, "\\x", 2);
      line[*len + 2] = hex[c >> 4];
      line[*len + 3] = hex[c & 15];
      *len += 4;
    } else {
      line[(*len)++] = (char)c;
    }
  }
}

/* Formats, scrubs, escapes and writes one line. Returns false when the
 * level hides it or the repeat limiter (when `limited`) suppressed it. */
static bool vlog(const tower_ctx *ctx, tower_log_level level, bool limited, const char *fmt,
                 va_list ap) {
  if ((unsigned)level > TOWER_LOG_TRACE)
    level = TOWER_LOG_ERROR;
  if (!tower_log_enabled(ctx, level))
    return false;
  /* Only failures repeat by the thousand (a dead server, a broken script);
   * info and debug lines are rare or asked for, and never suppressed. */
  uint32_t suppressed = 0;
  twi_log_limiter *lim = ctx ? &twi_log_src_of(ctx)->limiter : &agent_limiter;
  if (limited && level <= TOWER_LOG_WARN && !limiter_admit(lim, fmt, &suppressed))
    return false;

  char msg[LINE_MAX_BYTES], line[LINE_MAX_BYTES + 512];
  unsigned char mark[LINE_MAX_BYTES];
  int r = vsnprintf(msg, sizeof msg, fmt, ap);
  /* By length, not NUL: a %c of 0 is a byte like any other. */
  size_t n = r < 0 ? 0 : (size_t)r < sizeof msg ? (size_t)r : sizeof msg - 1;
  bool cut = r >= 0 && (size_t)r >= sizeof msg;
  bool secret = twi_secrets_mark(msg, n, cut, mark);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t len = strftime(line, 32, "%Y-%m-%dT%H:%M:%SZ ", &tm);
  len += (size_t)snprintf(line + len, sizeof line - len, "%s ", level_tag[level]);
  const char *id = ctx ? twi_log_src_of(ctx)->id : NULL;
  if (id)
    len += (size_t)snprintf(line + len, sizeof line - len, "[%s] ", id);
  put_escaped(line, &len, sizeof line - 80, msg, n, secret ? mark : NULL);
  if (suppressed)
    len += (size_t)snprintf(line + len, sizeof line - len, " (%u similar message%s suppressed)",
                            suppressed, twi_s(suppressed));
  line[len++] = '\n';
  ssize_t w = write(atomic_load(&log_fd), line, len);
  (void)w; /* nowhere left to report a failing log */
  return true;
}

void tower_vlog(const tower_ctx *ctx, tower_log_level level, const char *fmt, va_list ap) {
  vlog(ctx, level, true, fmt, ap);
}

bool twi_log_written(const tower_ctx *ctx, tower_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  bool written = vlog(ctx, level, true, fmt, ap);
  va_end(ap);
  return written;
}

void twi_log_every(const tower_ctx *ctx, tower_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(ctx, level, false, fmt, ap);
  va_end(ap);
}

void tower_log(const tower_ctx *ctx, tower_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tower_vlog(ctx, level, fmt, ap);
  va_end(ap);
}
