/* inputs.kafka_lag: which consumer groups a gather measures, and their
 * state and member count.
 *
 * Names without glob characters are used as they are, so that no listing
 * is needed (and groups show even when the principal may describe them but
 * not list the cluster's groups). Otherwise ListConsumerGroups asks every
 * broker, and the globs pick.
 *
 * librdkafka 2.0.2's admin API does not survive brokers that lack the
 * group APIs: after a DescribeConsumerGroups that failed as unsupported,
 * every later admin request of the client waits forever, and so does
 * rd_kafka_destroy(). So before the first admin request about groups, the
 * legacy rd_kafka_list_groups() (which fails cleanly) asks once whether
 * the brokers answer DescribeGroups. Brokers that do not (librdkafka's
 * mock cluster, which answers neither ListGroups nor DescribeGroups) are
 * never sent them: groups must be named, and the state and members fields
 * are missing (said once in the log). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_lag.h"

static int add_group(kl_state *s, const char *name, const char *state) {
  if (s->ngroups == s->groups_cap) {
    size_t cap = s->groups_cap ? 2 * s->groups_cap : 16;
    kl_group *g = realloc(s->groups, cap * sizeof *g);
    if (!g)
      return -ENOMEM;
    s->groups = g;
    s->groups_cap = cap;
  }
  s->groups[s->ngroups++] = (kl_group){.name = name, .state = state, .members = -1};
  return 0;
}

static const char *state_name(rd_kafka_consumer_group_state_t st) {
  return st == RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN ? NULL
                                                     : rd_kafka_consumer_group_state_name(st);
}

/* One error of the listing (a broker that did not answer...). */
static void list_error(tower_acc *acc, const rd_kafka_error_t *e) {
  bool unsupported = rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE;
  tower_acc_error(acc, "cannot list the consumer groups: %s%s", rd_kafka_error_string(e),
                  unsupported ? " (the brokers do not answer ListGroups); name the groups in "
                                "consumer_groups, without glob characters"
                              : "");
}

/* The groups of a ListConsumerGroups result that match consumer_groups. */
static int take_listing(kl_state *s, tower_acc *acc, rd_kafka_event_t *ev) {
  const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
  size_t n = 0, nerr = 0;
  const rd_kafka_ConsumerGroupListing_t **valid =
      res ? rd_kafka_ListConsumerGroups_result_valid(res, &n) : NULL;
  const rd_kafka_error_t **errors =
      res ? rd_kafka_ListConsumerGroups_result_errors(res, &nerr) : NULL;
  for (size_t i = 0; i < nerr; i++)
    list_error(acc, errors[i]);
  for (size_t i = 0; i < n; i++) {
    const char *name = rd_kafka_ConsumerGroupListing_group_id(valid[i]);
    if (s->group_globs && !tower_globs_match(s->group_globs, name))
      continue;
    if (add_group(s, name, state_name(rd_kafka_ConsumerGroupListing_state(valid[i]))))
      return -ENOMEM;
  }
  /* errors alone: nothing to measure (each was reported and counted) */
  return n == 0 && nerr > 0 ? -EIO : 0;
}

static int list_groups(kl_state *s, tower_acc *acc, int64_t deadline) {
  rd_kafka_queue_t *q = rd_kafka_queue_new(s->rk);
  rd_kafka_AdminOptions_t *o = kl_admin_options(s, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, deadline);
  if (!q || !o) {
    if (q)
      rd_kafka_queue_destroy(q);
    return -ENOMEM;
  }
  rd_kafka_ListConsumerGroups(s->rk, o, q);
  rd_kafka_AdminOptions_destroy(o);
  rd_kafka_event_t *ev = kl_admin_wait(s, acc, q, deadline, "listing the consumer groups");
  rd_kafka_queue_destroy(q);
  if (!ev)
    return -ETIMEDOUT;
  if (kl_keep_event(s, ev))
    return -ENOMEM;
  if (rd_kafka_event_error(ev)) {
    tower_acc_error(acc, "cannot list the consumer groups: %s", rd_kafka_event_error_string(ev));
    return -EIO;
  }
  return take_listing(s, acc, ev);
}

/* Asks whether the brokers answer DescribeGroups (for the first named
 * group, or for every group when none is named). Left unknown when they do
 * not answer at all: asked again at the next gather. */
static void probe_group_api(kl_state *s, int64_t deadline) {
  /* the legacy call's answer for a group it cannot find is an empty list,
   * not an error; any answer says the API is there */
  const char *group =
      s->groups_named ? tower_config_strings_at(s->cfg, "consumer_groups", 0) : NULL;
  const struct rd_kafka_group_list *list = NULL;
  /* at most half the gather's time: the offsets are what matters */
  rd_kafka_resp_err_t err = rd_kafka_list_groups(s->rk, group, &list, kl_ms_left(deadline) / 2 + 1);
  if (list)
    rd_kafka_group_list_destroy(list);
  if (err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE) {
    s->group_api = KL_GROUP_API_NO;
    tower_warn(s->ctx,
               "the brokers do not describe consumer groups (%s): the state and members fields "
               "are left out until the input is loaded again",
               rd_kafka_err2str(err));
  } else if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    s->group_api = KL_GROUP_API_YES;
  } else { /* even a partial answer may hide a broker that lacks the API */
    tower_debug(s->ctx, "asking whether the brokers describe consumer groups: %s",
                rd_kafka_err2str(err));
  }
}

int kl_groups_find(kl_state *s, tower_acc *acc, int64_t deadline) {
  if (s->group_api == KL_GROUP_API_UNKNOWN)
    probe_group_api(s, deadline);
  if (!s->groups_named && s->group_api == KL_GROUP_API_NO) {
    tower_acc_error(acc, "cannot list the consumer groups: the brokers do not answer ListGroups; "
                         "name the groups in consumer_groups, without glob characters");
    return -EIO;
  }
  if (!s->groups_named && s->group_api == KL_GROUP_API_UNKNOWN) {
    tower_acc_error(acc,
                    "cannot list the consumer groups: no answer from the brokers within "
                    "the timeout (%lld ms)",
                    (long long)(s->timeout_ns / 1000000));
    return -ETIMEDOUT;
  }
  if (!s->groups_named)
    return list_groups(s, acc, deadline);
  for (size_t i = 0; i < tower_config_strings_len(s->cfg, "consumer_groups"); i++)
    if (add_group(s, tower_config_strings_at(s->cfg, "consumer_groups", i), NULL))
      return -ENOMEM;
  return 0;
}

size_t kl_groups_describe(kl_state *s, rd_kafka_queue_t *q, int64_t deadline) {
  if (s->group_api != KL_GROUP_API_YES || s->ngroups == 0)
    return 0;
  const char **names = malloc(s->ngroups * sizeof *names);
  rd_kafka_AdminOptions_t *o =
      names ? kl_admin_options(s, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, deadline) : NULL;
  if (!o) {
    free(names);
    return 0;
  }
  for (size_t i = 0; i < s->ngroups; i++)
    names[i] = s->groups[i].name;
  rd_kafka_DescribeConsumerGroups(s->rk, names, s->ngroups, o, q);
  rd_kafka_AdminOptions_destroy(o);
  free(names);
  return 1;
}

/* The group named `name`: at `hint` when the answers come in the order
 * asked (they do in librdkafka 2.0), else searched. */
static kl_group *group_named(kl_state *s, size_t hint, const char *name) {
  if (hint < s->ngroups && strcmp(s->groups[hint].name, name) == 0)
    return &s->groups[hint];
  for (size_t i = 0; i < s->ngroups; i++)
    if (strcmp(s->groups[i].name, name) == 0)
      return &s->groups[i];
  return NULL;
}

/* One group's description. */
static void take_description(kl_state *s, tower_acc *acc, size_t i,
                             const rd_kafka_ConsumerGroupDescription_t *d) {
  const char *name = rd_kafka_ConsumerGroupDescription_group_id(d);
  const rd_kafka_error_t *e = rd_kafka_ConsumerGroupDescription_error(d);
  if (e) {
    tower_acc_error(acc, "cannot describe consumer group %s: %s", name, rd_kafka_error_string(e));
    return;
  }
  kl_group *g = group_named(s, i, name);
  if (g) {
    g->state = state_name(rd_kafka_ConsumerGroupDescription_state(d));
    g->members = (int64_t)rd_kafka_ConsumerGroupDescription_member_count(d);
  }
}

void kl_groups_described(kl_state *s, tower_acc *acc, rd_kafka_event_t *ev) {
  if (rd_kafka_event_error(ev)) {
    tower_acc_error(acc, "cannot describe the consumer groups: %s",
                    rd_kafka_event_error_string(ev));
    return;
  }
  const rd_kafka_DescribeConsumerGroups_result_t *res =
      rd_kafka_event_DescribeConsumerGroups_result(ev);
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t **d =
      res ? rd_kafka_DescribeConsumerGroups_result_groups(res, &n) : NULL;
  for (size_t i = 0; i < n; i++)
    take_description(s, acc, i, d[i]);
}
