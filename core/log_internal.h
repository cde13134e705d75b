/* Logging internals: agent-wide settings and the per-instance state the
 * logger keeps (level override, repeat limiter). */
#ifndef TOWER_LOG_INTERNAL_H
#define TOWER_LOG_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <tower/log.h>

/* Repeat limiter: per message format, the first LOG_BURST lines of a window
 * print, later ones are counted and the count is reported on the next line
 * that prints. */
#define TWI_LOG_SLOTS 8
typedef struct twi_log_limiter {
  pthread_mutex_t lock;
  struct {
    const char *fmt;
    int64_t window_start;
    uint32_t count;
    uint32_t suppressed;
  } slot[TWI_LOG_SLOTS];
} twi_log_limiter;

void twi_log_limiter_init(twi_log_limiter *l);
void twi_log_limiter_destroy(twi_log_limiter *l);

/* Agent-wide level (default info) and destination (default stderr). */
void twi_log_set_level(tower_log_level level);
tower_log_level twi_log_level(void);
/* Parses error|warn|info|debug|trace; -1 when unknown. */
int twi_log_parse_level(const char *name);
/* Sends log lines to `path` (appending), or to stderr for NULL/"" or
 * "stderr". 0 or -errno. */
int twi_log_set_file(const char *path);
/* Length of a repeat window in ns (tests shorten it). */
void twi_log_set_window(int64_t ns);

/* tower_log that tells whether the line was written: false when the level
 * hides it or the repeat limiter suppressed it. A caller that reports a
 * count ("N metrics dropped") keeps counting until a line is written, so
 * the counts in the log add up to the real one. */
bool twi_log_written(const tower_ctx *ctx, tower_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* tower_log without the repeat limiter, for lines that each say something
 * different through one format: the errors of a configuration are all
 * reported, however many. */
void twi_log_every(const tower_ctx *ctx, tower_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* What the logger needs of a plugin instance. struct tower_ctx begins with
 * one (core/pipeline.h), so the logger reads it without depending on the
 * instance module above it. */
typedef struct twi_log_src {
  const char *id; /* "inputs.cpu:alias"; NULL until the instance has one */
  int level;      /* -1: the agent's */
  twi_log_limiter limiter;
} twi_log_src;

static inline twi_log_src *twi_log_src_of(const tower_ctx *ctx) {
  return (twi_log_src *)(void *)ctx;
}

/* "s" unless n is 1: "%zu metric%s", n, twi_s(n). */
static inline const char *twi_s(unsigned long long n) {
  return n == 1 ? "" : "s";
}

#endif
