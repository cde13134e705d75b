/* inputs.kafka_consumer throughput: messages pre-produced into librdkafka's
 * mock cluster (in this process), then one consumer instance drains them
 * through the real core (parse, accumulator, delivery to an output buffer,
 * offset store) the way the agent runs a service input. A bare librdkafka
 * consumer (poll and free, nothing else) on the same data gives the floor.
 *
 * Usage: bench_kafka_consumer [scale, default 1.0]
 *   case 1: 1,000,000 x scale messages of one cpu-like line each
 *   case 2:   100,000 x scale messages of ten such lines
 * BENCH_LIBRDKAFKA='queued_max_messages_kbytes = "2000000";' adds entries
 * to the input's `librdkafka` option (here: a prefetch queue so large that
 * librdkafka never pauses fetching, which shows the plugin's own speed).
 * The output buffer holds the last 100,000 metrics (older ones are dropped
 * and counted, which costs little), so memory stays bounded.
 * Nothing flushes that output while the consumer runs, so no message is
 * ever delivered: max_undelivered_messages is raised to its maximum (as
 * many as the largest case) so that the window never stalls the run.
 *
 * Rates are measured from the first metric to the last, so the consumer
 * group's join (about 3 s against the mock cluster) is left out. The mock
 * broker runs in this process and takes CPU too, so these are lower
 * bounds for a real broker on another host. The mock keeps at most 5 MB
 * per partition (older data is deleted), hence the many partitions: scale
 * stays below 1.5.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "bench_util.h"

#define LINE                                                                                       \
  "cpu,cpu=cpu%d,host=web%02d usage_user=%d.25,usage_system=0.5,usage_idle=97.2,usage_nice=0,"     \
  "usage_iowait=0.1,usage_irq=0,usage_softirq=0.05,usage_steal=0,usage_guest=0,"                   \
  "usage_guest_nice=0 17000000000%08d\n"

#define PARTITIONS 64

static const char *bootstraps;

static void die(const char *what, const char *err) {
  fprintf(stderr, "bench_kafka_consumer: %s: %s\n", what, err);
  exit(1);
}

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  if (m->err) {
    long *failed = opaque;
    if ((*failed)++ == 0)
      fprintf(stderr, "bench_kafka_consumer: produce failed: %s\n", rd_kafka_err2str(m->err));
  }
}

/* Fills topic `topic` with `n` messages of `lines` lines; returns the
 * payload bytes. */
static double produce(const char *topic, long n, int lines) {
  char err[512], msg[4096];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof err);
  rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof err);
  long failed = 0;
  rd_kafka_conf_set_dr_msg_cb(conf, delivered);
  rd_kafka_conf_set_opaque(conf, &failed);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!p)
    die("producer", err);
  double bytes = 0;
  for (long i = 0; i < n; i++) {
    int len = 0;
    for (int l = 0; l < lines; l++)
      len += snprintf(msg + len, sizeof msg - (size_t)len, LINE, l, (int)(i % 100), l,
                      (int)(i % 100000000));
    bytes += len;
    /* Round robin: keyless messages would stick to one partition for a
     * while (KIP-480), and the mock keeps only 5 MB per partition. */
    while (rd_kafka_producev(
               p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int)(i % PARTITIONS)),
               RD_KAFKA_V_VALUE(msg, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(p, 10);
  }
  if (rd_kafka_flush(p, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    die("producer", "flush timed out");
  rd_kafka_destroy(p);
  if (failed)
    die("producer", "messages were not delivered");
  return bytes;
}

static void report(const char *name, long metrics, double bytes, double secs) {
  printf("%-52s %12.0f metrics/s %8.1f MB/s  (%ld metrics in %.2f s)\n", name,
         (double)metrics / secs, bytes / secs / 1e6, metrics, secs);
}

/* The floor: a bare consumer that polls and frees every message. */
static void bench_raw(const char *topic, long n, double bytes, int lines) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
  char group[64];
  snprintf(group, sizeof group, "raw-%s", topic); /* a fresh group joins at once */
  rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
  rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!c)
    die("consumer", err);
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(c, t);
  rd_kafka_topic_partition_list_destroy(t);
  long got = 0;
  double t0 = 0, last = bench_now();
  while (got < n && bench_now() - last < 10) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
    if (!m)
      continue;
    if (!m->err && got++ == 0)
      t0 = bench_now();
    last = bench_now();
    rd_kafka_message_destroy(m);
  }
  double secs = last - t0;
  if (got < n)
    die("bare consumer", "not every message arrived");
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  char name[96];
  snprintf(name, sizeof name, "librdkafka poll only, %d line(s)/message", lines);
  report(name, got * lines, bytes, secs);
}

/* One kafka_consumer instance into a buffering output. */
static void bench_plugin(const char *topic, long n, double bytes, int lines) {
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"kafka_consumer\"; brokers = [\"%s\"]; topics = [\"%s\"];\n"
           "  consumer_group = \"bench-%s\"; max_undelivered_messages = 1000000;\n"
           "  librdkafka = { %s }; } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; "
           "metric_buffer_limit = 100000; } );\n",
           bootstraps, topic, topic, getenv("BENCH_LIBRDKAFKA") ? getenv("BENCH_LIBRDKAFKA") : "");
  twi_pipeline *pl = bench_pipeline(text);
  tower_ctx *in = pl->inputs[0];
  long want = n * lines;
  if (twi_input_start(in, pl) != 0)
    die("kafka_consumer", "start failed");
  double t0 = 0, last = bench_now();
  long got, before = 0;
  /* waits while metrics keep coming (10 s for the group to form) */
  while ((got = (long)atomic_load(&in->stats.metrics)) < want && bench_now() - last < 10) {
    if (got > 0 && t0 == 0)
      t0 = bench_now();
    if (got != before)
      last = bench_now();
    before = got;
    usleep(1000);
  }
  double secs = bench_now() - t0;
  twi_input_stop(in, tower_mono_ns() + 10000000000LL);
  twi_output_flush_sync(pl->outputs[0]); /* to /dev/null */
  twi_pipeline_free(pl);
  if (got < want) {
    fprintf(stderr, "bench_kafka_consumer: only %ld of %ld metrics\n", got, want);
    exit(1);
  }
  char name[96];
  snprintf(name, sizeof name, "kafka_consumer -> output buffer, %d line(s)/message", lines);
  report(name, got, bytes, secs);
}

int main(int argc, char **argv) {
  double scale = argc > 1 ? atof(argv[1]) : 1.0;
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  rd_kafka_mock_cluster_t *mc = rk ? rd_kafka_mock_cluster_new(rk, 1) : NULL;
  if (!mc)
    die("mock cluster", rk ? "cannot create" : err);
  bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
  rd_kafka_mock_topic_create(mc, "one", PARTITIONS, 1);
  rd_kafka_mock_topic_create(mc, "ten", PARTITIONS, 1);
  struct {
    const char *topic;
    long n;
    int lines;
  } cases[] = {{"one", (long)(1000000 * scale), 1}, {"ten", (long)(100000 * scale), 10}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    double p0 = bench_now();
    double bytes = produce(cases[i].topic, cases[i].n, cases[i].lines);
    printf("produced %ld messages (%.1f MB) in %.2f s\n", cases[i].n, bytes / 1e6,
           bench_now() - p0);
    bench_raw(cases[i].topic, cases[i].n, bytes, cases[i].lines);
    bench_plugin(cases[i].topic, cases[i].n, bytes, cases[i].lines);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
