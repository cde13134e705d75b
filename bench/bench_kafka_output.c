/* outputs.kafka throughput, through the real core and the real plugin into
 * librdkafka's mock cluster (a Kafka protocol peer on 127.0.0.1, run in this
 * process: producer and "broker" share the machine's CPUs).
 *
 * Usage: bench_kafka_output [metrics per case, default 200000]
 *
 * Cases: cpu-like metrics (2 tags, 10 float fields, about 330 bytes of line
 * protocol), influx format, written in batches of 1000 (metric_batch_size)
 * with every write waiting for all its delivery reports (acks=all,
 * idempotent), as in production: one metric per message (batch_format =
 * false, Telegraf's way) and several per message (batch_format = true, up to
 * the 1 MB max_message_bytes), without and with lz4. Prints metrics/s and
 * messages/s during the writes (messages counted from the partitions' high
 * watermarks), metrics per message and MB/s of line protocol.
 *
 * Then librdkafka's produce call alone (no tower), 330-byte messages, with
 * RD_KAFKA_MSG_F_COPY (the plugin's choice) and without a copy (the payload
 * kept by the caller until delivery), to size what the copy costs.
 * Figures only. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <tower/tower.h>

#include "bench_util.h"

#define BATCH 1000
#define GATHER (10 * BATCH) /* metrics buffered between two flushes */
#define PARTITIONS 4

static char boot[256];

static void die(const char *what) {
  fprintf(stderr, "bench_kafka_output: %s\n", what);
  exit(1);
}

/* Telegraf's cpu input: two tags and ten usage_* fields. */
static tower_metric *cpu_metric(int i) {
  static const char *const fields[] = {
      "usage_guest", "usage_guest_nice", "usage_idle",  "usage_iowait", "usage_irq",
      "usage_nice",  "usage_softirq",    "usage_steal", "usage_system", "usage_user"};
  char cpu[16];
  snprintf(cpu, sizeof cpu, "cpu%d", i % 32);
  tower_metric *m = tower_metric_new("cpu", 1700000000000000000LL + i);
  if (!m || tower_metric_add_tag(m, "cpu", cpu) ||
      tower_metric_add_tag(m, "host", "server01.example.com"))
    die("out of memory");
  for (int f = 0; f < 10; f++)
    tower_metric_add_float(m, fields[f], (double)((i * 7 + f) % 1000) / 9.7 + 0.013);
  return m;
}

/* Bytes of line protocol of metrics [0, n). */
static double lp_bytes(int n) {
  tower_buf *b = tower_buf_new(1024);
  double total = 0;
  for (int i = 0; i < n; i++) {
    tower_metric *m = cpu_metric(i);
    tower_buf_reset(b);
    tower_lp_write(m, b, 0, 1);
    total += (double)tower_buf_len(b);
    tower_metric_free(m);
  }
  tower_buf_free(b);
  return total;
}

/* One gather of metrics [first, first + n) into the output buffer. */
static void gather(twi_pipeline *pl, int first, int n) {
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  twi_acc_begin(acc, 1700000000000000000LL);
  for (int i = first; i < first + n; i++)
    tower_acc_add(acc, cpu_metric(i));
  tower_acc_commit(acc);
  twi_acc_free(acc);
}

/* Messages stored in `topic`: the sum of its partitions' high watermarks. */
static long long stored(rd_kafka_t *rk, const char *topic) {
  long long total = 0;
  for (int p = 0; p < PARTITIONS; p++) {
    int64_t lo, hi;
    if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000))
      die("cannot read the high watermarks");
    total += hi;
  }
  return total;
}

static twi_pipeline *kafka_pipeline(const char *topic, const char *opts, int metrics) {
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; metric_batch_size = %d; "
           "metric_buffer_limit = %d; };\n"
           "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [\"x v=1\"]; } );\n"
           "outputs = ( { plugin = \"kafka\"; brokers = [\"%s\"]; topic = \"%s\"; %s } );\n",
           BATCH, metrics + GATHER, boot, topic, opts);
  return bench_pipeline(text);
}

static void run_case(rd_kafka_t *rk, const char *name, const char *opts, int metrics,
                     double bytes) {
  char topic[64];
  snprintf(topic, sizeof topic, "bench-%s", name);
  twi_pipeline *pl = kafka_pipeline(topic, opts, metrics);
  gather(pl, 0, BATCH); /* warm up: connection, producer id, metadata */
  if (twi_output_flush_sync(pl->outputs[0]))
    die("the warm-up write failed");
  long long before = stored(rk, topic);
  double busy = 0;
  for (int done = 0; done < metrics; done += GATHER) {
    gather(pl, done, GATHER);
    double t0 = bench_now();
    if (twi_output_flush_sync(pl->outputs[0]))
      die("metrics left unwritten");
    busy += bench_now() - t0;
  }
  long long msgs = stored(rk, topic) - before;
  printf("%-30s %12.0f %12.0f %10.1f %8.1f\n", name, metrics / busy, (double)msgs / busy,
         (double)metrics / (double)msgs, bytes / busy / 1e6);
  twi_pipeline_free(pl);
}

/* ---- librdkafka's produce call alone ------------------------------------------ */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)m;
  (*(long *)opaque)++;
}

static double produce_ns(int n, int flags) {
  char err[512];
  long delivered = 0;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", boot, err, sizeof err) ||
      rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) ||
      rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof err))
    die(err);
  rd_kafka_conf_set_opaque(conf, &delivered);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk)
    die(err);
  static char payload[330];
  memset(payload, 'x', sizeof payload);
  double t0 = bench_now();
  for (int i = 0; i < n; i++)
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("bench-raw"),
                             RD_KAFKA_V_VALUE(payload, sizeof payload), RD_KAFKA_V_MSGFLAGS(flags),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 1);
  double t1 = bench_now();
  rd_kafka_flush(rk, 60000);
  if (delivered != n)
    die("raw produce: not everything was delivered");
  rd_kafka_destroy(rk);
  return (t1 - t0) * 1e9 / n;
}

int main(int argc, char **argv) {
  int metrics = argc > 1 ? atoi(argv[1]) : 200000;
  if (metrics < GATHER)
    metrics = GATHER;
  metrics -= metrics % GATHER;
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  rd_kafka_mock_cluster_t *mc = rk ? rd_kafka_mock_cluster_new(rk, 1) : NULL;
  if (!mc)
    die("cannot start librdkafka's mock cluster");
  snprintf(boot, sizeof boot, "%s", rd_kafka_mock_cluster_bootstraps(mc));
  static const char *const names[] = {"bench-one", "bench-batch", "bench-one-lz4",
                                      "bench-batch-lz4"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    rd_kafka_mock_topic_create(mc, names[i], PARTITIONS, 1);
  /* a client of the cluster, to read the high watermarks */
  rd_kafka_conf_t *qconf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(qconf, "bootstrap.servers", boot, err, sizeof err))
    die(err);
  rd_kafka_t *query = rd_kafka_new(RD_KAFKA_PRODUCER, qconf, err, sizeof err);
  if (!query)
    die(err);
  double bytes = lp_bytes(metrics);
  printf("outputs.kafka -> mock cluster, %d cpu metrics (%.0f bytes of line protocol each), "
         "batches of %d\n",
         metrics, bytes / metrics, BATCH);
  printf("%-30s %12s %12s %10s %8s\n", "case", "metrics/s", "messages/s", "per msg", "MB/s");
  run_case(query, "one", "", metrics, bytes);
  run_case(query, "batch", "batch_format = true;", metrics, bytes);
  run_case(query, "one-lz4", "compression_codec = \"lz4\";", metrics, bytes);
  run_case(query, "batch-lz4", "batch_format = true; compression_codec = \"lz4\";", metrics, bytes);
  /* alternate, after a warm-up, so that neither pays for the other's
   * connection set-up or cold caches */
  int raw = metrics * 2;
  double copy = 1e9, nocopy = 1e9;
  produce_ns(raw / 4, RD_KAFKA_MSG_F_COPY);
  for (int round = 0; round < 3; round++) {
    double c = produce_ns(raw, RD_KAFKA_MSG_F_COPY), n = produce_ns(raw, 0);
    copy = c < copy ? c : copy;
    nocopy = n < nocopy ? n : nocopy;
  }
  printf("librdkafka producev alone, %d messages of 330 bytes (best of 3): F_COPY %.0f ns, "
         "no copy %.0f ns per call (%.0f / %.0f msgs/s)\n",
         raw, copy, nocopy, 1e9 / copy, 1e9 / nocopy);
  rd_kafka_destroy(query);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
