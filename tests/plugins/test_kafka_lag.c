/* inputs.kafka_lag through the real core, against librdkafka's mock cluster
 * (a real Kafka protocol peer: produce, fetch, group offsets) created in
 * this process. Messages are produced with a librdkafka producer at known
 * partitions and timestamps; a group consumes a known number of them with
 * a librdkafka consumer and commits; the input gathers once (th_gather)
 * into the record output, whose line protocol is read back. The expected
 * lag is what the test produced minus what it consumed, and the committed
 * offsets are checked against the consumer API's own view
 * (rd_kafka_committed).
 *
 * librdkafka 2.0's mock cluster does not answer ListGroups nor
 * DescribeGroups, so groups are named here, and the state and members
 * fields cannot be checked (the test checks the warning that says so).
 * It answers OffsetFetch only for named partitions, so `topics` is set.
 * The daemon and kcat are in tests/integration/kafka_lag.sh. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "log_internal.h"

static char *dir, *logpath;
static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;
static const char *bootstraps;

static void setup(void) {
  dir = th_tmpdir();
  logpath = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  twi_log_set_level(TOWER_LOG_INFO);
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
  mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ck_assert_msg(mock_rk != NULL, "%s", err);
  mock = rd_kafka_mock_cluster_new(mock_rk, 2);
  ck_assert_ptr_nonnull(mock);
  ck_assert_int_eq(rd_kafka_mock_topic_create(mock, "t", 3, 2), 0);
  ck_assert_int_eq(rd_kafka_mock_topic_create(mock, "u", 2, 2), 0);
  bootstraps = rd_kafka_mock_cluster_bootstraps(mock);
}

static void teardown(void) {
  rd_kafka_mock_cluster_destroy(mock);
  rd_kafka_destroy(mock_rk);
  twi_log_set_file(NULL);
  th_rmrf(dir);
  free(dir);
  free(logpath);
}

/* ---- the peer side: produce, consume in a group ------------------------- */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rd_kafka_conf_t *client_conf(const char *group) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
  if (group) {
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
  }
  return conf;
}

/* `n` messages into topic[partition], the i-th of them (counting from
 * `first`) with the timestamp base_ms + i * 1000. */
static void produce(const char *topic, int partition, int first, int n, int64_t base_ms) {
  char err[512];
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, client_conf(NULL), err, sizeof err);
  ck_assert_msg(p != NULL, "%s", err);
  for (int i = first; i < first + n; i++)
    ck_assert_int_eq(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                       RD_KAFKA_V_VALUE("m", 1),
                                       RD_KAFKA_V_TIMESTAMP(base_ms + (int64_t)i * 1000),
                                       RD_KAFKA_V_END),
                     0);
  ck_assert_int_eq(rd_kafka_flush(p, 10000), 0);
  rd_kafka_destroy(p);
}

/* Group `group` consumes `n` more messages of topic[partition] (from its
 * committed offset) and commits. */
static void consume(const char *group, const char *topic, int partition, int n) {
  char err[512];
  rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, client_conf(group), err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition)->offset = RD_KAFKA_OFFSET_STORED;
  ck_assert_int_eq(rd_kafka_assign(c, l), 0);
  rd_kafka_topic_partition_list_destroy(l);
  time_t end = time(NULL) + 30;
  for (int got = 0; got < n;) {
    ck_assert_msg(time(NULL) < end, "consumed only %d of %d messages", got, n);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
    if (!m)
      continue;
    ck_assert_msg(!m->err, "%s", rd_kafka_message_errstr(m));
    got++;
    rd_kafka_message_destroy(m);
  }
  ck_assert_int_eq(rd_kafka_commit(c, NULL, 0), 0);
  rd_kafka_destroy(c);
}

/* The group's committed offset on topic[partition], as the consumer API
 * sees it. */
static int64_t committed(const char *group, const char *topic, int partition) {
  char err[512];
  rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, client_conf(group), err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition);
  ck_assert_int_eq(rd_kafka_committed(c, l, 10000), 0);
  int64_t off = l->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy(c);
  return off;
}

/* ---- the input side ----------------------------------------------------- */

static twi_pipeline *build(const char *extra) {
  char *text = th_fmt("agent = { omit_hostname = true; };\n"
                      "inputs = ( { plugin = \"kafka_lag\"; brokers = [\"%s\"]; %s } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; "
                      "metric_buffer_limit = 100000; } );\n",
                      bootstraps, extra, dir);
  twi_pipeline *pl = th_start(text, TWI_ONCE);
  free(text);
  return pl;
}

typedef struct {
  tower_metric **m;
  size_t n;
  int errors;
} gathered;

/* One gather, its metrics read back from the record output. */
static gathered gather(twi_pipeline *pl) {
  char *path = th_fmt("%s/out.lp", dir);
  unlink(path);
  gathered g = {.errors = th_gather(pl)};
  ck_assert_uint_eq(th_flush(pl), 0);
  char *text = th_read_file(path);
  g.n = text ? th_parse(text, &g.m) : 0;
  free(text);
  free(path);
  return g;
}

static void gathered_free(gathered *g) {
  th_free_metrics(g->m, g->n);
}

/* The metric with exactly these tags (partition NULL: the topic's; topic
 * NULL: the group's), or NULL. */
static const tower_metric *find(const gathered *g, const char *group, const char *topic,
                                const char *partition) {
  for (size_t i = 0; i < g->n; i++) {
    const tower_metric *m = g->m[i];
    const char *gt = tower_metric_tag(m, "group"), *tt = tower_metric_tag(m, "topic"),
               *pt = tower_metric_tag(m, "partition");
    if (strcmp(tower_metric_name(m), "kafka_lag") == 0 && gt && strcmp(gt, group) == 0 &&
        (topic ? tt && strcmp(tt, topic) == 0 : !tt) &&
        (partition ? pt && strcmp(pt, partition) == 0 : !pt))
      return m;
  }
  return NULL;
}

static int64_t int_field(const tower_metric *m, const char *key) {
  ck_assert_ptr_nonnull(m);
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "no field %s", key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_INT);
  return tower_metric_field_int(m, (size_t)i);
}

static double float_field(const tower_metric *m, const char *key) {
  ck_assert_ptr_nonnull(m);
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "no field %s", key);
  return tower_metric_field_float(m, (size_t)i);
}

/* The partition metric says: committed, end, and lag = end - committed. */
static void assert_partition(const gathered *g, const char *group, const char *topic, int p,
                             int64_t want_committed, int64_t want_end) {
  char ps[16];
  snprintf(ps, sizeof ps, "%d", p);
  const tower_metric *m = find(g, group, topic, ps);
  ck_assert_msg(m != NULL, "no metric for %s %s[%d]", group, topic, p);
  ck_assert_int_eq(int_field(m, "committed_offset"), want_committed);
  ck_assert_int_eq(int_field(m, "log_end_offset"), want_end);
  ck_assert_int_eq(int_field(m, "lag"), want_end - want_committed);
  /* and the consumer API agrees on what was committed */
  ck_assert_int_eq(committed(group, topic, p), want_committed);
}

static void assert_topic(const gathered *g, const char *group, const char *topic, int64_t total,
                         int64_t max, int64_t partitions) {
  const tower_metric *m = find(g, group, topic, NULL);
  ck_assert_msg(m != NULL, "no topic metric for %s %s", group, topic);
  ck_assert_int_eq(int_field(m, "lag_total"), total);
  ck_assert_int_eq(int_field(m, "lag_max"), max);
  ck_assert_int_eq(int_field(m, "partitions"), partitions);
}

static char *log_text(void) {
  char *t = th_read_file(logpath);
  return t ? t : strdup("");
}

/* A gather without errors; the log says why otherwise. */
static void assert_no_errors(const gathered *g) {
  if (g->errors == 0)
    return;
  char *log = log_text();
  ck_abort_msg("%d gather error(s):\n%s", g->errors, log);
}

static size_t count(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

/* Builds a pipeline that must be rejected; returns the diagnostics. */
static char *rejected(const char *extra) {
  char *text = th_fmt("inputs = ( { plugin = \"kafka_lag\"; brokers = [\"%s\"]; %s } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                      bootstraps, extra);
  char *errors = NULL;
  twi_pipeline *pl = th_build(text, TWI_ONCE, &errors);
  if (pl && twi_pipeline_init(pl) == 0) {
    th_free(pl);
    ck_abort_msg("accepted: %s", extra);
  }
  if (pl)
    th_free(pl);
  free(text);
  char *log = log_text();
  char *all = th_fmt("%s%s", errors ? errors : "", log);
  free(errors);
  free(log);
  return all;
}

/* ---- tests -------------------------------------------------------------- */

/* The lag per partition is what was produced minus what the group
 * committed, and follows as the group consumes more and producers write
 * more. */
START_TEST(lag_follows_consumption) {
  int64_t base = now_ms();
  produce("t", 0, 0, 10, base);
  produce("t", 1, 0, 20, base);
  produce("t", 2, 0, 30, base);
  consume("g1", "t", 0, 4);
  consume("g1", "t", 1, 15);
  consume("g1", "t", 2, 30);
  twi_pipeline *pl = build("consumer_groups = [\"g1\"]; topics = [\"t\"];");

  gathered g = gather(pl);
  assert_no_errors(&g);
  assert_partition(&g, "g1", "t", 0, 4, 10);
  assert_partition(&g, "g1", "t", 1, 15, 20);
  assert_partition(&g, "g1", "t", 2, 30, 30);
  assert_topic(&g, "g1", "t", 11, 6, 3);
  ck_assert_uint_eq(g.n, 4); /* 3 partitions + the topic; no state from the mock */
  gathered_free(&g);

  consume("g1", "t", 0, 6);
  consume("g1", "t", 1, 2);
  produce("t", 2, 30, 5, base);
  g = gather(pl);
  assert_no_errors(&g);
  assert_partition(&g, "g1", "t", 0, 10, 10);
  assert_partition(&g, "g1", "t", 1, 17, 20);
  assert_partition(&g, "g1", "t", 2, 30, 35);
  assert_topic(&g, "g1", "t", 8, 5, 3);
  gathered_free(&g);
  th_free(pl);
}
END_TEST

/* Several groups, and only the topics asked for; a group that never
 * committed has no metrics (and is no error). */
START_TEST(groups_and_topics_are_selected) {
  int64_t base = now_ms();
  produce("t", 0, 0, 8, base);
  produce("u", 1, 0, 9, base);
  consume("ga", "t", 0, 3);
  consume("gb", "t", 0, 8);
  consume("gb", "u", 1, 2);
  twi_pipeline *pl = build("consumer_groups = [\"ga\", \"gb\", \"never\"]; topics = [\"t\"];");
  gathered g = gather(pl);
  assert_no_errors(&g);
  assert_partition(&g, "ga", "t", 0, 3, 8);
  assert_partition(&g, "gb", "t", 0, 8, 8);
  assert_topic(&g, "ga", "t", 5, 5, 1);
  assert_topic(&g, "gb", "t", 0, 0, 1);
  ck_assert_ptr_null(find(&g, "gb", "u", NULL));
  ck_assert_uint_eq(g.n, 4);
  gathered_free(&g);
  th_free(pl);

  /* both topics: gb's lag on u shows */
  pl = build("consumer_groups = [\"gb\"]; topics = [\"t\", \"u\"];");
  g = gather(pl);
  assert_no_errors(&g);
  assert_partition(&g, "gb", "u", 1, 2, 9);
  assert_topic(&g, "gb", "u", 7, 7, 1);
  ck_assert_ptr_null(find(&g, "gb", "u", "0")); /* never committed on u[0] */
  gathered_free(&g);
  th_free(pl);
}
END_TEST

/* `secs` is the age of a message written at `ts_ms`, seen between t0 and
 * t1 (ms since the epoch). */
static void assert_age(double secs, int64_t ts_ms, int64_t t0, int64_t t1) {
  ck_assert_msg(secs >= (double)(t0 - ts_ms) / 1000 - 0.001 &&
                    secs <= (double)(t1 - ts_ms) / 1000 + 0.001,
                "lag_seconds %f, want %f to %f", secs, (double)(t0 - ts_ms) / 1000,
                (double)(t1 - ts_ms) / 1000);
}

/* lag_seconds: the age of the first unconsumed message, for two groups at
 * different offsets of one partition (the second far enough ahead to be
 * sought to), and 0 where a group is caught up. */
START_TEST(lag_seconds_is_the_age_of_the_next_message) {
  int64_t base = now_ms() - 3600 * 1000; /* message i was written 3600 - i s ago */
  produce("t", 0, 0, 1200, base);
  produce("t", 1, 0, 5, base);
  consume("early", "t", 0, 10);
  consume("late", "t", 0, 1100);
  consume("early", "t", 1, 5);
  twi_pipeline *pl =
      build("consumer_groups = [\"early\", \"late\"]; topics = [\"t\"]; lag_seconds = true;");
  int64_t t0 = now_ms();
  gathered g = gather(pl);
  int64_t t1 = now_ms();
  assert_no_errors(&g);
  /* early's next message is #10, late's #1100: their age is between what
   * it was when the gather began and when it ended (to the ms) */
  assert_age(float_field(find(&g, "early", "t", "0"), "lag_seconds"), base + 10 * 1000, t0, t1);
  assert_age(float_field(find(&g, "late", "t", "0"), "lag_seconds"), base + 1100 * 1000, t0, t1);
  double early = float_field(find(&g, "early", "t", "0"), "lag_seconds");
  ck_assert_double_eq(float_field(find(&g, "early", "t", "1"), "lag_seconds"), 0);
  ck_assert_double_eq(float_field(find(&g, "early", "t", NULL), "lag_seconds_max"), early);
  gathered_free(&g);
  th_free(pl);
}
END_TEST

/* Off by default: no fetch, no field. */
START_TEST(lag_seconds_is_off_by_default) {
  produce("t", 0, 0, 3, now_ms());
  consume("g", "t", 0, 1);
  twi_pipeline *pl = build("consumer_groups = [\"g\"]; topics = [\"t\"];");
  gathered g = gather(pl);
  const tower_metric *m = find(&g, "g", "t", "0");
  ck_assert_ptr_nonnull(m);
  ck_assert_int_lt(tower_metric_field_index(m, "lag_seconds"), 0);
  ck_assert_int_lt(tower_metric_field_index(find(&g, "g", "t", NULL), "lag_seconds_max"), 0);
  gathered_free(&g);
  th_free(pl);
}
END_TEST

/* The mock cluster lists no groups: a glob is a gather error that says to
 * name the groups; not describing them is said once per instance, not per
 * gather, and does not keep the offsets from being read. */
START_TEST(what_the_brokers_cannot_answer_is_said) {
  twi_pipeline *pl = build("consumer_groups = [\"g*\"]; topics = [\"t\"];");
  gathered g = gather(pl);
  ck_assert_int_eq(g.errors, 1);
  ck_assert_uint_eq(g.n, 0);
  gathered_free(&g);
  th_free(pl);
  char *log = log_text();
  ck_assert_msg(strstr(log, "cannot list the consumer groups") &&
                    strstr(log, "name the groups in consumer_groups"),
                "%s", log);
  size_t warned = count(log, "the brokers do not describe consumer groups");
  free(log);

  produce("t", 0, 0, 2, now_ms());
  consume("g", "t", 0, 1);
  pl = build("consumer_groups = [\"g\"]; topics = [\"t\"];");
  for (int i = 0; i < 3; i++) {
    g = gather(pl);
    assert_no_errors(&g);
    ck_assert_ptr_null(find(&g, "g", NULL, NULL)); /* no state, no members */
    gathered_free(&g);
  }
  th_free(pl);
  log = log_text();
  ck_assert_uint_eq(count(log, "the brokers do not describe consumer groups"), warned + 1);
  free(log);
}
END_TEST

/* No broker: the gather fails within its timeout and says so (in
 * librdkafka's words when its request timeout, set to what is left of the
 * gather's, strikes first). */
START_TEST(unreachable_brokers_fail_within_the_timeout) {
  char *text = th_fmt("agent = { omit_hostname = true; };\n"
                      "inputs = ( { plugin = \"kafka_lag\"; brokers = [\"127.0.0.1:1\"]; "
                      "consumer_groups = [\"g\"]; timeout = \"1s\"; } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                      dir);
  twi_pipeline *pl = th_start(text, TWI_ONCE);
  free(text);
  int64_t t0 = now_ms();
  gathered g = gather(pl);
  int64_t took = now_ms() - t0;
  ck_assert_int_ge(g.errors, 1);
  ck_assert_uint_eq(g.n, 0);
  ck_assert_msg(took < 3000, "took %lld ms", (long long)took);
  gathered_free(&g);
  th_free(pl);
  char *log = log_text();
  ck_assert_msg(strstr(log, "did not come within the timeout (1000 ms)") ||
                    strstr(log, "committed offsets of consumer group g: Failed while waiting "
                                "for response from broker: Local: Timed out"),
                "%s", log);
  free(log);
}
END_TEST

START_TEST(bad_configurations_are_rejected) {
  char *d = rejected("librdkafka = { group_id = \"x\"; };");
  ck_assert_msg(strstr(d, "group.id cannot be set: kafka_lag watches groups without joining one"),
                "%s", d);
  free(d);
  d = rejected("librdkafka = { enable_auto_commit = \"true\"; };");
  ck_assert_msg(strstr(d, "enable.auto.commit cannot be set"), "%s", d);
  free(d);
  d = rejected("consumer_groups = [];");
  ck_assert_msg(strstr(d, "consumer_groups is empty; remove it to watch every one"), "%s", d);
  free(d);
  d = rejected("topics = [\"\"];");
  ck_assert_msg(strstr(d, "topics[0] is empty"), "%s", d);
  free(d);
  d = rejected("consumer_groups = [\"g[\"];");
  ck_assert_msg(strstr(d, "consumer_groups"), "%s", d);
  free(d);
  d = rejected("timeout = \"1ms\";");
  ck_assert_msg(strstr(d, "timeout"), "%s", d);
  free(d);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("kafka_lag");
  TCase *tc = tcase_create("mock cluster");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, lag_follows_consumption);
  tcase_add_test(tc, groups_and_topics_are_selected);
  tcase_add_test(tc, lag_seconds_is_the_age_of_the_next_message);
  tcase_add_test(tc, lag_seconds_is_off_by_default);
  tcase_add_test(tc, what_the_brokers_cannot_answer_is_said);
  tcase_add_test(tc, unreachable_brokers_fail_within_the_timeout);
  tcase_add_test(tc, bad_configurations_are_rejected);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(suite());
}
