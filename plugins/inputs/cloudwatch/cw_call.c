/* One CloudWatch operation: spaced by `ratelimit` (requests per second, as
 * Telegraf), retried with full-jitter backoff on throttling, 5xx and
 * transport errors while the gather's deadline allows, refused
 * credentials reported once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../common/plural.h"
#include "cloudwatch.h"

/* The AWS SDKs' standard retry mode starts at 50 ms; capped at 5 s. */
#define BACKOFF_BASE_NS (50 * NS_PER_MS)
#define BACKOFF_CAP_NS (5 * NS_PER_S)
#define MAX_ATTEMPTS 8

static void sleep_ns(int64_t ns) {
  if (ns <= 0)
    return;
  struct timespec ts = {ns / NS_PER_S, ns % NS_PER_S};
  nanosleep(&ts, NULL);
}

/* Waits for the rate limit's next slot. */
static void pace(cw_state *s) {
  if (s->ratelimit <= 0)
    return;
  int64_t now = tower_mono_ns();
  if (s->next_call_ns > now)
    sleep_ns(s->next_call_ns - now);
  now = tower_mono_ns();
  int64_t step = NS_PER_S / s->ratelimit;
  s->next_call_ns = (s->next_call_ns > now - step ? s->next_call_ns : now) + step;
}

static void report(cw_state *s, tower_acc *acc, const char *op, const aws_result *r,
                   unsigned attempts) {
  char hint[64];
  aws_key_hint(s->chain.creds.access_key, hint, sizeof hint);
  if (r->kind == AWS_AUTH) {
    if (!strcmp(r->type, "ExpiredTokenException") || !strcmp(r->type, "ExpiredToken"))
      aws_chain_expire(&s->chain);
    tower_acc_error(acc,
                    "CloudWatch at %s refused the credentials from %s (access key %s) for %s: "
                    "%s%s%s (HTTP %ld); check the keys, the role's policy and the clock",
                    s->http.redacted, s->chain.origin, hint, op, r->type, *r->type ? ": " : "",
                    r->message, r->status);
  } else if (r->status == 0) {
    tower_acc_error(acc, "CloudWatch %s at %s failed after %u attempt%s: %s", op, s->http.redacted,
                    attempts, plural_s(attempts), r->message);
  } else {
    tower_acc_error(acc, "CloudWatch %s at %s failed after %u attempt%s: %s%s%s (HTTP %ld)%s", op,
                    s->http.redacted, attempts, plural_s(attempts), r->type, *r->type ? ": " : "",
                    r->message, r->status,
                    !strcmp(r->type, "AccessDenied") || !strcmp(r->type, "AccessDeniedException")
                        ? "; allow cloudwatch:ListMetrics and cloudwatch:GetMetricData"
                        : "");
  }
}

bool cw_call(cw_state *s, tower_acc *acc, const char *op, json_t *req, int64_t deadline,
             json_t **out) {
  char target[96], err[1024];
  snprintf(target, sizeof target, CW_TARGET "%s", op);
  *out = NULL;
  if (aws_chain_get(&s->chain, err, sizeof err) != 0) {
    tower_acc_error(acc, "%s; nothing gathered", err);
    return false;
  }
  char *payload = json_dumps(req, JSON_COMPACT);
  if (!payload) {
    tower_acc_error(acc, "out of memory building a %s request", op);
    return false;
  }
  aws_result r;
  unsigned attempt = 0;
  for (;; attempt++) {
    pace(s);
    s->requests++;
    aws_post(&s->conn, target, payload, &s->chain.creds, deadline, &r);
    if (r.kind != AWS_RETRY || attempt + 1 >= MAX_ATTEMPTS)
      break;
    int64_t d = aws_backoff(BACKOFF_BASE_NS, BACKOFF_CAP_NS, attempt, aws_next_rand(&s->rng));
    if (tower_mono_ns() + d >= deadline || tower_ctx_stopping(s->ctx))
      break;
    tower_debug(s->ctx, "%s: %s%s%s (HTTP %ld); retry %u in %lld ms", op, r.type,
                *r.type ? ": " : "", r.message, r.status, attempt + 1, (long long)(d / NS_PER_MS));
    s->retries++;
    sleep_ns(d);
  }
  free(payload);
  if (r.kind != AWS_OK) {
    report(s, acc, op, &r, attempt + 1);
    return false;
  }
  *out = json_loadb(tower_buf_data(s->conn.body), tower_buf_len(s->conn.body), 0, NULL);
  if (!*out || !json_is_object(*out)) {
    json_decref(*out);
    *out = NULL;
    tower_acc_error(acc, "CloudWatch %s at %s answered something that is not a JSON object", op,
                    s->http.redacted);
    return false;
  }
  return true;
}
