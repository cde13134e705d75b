/* A Kafka cluster for tests: librdkafka's mock cluster, a real Kafka
 * protocol peer (producers, consumer groups, offsets), on loopback.
 *
 *   mock_kafka [-b BROKERS] [-t TOPIC[:PARTITIONS]]... [-f BOOTSTRAP_FILE]
 *
 * Prints the bootstrap list ("127.0.0.1:p1,127.0.0.1:p2") on stdout (and
 * into BOOTSTRAP_FILE), then runs until SIGTERM/SIGINT. Control:
 *   SIGUSR1  every broker goes down (connections refused)
 *   SIGUSR2  every broker comes back up
 * and on stdin, one command per line: "down ID", "up ID", "rtt ID MS",
 * "topic NAME PARTITIONS"; each is answered on stdout, once carried out,
 * with "ok" (or "error: ..."), so that a test can wait for it. */
#include <errno.h>
#include <stdbool.h>
#include <sys/select.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t want_down, want_up, want_quit;

static void on_signal(int sig) {
  if (sig == SIGUSR1)
    want_down = 1;
  else if (sig == SIGUSR2)
    want_up = 1;
  else
    want_quit = 1;
}

static void all_brokers(rd_kafka_mock_cluster_t *mc, int n, bool up) {
  for (int id = 1; id <= n; id++)
    up ? rd_kafka_mock_broker_set_up(mc, id) : rd_kafka_mock_broker_set_down(mc, id);
  fprintf(stderr, "mock_kafka: %d broker(s) %s\n", n, up ? "up" : "down");
}

/* The mock cluster picks each partition's leader at random (librdkafka
 * 2.0) or puts them all on one broker (later versions); leaders are set
 * here in turn instead (partition p on broker p % BROKERS + 1), so that a
 * test taking one broker down knows which partitions it takes away. */
static rd_kafka_resp_err_t make_topic(rd_kafka_mock_cluster_t *mc, const char *name, int partitions,
                                      int nbrokers) {
  rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(mc, name, partitions, nbrokers < 3 ? nbrokers : 3);
  for (int p = 0; !err && p < partitions; p++)
    err = rd_kafka_mock_partition_set_leader(mc, name, p, p % nbrokers + 1);
  return err;
}

/* -t TOPIC[:PARTITIONS] */
static int create_topic(rd_kafka_mock_cluster_t *mc, char *spec, int nbrokers) {
  int partitions = 1;
  char *colon = strchr(spec, ':');
  if (colon) {
    *colon = '\0';
    partitions = atoi(colon + 1);
  }
  rd_kafka_resp_err_t err = make_topic(mc, spec, partitions, nbrokers);
  if (err) {
    fprintf(stderr, "mock_kafka: topic %s: %s\n", spec, rd_kafka_err2str(err));
    return -1;
  }
  return 0;
}

static void command(rd_kafka_mock_cluster_t *mc, int nbrokers, char *line) {
  char name[256];
  int id, value;
  rd_kafka_resp_err_t err;
  if (sscanf(line, "down %d", &id) == 1)
    err = rd_kafka_mock_broker_set_down(mc, id);
  else if (sscanf(line, "up %d", &id) == 1)
    err = rd_kafka_mock_broker_set_up(mc, id);
  else if (sscanf(line, "rtt %d %d", &id, &value) == 2)
    err = rd_kafka_mock_broker_set_rtt(mc, id, value);
  else if (sscanf(line, "topic %255s %d", name, &value) == 2)
    err = make_topic(mc, name, value, nbrokers);
  else {
    line[strcspn(line, "\n")] = '\0';
    printf("error: unknown command: %s\n", line);
    fflush(stdout);
    return;
  }
  if (err)
    printf("error: %s\n", rd_kafka_err2str(err));
  else
    printf("ok\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  int nbrokers = 1, opt;
  const char *file = NULL;
  char *topics[64];
  int ntopics = 0;
  while ((opt = getopt(argc, argv, "b:t:f:")) != -1) {
    if (opt == 'b')
      nbrokers = atoi(optarg);
    else if (opt == 't' && ntopics < 64)
      topics[ntopics++] = optarg;
    else if (opt == 'f')
      file = optarg;
    else {
      fprintf(stderr, "usage: mock_kafka [-b BROKERS] [-t TOPIC[:PARTITIONS]]... [-f FILE]\n");
      return 2;
    }
  }
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "mock_kafka: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nbrokers);
  if (!mc) {
    fprintf(stderr, "mock_kafka: cannot create the mock cluster\n");
    return 1;
  }
  for (int i = 0; i < ntopics; i++)
    if (create_topic(mc, topics[i], nbrokers))
      return 1;
  const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
  printf("%s\n", bootstraps);
  fflush(stdout);
  if (file) {
    FILE *f = fopen(file, "w");
    if (!f || fprintf(f, "%s\n", bootstraps) < 0 || fclose(f) != 0) {
      fprintf(stderr, "mock_kafka: cannot write %s: %s\n", file, strerror(errno));
      return 1;
    }
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  /* A reader that stopped reading our answers must not kill the cluster. */
  signal(SIGPIPE, SIG_IGN);
  char line[512];
  bool stdin_open = true;
  /* Unbuffered, so that lines fgets() has not consumed stay in the pipe and
   * select() sees them: several commands sent at once all run. */
  setvbuf(stdin, NULL, _IONBF, 0);
  while (!want_quit) {
    if (want_down) {
      want_down = 0;
      all_brokers(mc, nbrokers, false);
    }
    if (want_up) {
      want_up = 0;
      all_brokers(mc, nbrokers, true);
    }
    if (stdin_open) {
      /* stdin may be a terminal, a pipe or /dev/null: poll it briefly. */
      fd_set fds;
      FD_ZERO(&fds);
      FD_SET(0, &fds);
      struct timeval tv = {0, 100000};
      if (select(1, &fds, NULL, NULL, &tv) > 0) {
        if (fgets(line, sizeof line, stdin))
          command(mc, nbrokers, line);
        else
          stdin_open = false;
      }
    } else {
      usleep(100000);
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
