/* inputs.kafka_consumer through the real core, against librdkafka's mock
 * cluster (a real Kafka protocol peer) created in this process: messages
 * are produced with a librdkafka producer, the input runs as the agent runs
 * a service input (twi_input_start / twi_input_stop) into the record
 * output's buffer, which the test flushes to <dir>/out.lp. The outputs
 * have no flush thread here: they write only when the test flushes them,
 * so the test decides when metrics are delivered (a slow or dead output
 * is one the test does not flush yet). The committed offsets are read back
 * with a consumer handle of the same group. The daemon, kcat, restarts and
 * SIGKILL are in tests/integration/kafka_consumer.sh, the crash loop in
 * tests/hostile/crash_kafka.sh. */
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

/* ---- helpers ------------------------------------------------------------ */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t mono_ns(void) {
  return (int64_t)(now_s() * 1e9);
}

/* Produces messages "m,k=<prefix><i> v=<i>i <ts>" for i in [from, to]. */
static void produce(const char *topic, int from, int to, const char *prefix) {
  char err[512], msg[128];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ck_assert_msg(p != NULL, "%s", err);
  for (int i = from; i <= to; i++) {
    int n = snprintf(msg, sizeof msg, "m,k=%s%d v=%di 1700000000%09d", prefix, i, i, i);
    /* Spread over the topic's 3 partitions by hand: librdkafka's sticky
     * partitioner may put a whole run of keyless messages in one, and a
     * group member assigned another would then get nothing. */
    ck_assert_int_eq(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % 3),
                                       RD_KAFKA_V_VALUE(msg, n),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                     0);
  }
  ck_assert_int_eq(rd_kafka_flush(p, 10000), 0);
  rd_kafka_destroy(p);
}

/* A pipeline of kafka_consumer inputs (`inputs`: the blocks' options, the
 * brokers filled in) and a record output writing <dir>/<name>.lp. */
static twi_pipeline *build_out(const char *inputs, const char *name) {
  char *text = th_fmt("agent = { omit_hostname = true; };\n"
                      "inputs = ( %s );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s/%s.lp\"; "
                      "ids = \"%s/%s.ids\"; metric_buffer_limit = 100000; } );\n",
                      inputs, dir, name, dir, name);
  twi_pipeline *pl = th_start(text, TWI_ONCE);
  free(text);
  return pl;
}

static twi_pipeline *build(const char *inputs) {
  return build_out(inputs, "out");
}

static char *block(const char *group, const char *extra) {
  return th_fmt("{ plugin = \"kafka_consumer\"; brokers = [\"%s\"]; topics = [\"t\"]; "
                "consumer_group = \"%s\"; librdkafka = { session_timeout_ms = \"6000\"; "
                "auto_commit_interval_ms = \"100\"; }; %s }",
                bootstraps, group, extra);
}

static void start_all(twi_pipeline *pl) {
  for (size_t i = 0; i < pl->ninputs; i++)
    ck_assert_int_eq(twi_input_start(pl->inputs[i], pl), 0);
}

/* Stops every input; returns the seconds it took. */
static double stop_all(twi_pipeline *pl) {
  double t0 = now_s();
  for (size_t i = 0; i < pl->ninputs; i++)
    ck_assert(twi_input_stop(pl->inputs[i], mono_ns() + 10000000000LL));
  return now_s() - t0;
}

/* Waits until the output holds `n` metrics (`secs` at most; 30 s for
 * wait_buffered). */
static size_t wait_buffered_for(twi_pipeline *pl, size_t n, double secs) {
  double end = now_s() + secs;
  size_t have;
  while ((have = twi_output_buffered(pl->outputs[0])) < n && now_s() < end)
    usleep(10000);
  return have;
}

static size_t wait_buffered(twi_pipeline *pl, size_t n) {
  return wait_buffered_for(pl, n, 30);
}

/* Writes what output `i` buffered, again while the consumer is still
 * adding messages (a flush returns what is left, which may have arrived
 * during it), for up to 10 s; returns everything it wrote so far
 * (<dir>/<name>.lp). */
static char *flushed_out(twi_pipeline *pl, size_t i, const char *name) {
  size_t left;
  for (double end = now_s() + 10;
       (left = twi_output_flush_sync(pl->outputs[i])) != 0 && now_s() < end;)
    usleep(10000);
  ck_assert_uint_eq(left, 0);
  char *path = th_fmt("%s/%s.lp", dir, name);
  char *text = th_read_file(path);
  free(path);
  return text ? text : strdup("");
}

static char *flushed(twi_pipeline *pl) {
  return flushed_out(pl, 0, "out");
}

static size_t count(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

/* The committed offset of `group` on topic t partition `partition` (-1: all
 * three, summed); 0 for none. */
static int64_t committed_at(const char *group, int partition) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
  rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(3);
  for (int p = 0; p < 3; p++)
    if (partition < 0 || p == partition)
      rd_kafka_topic_partition_list_add(l, "t", p);
  ck_assert_int_eq(rd_kafka_committed(c, l, 10000), 0);
  int64_t sum = 0;
  for (int i = 0; i < l->cnt; i++)
    sum += l->elems[i].offset > 0 ? l->elems[i].offset : 0;
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy(c);
  return sum;
}

static int64_t committed(const char *group) {
  return committed_at(group, -1);
}

/* Waits (10 s at most) until the committed offsets of `group` sum to
 * `want`; returns the last sum. */
/* Commits follow the outputs' writes on librdkafka's commit timer; on a
 * loaded machine (a parallel suite, valgrind) that takes its time. */
static int64_t wait_committed(const char *group, int partition, int64_t want) {
  double end = now_s() + 30;
  int64_t have;
  while ((have = committed_at(group, partition)) != want && now_s() < end)
    usleep(50000);
  return have;
}

static char *log_text(void) {
  char *t = th_read_file(logpath);
  return t ? t : strdup("");
}

/* Builds a pipeline that must be rejected; returns the diagnostics. */
static char *rejected(const char *extra) {
  char *b = th_fmt("{ plugin = \"kafka_consumer\"; brokers = [\"%s\"]; %s }", bootstraps, extra);
  char *text = th_fmt(
      "inputs = ( %s );\noutputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n", b);
  char *errors = NULL;
  twi_pipeline *pl = th_build(text, TWI_ONCE, &errors);
  if (pl && twi_pipeline_init(pl) == 0) {
    th_free(pl);
    ck_abort_msg("accepted: %s", extra);
  }
  if (pl)
    th_free(pl);
  free(text);
  free(b);
  char *log = log_text();
  char *all = th_fmt("%s%s", errors ? errors : "", log);
  free(errors);
  free(log);
  return all;
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(consumes_every_message_once) {
  produce("t", 1, 300, "a");
  char *b = block("g1", "topic_tag = \"topic\";");
  twi_pipeline *pl = build(b);
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 300), 300);
  char *out = flushed(pl);
  ck_assert_double_lt(stop_all(pl), 1.5); /* nothing left in flight to wait for */
  ck_assert_uint_eq(count(out, "\n"), 300);
  ck_assert_ptr_nonnull(strstr(out, "m,k=a1,topic=t v=1i 1700000000000000001\n"));
  ck_assert_ptr_nonnull(strstr(out, "m,k=a300,topic=t v=300i 1700000000000000300\n"));
  /* stop committed every offset: 300 messages over 3 partitions */
  ck_assert_int_eq(committed("g1"), 300);
  char *log = log_text();
  ck_assert_ptr_nonnull(strstr(log, "group g1 assigned 3 partitions: t[0,1,2]"));
  ck_assert_ptr_nonnull(strstr(log, "stopped after 300 messages, 300 metrics, 0 messages skipped"));
  free(log);
  free(out);
  free(b);
  th_free(pl);
}
END_TEST

/* A restart with the same group consumes only what came meanwhile. */
START_TEST(restart_resumes_after_commit) {
  produce("t", 1, 50, "a");
  char *b = block("g2", "");
  twi_pipeline *pl = build_out(b, "first");
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 50), 50);
  free(flushed_out(pl, 0, "first"));
  stop_all(pl);
  th_free(pl);
  produce("t", 51, 60, "a");
  pl = build(b);
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 10), 10);
  usleep(500000); /* nothing more may come */
  char *out = flushed(pl);
  stop_all(pl);
  ck_assert_uint_eq(count(out, "\n"), 10);
  ck_assert_ptr_nonnull(strstr(out, "m,k=a51 v=51i"));
  ck_assert_ptr_null(strstr(out, "m,k=a50 "));
  ck_assert_int_eq(committed("g2"), 60);
  free(out);
  free(b);
  th_free(pl);
}
END_TEST

/* The ids file of output `name`: how many metrics the longest run of one
 * gather id (one commit) has. */
static size_t longest_commit(const char *name) {
  char *path = th_fmt("%s/%s.ids", dir, name);
  char *ids = th_read_file(path);
  ck_assert_ptr_nonnull(ids);
  size_t run = 0, longest = 0;
  char last[32] = "";
  for (char *line = strtok(ids, "\n"); line; line = strtok(NULL, "\n")) {
    if (strcmp(line, last) != 0) {
      snprintf(last, sizeof last, "%s", line);
      run = 0;
    }
    if (++run > longest)
      longest = run;
  }
  free(ids);
  free(path);
  return longest;
}

/* Metrics (one per message here) the input has handed to the core. */
static uint64_t gathered(twi_pipeline *pl) {
  return atomic_load(&pl->inputs[0]->stats.metrics);
}

/* Distinct metrics m,k=<prefix><i> for i in [1, n] that `text` lacks. */
static int missing_of(const char *text, const char *prefix, int n) {
  int missing = 0;
  for (int i = 1; i <= n; i++) {
    char key[64];
    snprintf(key, sizeof key, "m,k=%s%d v=", prefix, i);
    missing += strstr(text, key) == NULL;
  }
  return missing;
}

/* A message's offset is committed once the output has written its
 * metrics, not when they enter its buffer (the output here is slow: it
 * writes only when the test flushes it). */
START_TEST(offsets_wait_for_the_writes) {
  produce("t", 1, 60, "a");
  char *b = block("g9", "");
  twi_pipeline *pl = build(b);
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 60), 60);
  usleep(500000); /* five auto commit intervals */
  ck_assert_int_eq(committed("g9"), 0);
  free(flushed(pl));
  ck_assert_int_eq(wait_committed("g9", -1, 60), 60);
  ck_assert_double_lt(stop_all(pl), 1.5);
  free(b);
  th_free(pl);
}
END_TEST

/* Offsets are stored in order per partition: a later message whose
 * metrics are written first waits for the earlier ones. Two outputs, each
 * taking one measurement: "b" (offset 1) is written, "a" (offset 0) not
 * yet, so partition 0 commits nothing until "a" is written too. */
START_TEST(offsets_stored_in_order) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  const char *msgs[] = {"a v=1i 1", "b v=2i 2"};
  for (size_t i = 0; i < 2; i++)
    rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(0),
                      RD_KAFKA_V_VALUE((void *)msgs[i], strlen(msgs[i])),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  ck_assert_int_eq(rd_kafka_flush(p, 10000), 0);
  rd_kafka_destroy(p);
  /* max_undelivered_messages = 4: one message per commit */
  char *b = block("g10", "max_undelivered_messages = 4;");
  char *text =
      th_fmt("agent = { omit_hostname = true; };\ninputs = ( %s );\n"
             "outputs = ( { plugin = \"record\"; path = \"%s/a.lp\"; namepass = [\"a\"]; },"
             " { plugin = \"record\"; path = \"%s/b.lp\"; namepass = [\"b\"]; } );\n",
             b, dir, dir);
  twi_pipeline *pl = th_start(text, TWI_ONCE);
  start_all(pl);
  double end = now_s() + 30;
  while ((twi_output_buffered(pl->outputs[0]) < 1 || twi_output_buffered(pl->outputs[1]) < 1) &&
         now_s() < end)
    usleep(10000);
  char *out = flushed_out(pl, 1, "b");
  ck_assert_str_eq(out, "b v=2i 2\n");
  free(out);
  usleep(500000);
  ck_assert_int_eq(committed_at("g10", 0), 0); /* offset 1 is written, offset 0 is not */
  out = flushed_out(pl, 0, "a");
  ck_assert_str_eq(out, "a v=1i 1\n");
  free(out);
  ck_assert_int_eq(wait_committed("g10", 0, 2), 2);
  stop_all(pl);
  th_free(pl);
  free(text);
  free(b);
}
END_TEST

/* max_undelivered_messages bounds the messages in flight: with 7, the
 * output never holds more than 7 (one metric each), consumption waits
 * (past KC_PAUSE_MS: paused) until they are written, then goes on;
 * every message arrives once across the pauses and resumes. */
START_TEST(max_undelivered_bounds_messages_in_flight) {
  produce("t", 1, 100, "a");
  char *b = block("g3", "max_undelivered_messages = 7;");
  twi_pipeline *pl = build(b);
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 7), 7);
  usleep(800000); /* the window is full: the partitions are paused by now */
  ck_assert_uint_eq(twi_output_buffered(pl->outputs[0]), 7);
  ck_assert_uint_eq(gathered(pl), 7);
  ck_assert_int_eq(committed("g3"), 0);
  size_t written = 0;
  for (int round = 0; written < 100 && round < 100; round++) {
    size_t want = 100 - written < 7 ? 100 - written : 7;
    size_t have = wait_buffered(pl, want);
    ck_assert_uint_le(have, 7);
    free(flushed(pl));
    written += have;
  }
  char *out = flushed(pl);
  ck_assert_uint_eq(count(out, "\n"), 100);
  ck_assert_int_eq(missing_of(out, "a", 100), 0);
  stop_all(pl);
  ck_assert_int_eq(committed("g3"), 100);
  ck_assert_uint_le(longest_commit("out"), 7);
  free(out);
  free(b);
  th_free(pl);
}
END_TEST

/* A dead output (its writes fail) stalls consumption at
 * max_undelivered_messages, with nothing committed; once it writes again
 * everything flows and is committed. */
START_TEST(dead_output_stalls_then_recovers) {
  produce("t", 1, 40, "a");
  char *b = block("g11", "max_undelivered_messages = 10;");
  char *text = th_fmt("agent = { omit_hostname = true; };\ninputs = ( %s );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; "
                      "fail_writes = 3; } );\n",
                      b, dir);
  twi_pipeline *pl = th_start(text, TWI_ONCE);
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 10), 10);
  for (int i = 0; i < 3; i++) /* the output is down */
    ck_assert_uint_eq(twi_output_flush_sync(pl->outputs[0]), 10);
  usleep(800000);
  ck_assert_uint_eq(gathered(pl), 10);
  ck_assert_uint_eq(twi_output_buffered(pl->outputs[0]), 10);
  ck_assert_int_eq(committed("g11"), 0);
  char *out = NULL; /* the output is back */
  for (int round = 0; round < 40; round++) {
    wait_buffered(pl, 1);
    free(out);
    out = flushed(pl);
    if (missing_of(out, "a", 40) == 0)
      break;
  }
  ck_assert_int_eq(missing_of(out, "a", 40), 0);
  ck_assert_uint_eq(count(out, "\n"), 40);
  ck_assert_int_eq(wait_committed("g11", -1, 40), 40);
  stop_all(pl);
  free(out);
  free(text);
  free(b);
  th_free(pl);
}
END_TEST

/* A second consumer joins the group while every message is in flight (in
 * the first one's output buffer, unwritten): the revoked partitions' offsets
 * are not stored, so their next owner consumes them again, and once both
 * outputs write, every message is there (some twice) and all is committed. */
START_TEST(rebalance_with_messages_in_flight) {
  produce("t", 1, 300, "a");
  char *b1 = block("g12", "alias = \"one\";");
  char *b2 = block("g12", "alias = \"two\";");
  twi_pipeline *one = build_out(b1, "one");
  start_all(one);
  ck_assert_uint_eq(wait_buffered(one, 300), 300);
  twi_pipeline *two = build_out(b2, "two");
  start_all(two);
  /* the second member reads its partitions from offset 0 again, once the
   * group has rebalanced (it once took over 30 s under valgrind on a busy
   * machine) */
  if (wait_buffered_for(two, 1, 60) == 0) {
    char *log = log_text();
    ck_abort_msg("the second member got nothing in 60 s; log:\n%s", log);
  }
  char *all = NULL, *o1 = NULL, *o2 = NULL;
  for (double end = now_s() + 30; now_s() < end; usleep(100000)) {
    free(o1);
    free(o2);
    free(all);
    o1 = flushed_out(one, 0, "one");
    o2 = flushed_out(two, 0, "two");
    all = th_fmt("%s%s", o1, o2);
    if (missing_of(all, "a", 300) == 0)
      break;
  }
  ck_assert_msg(missing_of(all, "a", 300) == 0, "%d of 300 messages lost in the rebalance",
                missing_of(all, "a", 300));
  size_t twice = count(all, "\n") - 300;
  ck_assert_uint_ge(twice, count(o2, "\n")); /* what two read, one had read before */
  ck_assert_int_eq(wait_committed("g12", -1, 300), 300);
  stop_all(one);
  stop_all(two);
  ck_assert_int_eq(committed("g12"), 300);
  char *log = log_text();
  ck_assert_ptr_nonnull(strstr(log, "[inputs.kafka_consumer:one] group g12 revoked"));
  free(log);
  free(all);
  free(o1);
  free(o2);
  free(b1);
  free(b2);
  th_free(one);
  th_free(two);
}
END_TEST

/* Stop waits (KC_DRAIN_MS) for the messages in flight; when the outputs
 * do not write them in time, nothing is committed and a restart consumes
 * them again. The unwritten metrics are then dropped with their output
 * (pending: the delivery callback runs after the input is gone). */
START_TEST(stop_gives_up_on_undelivered) {
  produce("t", 1, 20, "a");
  char *b = block("g13", "");
  twi_pipeline *pl = build_out(b, "first");
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 20), 20);
  double took = stop_all(pl);
  ck_assert_double_ge(took, 2.5);
  ck_assert_double_lt(took, 6);
  char *log = log_text();
  ck_assert_ptr_nonnull(strstr(log, "20 messages not yet written by the outputs after 3 s; their "
                                    "offsets are not committed, so they are consumed again after "
                                    "a restart"));
  free(log);
  ck_assert_int_eq(committed("g13"), 0);
  th_free(pl); /* 20 metrics unwritten: the output reports them pending */
  pl = build_out(b, "second");
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 20), 20);
  char *out = flushed_out(pl, 0, "second");
  ck_assert_int_eq(missing_of(out, "a", 20), 0);
  stop_all(pl);
  ck_assert_int_eq(committed("g13"), 20);
  free(out);
  free(b);
  th_free(pl);
}
END_TEST

/* Two instances with their own groups each get every message. */
START_TEST(two_instances_two_groups) {
  produce("t", 1, 100, "a");
  char *b1 = block("g4a", "alias = \"one\"; tags = { via = \"one\"; };");
  char *b2 = block("g4b", "alias = \"two\"; tags = { via = \"two\"; };");
  char *both = th_fmt("%s, %s", b1, b2);
  twi_pipeline *pl = build(both);
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 200), 200);
  char *out = flushed(pl);
  stop_all(pl);
  ck_assert_uint_eq(count(out, "via=one"), 100);
  ck_assert_uint_eq(count(out, "via=two"), 100);
  ck_assert_int_eq(committed("g4a"), 100);
  ck_assert_int_eq(committed("g4b"), 100);
  free(out);
  free(both);
  free(b1);
  free(b2);
  th_free(pl);
}
END_TEST

/* A message that fails to parse or is too long is skipped, logged with
 * its place, counted as an error, and committed like the others. */
START_TEST(bad_messages_skipped_and_committed) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  const char *msgs[] = {"good v=1i 1", "not line protocol", "good v=2i 2\ngood v= 3",
                        "good s=\"0123456789012345678901234567890123456789\" 4", ""};
  for (size_t i = 0; i < sizeof msgs / sizeof *msgs; i++)
    rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(1),
                      RD_KAFKA_V_VALUE((void *)msgs[i], strlen(msgs[i])),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  ck_assert_int_eq(rd_kafka_flush(p, 10000), 0);
  rd_kafka_destroy(p);
  char *b = block("g5", "max_message_len = \"40B\";");
  twi_pipeline *pl = build(b);
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 2), 2);
  usleep(300000);
  char *out = flushed(pl);
  stop_all(pl);
  ck_assert_uint_eq(atomic_load(&pl->inputs[0]->stats.errors), 3);
  ck_assert_str_eq(out, "good v=1i 1\ngood v=2i 2\n");
  ck_assert_int_eq(committed("g5"), 5);
  char *log = log_text();
  ck_assert_ptr_nonnull(strstr(log, "influx parse error in topic t partition 1 offset 1 at line 1, "
                                    "column "));
  ck_assert_ptr_nonnull(strstr(log, "influx parse error in topic t partition 1 offset 2 at line 2, "
                                    "column "));
  ck_assert_ptr_nonnull(strstr(log, "topic t partition 1 offset 2: 1 influx parse error, the bad "
                                    "part skipped (1 metric kept)"));
  ck_assert_ptr_nonnull(strstr(log, "topic t partition 1 offset 3: message of 51 bytes is longer "
                                    "than max_message_len (40); skipped"));
  free(log);
  free(out);
  free(b);
  th_free(pl);
}
END_TEST

/* json through the configured parser; timestamp_source = inner. */
START_TEST(json_and_inner_timestamp) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  const char *doc = "{\"host\":\"h1\",\"temp\":21.5}";
  rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_VALUE((void *)doc, strlen(doc)),
                    RD_KAFKA_V_TIMESTAMP(1700000000123LL), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_END);
  ck_assert_int_eq(rd_kafka_flush(p, 10000), 0);
  rd_kafka_destroy(p);
  char *b =
      block("g6", "data_format = \"json\"; tag_keys = [\"host\"]; timestamp_source = \"inner\";");
  twi_pipeline *pl = build(b);
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 1), 1);
  char *out = flushed(pl);
  stop_all(pl);
  ck_assert_str_eq(out, "kafka_consumer,host=h1 temp=21.5 1700000000123000000\n");
  free(out);
  free(b);
  th_free(pl);
}
END_TEST

/* Stopping before the group even formed, and with no broker at all, is
 * prompt and bounded. */
START_TEST(stop_is_bounded) {
  char *b = block("g7", "");
  twi_pipeline *pl = build(b);
  start_all(pl);
  ck_assert_double_lt(stop_all(pl), 1.5);
  th_free(pl);
  free(b);
  b = th_fmt("{ plugin = \"kafka_consumer\"; brokers = [\"127.0.0.1:1\"]; topics = [\"t\"]; }");
  pl = build(b);
  start_all(pl);
  usleep(200000);
  ck_assert_double_lt(stop_all(pl), 4.5);
  th_free(pl);
  free(b);
}
END_TEST

/* Flushes the output until every message m,k=<prefix><i> for i in [1, n]
 * is in out.lp (30 s at most); returns the text flushed so far. */
static char *wait_delivered(twi_pipeline *pl, const char *prefix, int n) {
  double end = now_s() + 30;
  for (;;) {
    char *out = flushed(pl);
    int missing = 0;
    for (int i = 1; i <= n && !missing; i++) {
      char key[64];
      snprintf(key, sizeof key, "k=%s%d v=", prefix, i);
      missing = strstr(out, key) == NULL;
    }
    if (!missing || now_s() >= end)
      return out;
    free(out);
    usleep(50000);
  }
}

/* Every broker down while consuming: nothing lost once they are back.
 * Delivery is at least once: a message is consumed twice only when the
 * group lost its assignment before the offset was committed (slow runs,
 * valgrind), and the input says so in the log. */
START_TEST(brokers_down_and_up) {
  produce("t", 1, 20, "a");
  char *b = block("g8", "");
  twi_pipeline *pl = build(b);
  start_all(pl);
  ck_assert_uint_eq(wait_buffered(pl, 20), 20);
  for (int id = 1; id <= 2; id++)
    rd_kafka_mock_broker_set_down(mock, id);
  usleep(1500000);
  for (int id = 1; id <= 2; id++)
    rd_kafka_mock_broker_set_up(mock, id);
  produce("t", 21, 40, "a");
  char *out = wait_delivered(pl, "a", 40);
  stop_all(pl);
  free(out);
  out = flushed(pl);
  for (int i = 1; i <= 40; i++) {
    char key[64];
    snprintf(key, sizeof key, "k=a%d v=", i);
    ck_assert_msg(strstr(out, key) != NULL, "message a%d lost:\n%s", i, out);
  }
  size_t lines = count(out, "\n");
  char *log = log_text();
  ck_assert_msg(lines == 40 || strstr(log, "lost partition") != NULL,
                "%zu messages delivered for 40 produced, no lost assignment logged:\n%s", lines,
                log);
  free(log);
  free(out);
  free(b);
  th_free(pl);
}
END_TEST

START_TEST(config_errors) {
  char *e = rejected("topics = [];");
  ck_assert_msg(strstr(e, "topics is empty") != NULL, "%s", e);
  free(e);
  e = rejected("librdkafka = { enable_auto_offset_store = \"true\"; };");
  ck_assert_msg(strstr(e, "librdkafka property enable.auto.offset.store cannot be changed") != NULL,
                "%s", e);
  free(e);
  e = rejected("librdkafka = { group_id = \"x\"; };");
  ck_assert_msg(strstr(e, "librdkafka property group.id: set the option consumer_group instead") !=
                    NULL,
                "%s", e);
  free(e);
  e = rejected("librdkafka = { no_such_thing = \"1\"; };");
  ck_assert_msg(strstr(e, "librdkafka property no.such.thing: No such configuration property") !=
                    NULL,
                "%s", e);
  free(e);
  e = rejected("librdkafka = { fetch_wait_max_ms = \"soon\"; };");
  ck_assert_msg(strstr(e, "librdkafka property fetch.wait.max.ms") != NULL, "%s", e);
  free(e);
  e = rejected("offset = \"middle\";");
  ck_assert_msg(strstr(e, "oldest") != NULL, "%s", e);
  free(e);
  e = rejected("topic_tag = \"\";");
  ck_assert_msg(strstr(e, "topic_tag is empty") != NULL, "%s", e);
  free(e);
}
END_TEST

/* --config-check of one consumer block; returns the plugins that refused,
 * the log in *log. */
static int check_only(const char *extra, char **log) {
  ck_assert_int_eq(truncate(logpath, 0), 0);
  char *text = th_fmt("inputs = ( { plugin = \"kafka_consumer\"; brokers = [\"%s\"]; topics = "
                      "[\"t\"]; %s } );\noutputs = ( { plugin = \"record\"; path = "
                      "\"/dev/null\"; } );\n",
                      bootstraps, extra);
  twi_pipeline *pl = th_build(text, TWI_ONCE, NULL);
  ck_assert_ptr_nonnull(pl);
  int failed = twi_pipeline_check(pl);
  th_free(pl);
  free(text);
  *log = log_text();
  return failed;
}

#define ck_has(log, needle) ck_assert_msg(strstr(log, needle), "want \"%s\" in: %s", needle, log)

/* --config-check reads the TLS files librdkafka would load when the client
 * is created (a check creates none): the options', or the passthrough
 * entries that win over them. A CA may be a directory, or "probe". */
START_TEST(config_check_tls_files) {
  char *cmd = th_fmt("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                     "-nodes -days 2 -subj /CN=t -keyout key.pem -out cert.pem >/dev/null 2>&1 && "
                     "mkdir cadir",
                     dir);
  ck_assert_int_eq(system(cmd), 0);
  free(cmd);
  char *log;
  char *opts = th_fmt("tls_ca = \"%s/cert.pem\"; tls_cert = \"%s/cert.pem\"; tls_key = "
                      "\"%s/key.pem\";",
                      dir, dir, dir);
  ck_assert_msg(check_only(opts, &log) == 0, "log: %s", log);
  free(log);
  free(opts);
  opts = th_fmt("tls_ca = \"%s/cadir\";", dir);
  ck_assert_msg(check_only(opts, &log) == 0, "log: %s", log);
  free(log);
  free(opts);
  ck_assert_msg(check_only("tls_ca = \"probe\";", &log) == 0, "log: %s", log);
  free(log);

  opts = th_fmt("tls_ca = \"%s/key.pem\"; tls_cert = \"%s/cert.pem\"; tls_key = "
                "\"%s/cert.pem\";",
                dir, dir, dir);
  ck_assert_int_eq(check_only(opts, &log), 1);
  char *want = th_fmt("tls_ca \"%s/key.pem\": %s/key.pem: it holds a private key but no "
                      "certificate (PRIVATE KEY block); give a PEM file of certificates",
                      dir, dir);
  ck_has(log, want);
  free(want);
  want = th_fmt("tls_key \"%s/cert.pem\": %s/cert.pem: it holds a certificate but no private "
                "key (CERTIFICATE block); give the PEM file of the private key",
                dir, dir);
  ck_has(log, want);
  ck_has(log, "[inputs.kafka_consumer] initialization failed; fix the error above");
  free(want);
  free(log);
  free(opts);

  opts = th_fmt("tls_ca = \"%s/cert.pem\"; librdkafka = { ssl_ca_location = \"%s/no/ca.pem\"; };",
                dir, dir);
  ck_assert_int_eq(check_only(opts, &log), 1);
  want = th_fmt("librdkafka ssl.ca.location \"%s/no/ca.pem\": %s/no does not exist; fix the path",
                dir, dir);
  ck_has(log, want);
  free(want);
  free(log);
  free(opts);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.kafka_consumer");
  TCase *t = tcase_create("kafka_consumer");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 120);
  tcase_add_test(t, consumes_every_message_once);
  tcase_add_test(t, restart_resumes_after_commit);
  tcase_add_test(t, offsets_wait_for_the_writes);
  tcase_add_test(t, offsets_stored_in_order);
  tcase_add_test(t, max_undelivered_bounds_messages_in_flight);
  tcase_add_test(t, dead_output_stalls_then_recovers);
  tcase_add_test(t, rebalance_with_messages_in_flight);
  tcase_add_test(t, stop_gives_up_on_undelivered);
  tcase_add_test(t, two_instances_two_groups);
  tcase_add_test(t, bad_messages_skipped_and_committed);
  tcase_add_test(t, json_and_inner_timestamp);
  tcase_add_test(t, stop_is_bounded);
  tcase_add_test(t, brokers_down_and_up);
  tcase_add_test(t, config_errors);
  tcase_add_test(t, config_check_tls_files);
  suite_add_tcase(s, t);
  return check_run(s);
}
