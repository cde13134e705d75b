/* outputs.health internals, shared by health.c (options, the metric checks
 * of Telegraf's compares and contains), health_agent.c (the checks on the
 * agent's own state) and health_http.c (the endpoints). See README.md. */
#ifndef TOWER_OUTPUTS_HEALTH_H
#define TOWER_OUTPUTS_HEALTH_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/tower.h>

#include "httpd.h"

/* Telegraf's [[outputs.health.compares]]: every metric that has `field`
 * must satisfy each bound that is set. */
enum { CMP_GT, CMP_GE, CMP_LT, CMP_LE, CMP_EQ, CMP_NE, CMP_COUNT };
typedef struct health_compare {
  const char *field;
  double bound[CMP_COUNT];
  bool has[CMP_COUNT];
} health_compare;

typedef struct health_limits {
  int64_t max_write_age;      /* ns; 0: no check */
  double max_buffer_fill;     /* fraction of metric_buffer_limit; 0: no check */
  int64_t max_failed_gathers; /* in a row; 0: no check */
  int64_t max_failed_writes;  /* in a row; 0: no check */
} health_limits;

typedef struct health_state {
  tower_ctx *ctx;
  health_limits limits;
  health_compare *compares;
  size_t ncompares;
  const char **contains; /* fields; borrowed from the config */
  size_t ncontains;

  /* The verdict of the compares and contains on the last batch written:
   * NULL when it passed (or none came yet), else a JSON array of failures.
   * Written by write, read by the HTTP threads. */
  pthread_mutex_t lock;
  json_t *metric_failures;

  httpd_cfg http;
  httpd *server;
} health_state;

/* ---- the agent's own state (health_agent.c) ---- */

/* Runs the checks (liveness) or the readiness test on the agent's state and
 * returns the response body, {"status":"pass"|"fail", ...}; *ok tells
 * which. NULL when out of memory. */
json_t *health_agent_report(health_state *s, bool ready, bool *ok);

/* ---- the metric checks (health.c) ---- */

/* A copy of the failures of the last batch (an empty array when none). */
json_t *health_metric_failures(health_state *s);

/* ---- HTTP (health_http.c) ---- */

int health_http_start(health_state *s);
void health_http_stop(health_state *s);

#endif
