/* tower SDK: logging.
 *
 * Lines look like
 *   2026-11-21T05:36:00Z E! [outputs.influxdb:main] write to http://db:8086 failed: ...
 * with the UTC time, the level (E! W! I! D! T!) and the plugin instance
 * (kind.name, then :alias when one is set). The core adds the prefix; the
 * message says what failed, where, and what to do.
 *
 * Errors and warnings are rate-limited per instance and message format: a
 * burst of 5 per minute prints, later ones are counted and the count is
 * appended to the next line that prints.
 *
 * One event is one line of printable ASCII. In the message, newline,
 * carriage return, tab and backslash are written \n \r \t \\; every other
 * byte below 0x20, 0x7f and every byte from 0x80 up (C1 controls, UTF-8 text,
 * binary) is written \xNN (two lowercase hex digits). So text relayed from a
 * server or a command can be passed as is: it cannot forge a line or drive a
 * terminal.
 *
 * The values of options flagged TOWER_OPT_SECRET (after ${VAR}
 * substitution, 4 bytes and longer) are replaced by "<redacted>" wherever
 * they occur in a message, while the instance that configured them lives:
 * raw, percent-encoded, or base64 at any alignment (as inside an echoed
 * "Authorization: Basic ..." header). This is a safety net, not a licence:
 * never log credentials on purpose, and use tower_redact_url() for URLs (it
 * also hides credentials that are not configured options).
 *
 * All functions are thread-safe.
 */
#ifndef TOWER_LOG_H
#define TOWER_LOG_H

#include <tower/types.h>
#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tower_log_level {
  TOWER_LOG_ERROR = 0,
  TOWER_LOG_WARN = 1,
  TOWER_LOG_INFO = 2,
  TOWER_LOG_DEBUG = 3,
  TOWER_LOG_TRACE = 4,
} tower_log_level;

/* Logs for plugin instance `ctx` (NULL: the agent itself). The message is
 * formatted and written during the call; nothing is kept. */
void tower_log(const tower_ctx *ctx, tower_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tower_vlog(const tower_ctx *ctx, tower_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* True when a message at `level` would be printed for `ctx`; lets a plugin
 * skip building expensive debug output. */
int tower_log_enabled(const tower_ctx *ctx, tower_log_level level);

#define tower_error(ctx, ...) tower_log((ctx), TOWER_LOG_ERROR, __VA_ARGS__)
#define tower_warn(ctx, ...) tower_log((ctx), TOWER_LOG_WARN, __VA_ARGS__)
#define tower_info(ctx, ...) tower_log((ctx), TOWER_LOG_INFO, __VA_ARGS__)
#define tower_debug(ctx, ...) tower_log((ctx), TOWER_LOG_DEBUG, __VA_ARGS__)
#define tower_trace(ctx, ...) tower_log((ctx), TOWER_LOG_TRACE, __VA_ARGS__)

/* Copies `url` into `out` (size `out_size`, always NUL-terminated, truncated
 * if needed) with the password of a user:password@ part and the values of
 * query parameters that look like credentials (password, p, token, secret,
 * key, sig...) replaced by "xxxxx"; the user name stays, to tell accounts
 * apart. Returns `out`, which stays the caller's; `url` is only read. */
char *tower_redact_url(const char *url, char *out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif
