/* inputs.kafka_lag: the cost of one gather against librdkafka's mock
 * cluster (in this process), for G consumer groups that each committed an
 * offset on every one of P partitions of one topic (G x P partition
 * metrics, plus G topic metrics). The gather runs through the real core
 * (accumulator, processors, output buffer) the way the input thread runs
 * it.
 *
 * Usage: bench_kafka_lag [groups, default 100] [partitions, default 100]
 *                        [gathers, default 10]
 *   case 1: lag only (the default: G ListConsumerGroupOffsets requests in
 *           flight at once, one ListOffsets per leader broker);
 *   case 2: with lag_seconds (one fetch per lagging partition and distinct
 *           committed offset on top).
 * Wall time is per gather; CPU is the whole process's (the input's thread,
 * librdkafka's threads and the mock brokers, which run here too), so it is
 * an upper bound for the agent's share against a real cluster.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "bench_util.h"

#define MESSAGES_PER_PARTITION 10

static const char *bootstraps;

static double process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *group) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err) ||
      (group && rd_kafka_conf_set(conf, "group.id", group, err, sizeof err)))
    bench_die(err);
  rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk)
    bench_die(err);
  return rk;
}

static void produce(int partitions) {
  rd_kafka_t *p = client(RD_KAFKA_PRODUCER, NULL);
  for (int part = 0; part < partitions; part++)
    for (int i = 0; i < MESSAGES_PER_PARTITION; i++)
      if (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(part),
                            RD_KAFKA_V_VALUE("m", 1), RD_KAFKA_V_END))
        bench_die("produce");
  if (rd_kafka_flush(p, 60000))
    bench_die("produce: flush");
  rd_kafka_destroy(p);
}

/* Group g commits offset (g + p) % MESSAGES_PER_PARTITION on partition p:
 * most partitions lag, by different amounts. */
static void commit(int groups, int partitions) {
  for (int g = 0; g < groups; g++) {
    char name[32];
    snprintf(name, sizeof name, "g%03d", g);
    rd_kafka_t *c = client(RD_KAFKA_CONSUMER, name);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
      rd_kafka_topic_partition_list_add(l, "t", p)->offset = (g + p) % MESSAGES_PER_PARTITION;
    if (rd_kafka_commit(c, l, 0))
      bench_die("commit");
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(c);
  }
}

/* One gather as the input thread makes it; returns its error count. */
static int gather_once(twi_pipeline *pl) {
  tower_ctx *in = pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, pl, false);
  twi_acc_begin(acc, tower_now());
  in->plugin->desc.gather(in->state, acc);
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  return errors;
}

static void bench_gather(const char *label, int groups, const char *extra, long gathers) {
  size_t cap = 1024 + (size_t)groups * 8;
  char *names = malloc(cap), *text = malloc(cap + 1024);
  if (!names || !text)
    bench_die("out of memory");
  size_t len = 0;
  for (int g = 0; g < groups; g++)
    len += (size_t)snprintf(names + len, cap - len, "%s\"g%03d\"", g ? ", " : "", g);
  snprintf(text, cap + 1024,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"kafka_lag\"; brokers = [\"%s\"]; consumer_groups = [%s]; "
           "topics = [\"t\"]; timeout = \"60s\"; %s } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; "
           "metric_buffer_limit = 1000000; } );\n",
           bootstraps, names, extra);
  twi_pipeline *pl = bench_pipeline(text);
  int errors = gather_once(pl); /* warm up: connections, coordinators, buffers */
  size_t metrics = twi_output_buffered(pl->outputs[0]);
  twi_output_flush_sync(pl->outputs[0]);
  double w0 = bench_now(), c0 = process_cpu();
  for (long i = 0; i < gathers; i++)
    errors += gather_once(pl);
  double wall = bench_now() - w0, cpu = process_cpu() - c0;
  twi_output_flush_sync(pl->outputs[0]);
  twi_pipeline_free(pl);
  free(names);
  free(text);
  if (errors) {
    fprintf(stderr, "bench_kafka_lag: %d gather errors\n", errors);
    exit(1);
  }
  printf("%-44s %7zu %9.1f ms %9.1f ms\n", label, metrics, wall * 1e3 / (double)gathers,
         cpu * 1e3 / (double)gathers);
}

int main(int argc, char **argv) {
  int groups = argc > 1 ? atoi(argv[1]) : 100;
  int partitions = argc > 2 ? atoi(argv[2]) : 100;
  long gathers = argc > 3 ? atol(argv[3]) : 10;
  if (groups <= 0 || groups > 1000 || partitions <= 0 || gathers <= 0) {
    fprintf(stderr, "usage: bench_kafka_lag [groups <= 1000] [partitions] [gathers]\n");
    return 2;
  }
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
  rd_kafka_t *mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!mock_rk)
    bench_die(err);
  rd_kafka_mock_cluster_t *mock = rd_kafka_mock_cluster_new(mock_rk, 3);
  if (!mock || rd_kafka_mock_topic_create(mock, "t", partitions, 3))
    bench_die("mock cluster");
  bootstraps = rd_kafka_mock_cluster_bootstraps(mock);
  produce(partitions);
  commit(groups, partitions);

  printf("%d groups x %d partitions, 3 mock brokers, %ld gathers\n", groups, partitions, gathers);
  printf("%-44s %7s %12s %12s\n", "case", "metrics", "wall/gather", "cpu/gather");
  bench_gather("lag", groups, "", gathers);
  bench_gather("lag + lag_seconds", groups, "lag_seconds = true;", gathers);

  rd_kafka_mock_cluster_destroy(mock);
  rd_kafka_destroy(mock_rk);
  return 0;
}
