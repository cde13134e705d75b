/* inputs.kafka_lag: committed offsets and log end offsets.
 *
 * Committed offsets: ListConsumerGroupOffsets takes one group per request
 * in librdkafka 2.0, so every group's request is put in flight at once on
 * one queue, with the DescribeConsumerGroups request beside them, and the
 * answers are taken as they come. A request names no partitions (the
 * broker returns every offset the group committed) unless `topics` holds
 * plain names: then it names the partitions of those topics, which is
 * less to transfer and the only form librdkafka 2.0's mock cluster
 * answers.
 *
 * Log end offsets: librdkafka 2.0 has no ListOffsets admin call (2.3 adds
 * it), and rd_kafka_query_watermark_offsets() costs one round trip per
 * partition. rd_kafka_offsets_for_times() with the special timestamp
 * RD_KAFKA_OFFSET_END (-1, "latest") sends one ListOffsets request per
 * leader broker for all the partitions and returns each one's end. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_lag.h"

/* ---- the partitions of the named topics --------------------------------- */

/* Adds the partitions of topic `name`; a topic that does not exist is
 * logged and skipped (it may be created later). */
static int topic_partitions(kl_state *s, tower_acc *acc, const char *name, int64_t deadline) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(s->rk, name, NULL);
  if (!rkt) {
    tower_acc_error(acc, "topic %s: %s", name, rd_kafka_err2str(rd_kafka_last_error()));
    return 0;
  }
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(s->rk, 0, rkt, &md, kl_ms_left(deadline));
  rd_kafka_topic_destroy(rkt);
  if (err) {
    tower_acc_error(acc, "cannot read the partitions of topic %s: %s", name, rd_kafka_err2str(err));
    return err == RD_KAFKA_RESP_ERR__TIMED_OUT ? -ETIMEDOUT : 0;
  }
  if (md->topic_cnt < 1 || md->topics[0].err)
    tower_warn(s->ctx, "topic %s: %s", name,
               rd_kafka_err2str(md->topic_cnt < 1 ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                                                  : md->topics[0].err));
  else
    for (int p = 0; p < md->topics[0].partition_cnt; p++)
      rd_kafka_topic_partition_list_add(s->wanted, name, md->topics[0].partitions[p].id);
  rd_kafka_metadata_destroy(md);
  return 0;
}

int kl_offsets_topics(kl_state *s, tower_acc *acc, int64_t deadline) {
  if (s->wanted)
    rd_kafka_topic_partition_list_destroy(s->wanted);
  size_t n = tower_config_strings_len(s->cfg, "topics");
  s->wanted = rd_kafka_topic_partition_list_new((int)n * 8);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = topic_partitions(s, acc, tower_config_strings_at(s->cfg, "topics", i), deadline);
  return rc;
}

/* ---- committed offsets -------------------------------------------------- */

static int add_entry(kl_state *s, uint32_t group, const rd_kafka_topic_partition_t *tp) {
  if (s->nentries == s->entries_cap) {
    size_t cap = s->entries_cap ? 2 * s->entries_cap : 256;
    kl_entry *e = realloc(s->entries, cap * sizeof *e);
    if (!e)
      return -ENOMEM;
    s->entries = e;
    s->entries_cap = cap;
  }
  s->entries[s->nentries++] = (kl_entry){.topic = tp->topic,
                                         .group = group,
                                         .partition = tp->partition,
                                         .committed = tp->offset,
                                         .end = -1,
                                         .first_ms = -1};
  return 0;
}

/* The partitions of one group's answer: those with a committed offset, in
 * the topics wanted. Returns how many were taken, or -ENOMEM. */
static long take_partitions(kl_state *s, tower_acc *acc, uint32_t group,
                            const rd_kafka_topic_partition_list_t *parts) {
  long taken = 0, failed = 0;
  const rd_kafka_topic_partition_t *first_failed = NULL;
  for (int i = 0; parts && i < parts->cnt; i++) {
    const rd_kafka_topic_partition_t *tp = &parts->elems[i];
    if (tp->err) {
      first_failed = first_failed ? first_failed : tp;
      failed++;
      continue;
    }
    if (tp->offset < 0 || (s->topic_globs && !tower_globs_match(s->topic_globs, tp->topic)))
      continue; /* never committed there, or a topic not asked for */
    if (add_entry(s, group, tp))
      return -ENOMEM;
    taken++;
  }
  if (failed)
    tower_acc_error(acc, "consumer group %s: no committed offset for %ld partition%s (%s[%d]: %s)",
                    s->groups[group].name, failed, failed == 1 ? "" : "s", first_failed->topic,
                    (int)first_failed->partition, rd_kafka_err2str(first_failed->err));
  return taken;
}

/* One ListConsumerGroupOffsets answer; the event is kept to the end of the
 * gather (entries point into it). */
static int take_offsets(kl_state *s, tower_acc *acc, rd_kafka_event_t *ev) {
  uint32_t group = (uint32_t)(uintptr_t)rd_kafka_event_opaque(ev);
  const char *name = s->groups[group].name;
  const rd_kafka_ListConsumerGroupOffsets_result_t *res =
      rd_kafka_event_ListConsumerGroupOffsets_result(ev);
  size_t n = 0;
  const rd_kafka_group_result_t **results =
      res && !rd_kafka_event_error(ev) ? rd_kafka_ListConsumerGroupOffsets_result_groups(res, &n)
                                       : NULL;
  if (rd_kafka_event_error(ev))
    tower_acc_error(acc, "cannot read the committed offsets of consumer group %s: %s", name,
                    rd_kafka_event_error_string(ev));
  long taken = 0;
  for (size_t i = 0; i < n && taken >= 0; i++) {
    const rd_kafka_error_t *e = rd_kafka_group_result_error(results[i]);
    if (e)
      tower_acc_error(acc, "cannot read the committed offsets of consumer group %s: %s", name,
                      rd_kafka_error_string(e));
    else
      taken = take_partitions(s, acc, group, rd_kafka_group_result_partitions(results[i]));
  }
  int rc = kl_keep_event(s, ev);
  return taken < 0 ? -ENOMEM : rc;
}

/* Puts one request per group on `q`; returns how many. */
static size_t ask_offsets(kl_state *s, rd_kafka_queue_t *q, rd_kafka_AdminOptions_t *o) {
  const rd_kafka_topic_partition_list_t *parts = s->topics_named ? s->wanted : NULL;
  size_t asked = 0;
  for (size_t i = 0; i < s->ngroups; i++) {
    rd_kafka_ListConsumerGroupOffsets_t *req =
        rd_kafka_ListConsumerGroupOffsets_new(s->groups[i].name, parts);
    if (!req)
      break;
    /* the opaque (copied with the options) says whose answer it is */
    rd_kafka_AdminOptions_set_opaque(o, (void *)(uintptr_t)i);
    rd_kafka_ListConsumerGroupOffsets(s->rk, &req, 1, o, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    asked++;
  }
  return asked;
}

static int collect(kl_state *s, tower_acc *acc, rd_kafka_queue_t *q, size_t *pending,
                   int64_t deadline) {
  while (*pending && tower_mono_ns() < deadline && !tower_ctx_stopping(s->ctx)) {
    int wait = kl_ms_left(deadline);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, wait < 100 ? wait : 100);
    if (!ev)
      continue;
    (*pending)--;
    if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT) {
      kl_groups_described(s, acc, ev); /* keeps no pointer into it */
      rd_kafka_event_destroy(ev);
    } else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT) {
      if (take_offsets(s, acc, ev))
        return -ENOMEM;
    } else {
      rd_kafka_event_destroy(ev);
      (*pending)++; /* not an answer of ours */
    }
  }
  return 0;
}

int kl_offsets_committed(kl_state *s, tower_acc *acc, int64_t deadline) {
  if (s->topics_named && s->wanted->cnt == 0)
    return 0; /* none of the named topics exists: nothing to ask */
  rd_kafka_queue_t *q = rd_kafka_queue_new(s->rk);
  rd_kafka_AdminOptions_t *o =
      kl_admin_options(s, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, deadline);
  if (!q || !o) {
    if (q)
      rd_kafka_queue_destroy(q);
    return -ENOMEM;
  }
  size_t pending = kl_groups_describe(s, q, deadline);
  size_t asked = ask_offsets(s, q, o);
  pending += asked;
  rd_kafka_AdminOptions_destroy(o);
  int rc = collect(s, acc, q, &pending, deadline);
  rd_kafka_queue_destroy(q);
  if (rc == 0 && pending)
    tower_acc_error(acc,
                    "%zu of %zu answer%s about the consumer groups did not come within the "
                    "timeout (%lld ms)",
                    pending, asked + (s->group_api == KL_GROUP_API_YES ? 1 : 0),
                    pending == 1 ? "" : "s", (long long)(s->timeout_ns / 1000000));
  return rc;
}

/* ---- log end offsets ---------------------------------------------------- */

/* By topic, partition, then committed offset (kl_time.c reads a
 * partition's groups in offset order). */
static int by_partition(const void *a, const void *b) {
  const kl_entry *x = a, *y = b;
  int c = strcmp(x->topic, y->topic);
  if (c)
    return c;
  if (x->partition != y->partition)
    return x->partition < y->partition ? -1 : 1;
  return (x->committed > y->committed) - (x->committed < y->committed);
}

static bool same_partition(const kl_entry *a, const kl_entry *b) {
  return a->partition == b->partition && strcmp(a->topic, b->topic) == 0;
}

/* Each partition once, in the order of the sorted entries. */
static rd_kafka_topic_partition_list_t *unique_partitions(const kl_state *s) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(64);
  for (size_t i = 0; l && i < s->nentries; i++)
    if (i == 0 || !same_partition(&s->entries[i - 1], &s->entries[i]))
      rd_kafka_topic_partition_list_add(l, s->entries[i].topic, s->entries[i].partition)->offset =
          RD_KAFKA_OFFSET_END;
  return l;
}

/* Copies each partition's end into its entries; reports those without. */
static void take_ends(kl_state *s, tower_acc *acc, const rd_kafka_topic_partition_list_t *l) {
  int j = -1, failed = 0;
  const rd_kafka_topic_partition_t *first_failed = NULL;
  for (size_t i = 0; i < s->nentries; i++) {
    if (i == 0 || !same_partition(&s->entries[i - 1], &s->entries[i])) {
      const rd_kafka_topic_partition_t *tp = &l->elems[++j];
      if (tp->err || tp->offset < 0) {
        first_failed = first_failed ? first_failed : tp;
        failed++;
      }
    }
    const rd_kafka_topic_partition_t *tp = &l->elems[j];
    s->entries[i].end = tp->err || tp->offset < 0 ? -1 : tp->offset;
  }
  if (failed)
    tower_acc_error(acc, "no log end offset for %d partition%s (%s[%d]: %s): their lag is left out",
                    failed, failed == 1 ? "" : "s", first_failed->topic,
                    (int)first_failed->partition,
                    first_failed->err ? rd_kafka_err2str(first_failed->err) : "no offset");
}

int kl_offsets_end(kl_state *s, tower_acc *acc, int64_t deadline) {
  qsort(s->entries, s->nentries, sizeof *s->entries, by_partition);
  rd_kafka_topic_partition_list_t *l = unique_partitions(s);
  if (!l)
    return -ENOMEM;
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(s->rk, l, kl_ms_left(deadline));
  if (err)
    tower_acc_error(acc, "cannot read the log end offsets of %d partition%s: %s", l->cnt,
                    l->cnt == 1 ? "" : "s", rd_kafka_err2str(err));
  else
    take_ends(s, acc, l);
  rd_kafka_topic_partition_list_destroy(l);
  return 0;
}
