/* outputs.kafka.
 *
 * "plan": the batch -> messages step (plugins/outputs/kafka/kafka_plan.c,
 * linked in directly): layout probe, batch_format packing under
 * max_message_bytes, routes, rejections.
 *
 * The other cases run the real plugin through the real core against a real
 * Kafka protocol peer: tests/kafka/mock_kafka (librdkafka's mock cluster) on
 * 127.0.0.1, started per test, and read back what it stored with a
 * librdkafka consumer. The mock is built by `make check`; a missing one is a
 * failure, not a skip. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <tower/tower.h>

#include "harness.h"
#include "log_internal.h"
#include "check_run.h"
#include "../../plugins/outputs/kafka/kafka.h"

/* ---- plan ------------------------------------------------------------------ */

static tower_serializer *serializer(const char *format) {
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new_format(NULL, format, &s), 0);
  return s;
}

static void plan_init(kafka_plan *p, const char *format, const kafka_plan_conf *c) {
  tower_serializer *probe = serializer(format);
  ck_assert_int_eq(kafka_plan_init(p, c, serializer(format), probe), 0);
  tower_serializer_free(probe);
}

static void plan_free(kafka_plan *p) {
  tower_serializer *s = p->ser;
  kafka_plan_free(p);
  tower_serializer_free(s);
}

/* n metrics "cpu,host=h<i%hosts>[,dest=<dest>] v=<i>i <i>". */
static tower_metric **make_metrics(size_t n, int hosts, const char *dest) {
  tower_metric **ms = calloc(n, sizeof *ms);
  for (size_t i = 0; i < n; i++) {
    char host[16];
    snprintf(host, sizeof host, "h%d", (int)(i % (size_t)hosts));
    ms[i] = tower_metric_new("cpu", (int64_t)i);
    tower_metric_add_tag(ms[i], "host", host);
    if (dest)
      tower_metric_add_tag(ms[i], "dest", dest);
    tower_metric_add_int(ms[i], "v", (int64_t)i);
  }
  return ms;
}

static void free_metrics(tower_metric **ms, size_t n) {
  for (size_t i = 0; i < n; i++)
    tower_metric_free(ms[i]);
  free(ms);
}

static const tower_metric *const *cms(tower_metric **ms) {
  return (const tower_metric *const *)ms;
}

START_TEST(test_plan_layout) {
  kafka_plan_conf c = {.topic = "t", .max_bytes = 1000, .batch_format = true};
  kafka_plan p;
  plan_init(&p, "influx", &c);
  ck_assert(p.concat);
  ck_assert_uint_eq(p.envelope, 0);
  plan_free(&p);
  plan_init(&p, "json", &c);
  ck_assert(!p.concat);
  ck_assert_uint_eq(p.envelope, strlen("{\"metrics\":[]}\n"));
  plan_free(&p);
  plan_init(&p, "csv", &c);
  ck_assert(p.concat);
  plan_free(&p);
}
END_TEST

START_TEST(test_plan_one_per_message) {
  kafka_plan_conf c = {.topic = "t", .max_bytes = 1000};
  kafka_plan p;
  plan_init(&p, "influx", &c);
  tower_metric **ms = make_metrics(5, 2, NULL);
  ck_assert_int_eq(kafka_plan_build(&p, cms(ms), 5, NULL), 0);
  ck_assert_uint_eq(p.nmsgs, 5);
  for (size_t i = 0; i < 5; i++) {
    char want[64];
    snprintf(want, sizeof want, "cpu,host=h%zu v=%zui %zu\n", i % 2, i, i);
    ck_assert_uint_eq(p.msgs[i].len, strlen(want));
    ck_assert(memcmp(kafka_msg_data(&p, &p.msgs[i]), want, strlen(want)) == 0);
    ck_assert_str_eq(p.msgs[i].topic, "t");
    ck_assert_ptr_null(p.msgs[i].key);
  }
  free_metrics(ms, 5);
  plan_free(&p);
}
END_TEST

/* Every message within max, in batch order, all metrics exactly once, and
 * packed greedily (a message plus the next metric would not fit). */
static void check_split(const char *format, size_t max, size_t n) {
  kafka_plan_conf c = {.topic = "t", .max_bytes = max, .batch_format = true};
  kafka_plan p;
  plan_init(&p, format, &c);
  tower_metric **ms = make_metrics(n, 1, NULL);
  ck_assert_int_eq(kafka_plan_build(&p, cms(ms), n, NULL), 0);
  ck_assert_uint_eq(p.nrejected, 0);
  size_t next = 0;
  tower_serializer *one = serializer(format);
  tower_buf *b = tower_buf_new(0);
  for (size_t i = 0; i < p.nmsgs; i++) {
    const kafka_msg *m = &p.msgs[i];
    ck_assert_msg(m->len <= max, "%s message %zu: %zu bytes > %zu", format, i, m->len, max);
    ck_assert_uint_eq(m->first, next);
    for (size_t k = m->first; k < m->first + m->count; k++)
      ck_assert_uint_eq(p.items[k].index, k);
    next += m->count;
    /* the same metrics as a batch serialize to exactly these bytes */
    tower_buf_reset(b);
    ck_assert_int_eq(tower_serialize_batch(one, cms(ms) + m->first, m->count, b), (int)m->count);
    ck_assert_uint_eq(tower_buf_len(b), m->len);
    ck_assert(memcmp(tower_buf_data(b), kafka_msg_data(&p, m), m->len) == 0);
    if (i + 1 < p.nmsgs) { /* greedy: one more would not have fit */
      tower_buf_reset(b);
      tower_serialize_batch(one, cms(ms) + m->first, m->count + 1, b);
      ck_assert_uint_gt(tower_buf_len(b), max);
    }
  }
  ck_assert_uint_eq(next, n);
  ck_assert_uint_gt(p.nmsgs, 1);
  tower_buf_free(b);
  tower_serializer_free(one);
  free_metrics(ms, n);
  plan_free(&p);
}

START_TEST(test_plan_split_influx) {
  check_split("influx", 300, 100);
  check_split("influx", 1000, 1000);
}
END_TEST

START_TEST(test_plan_split_json) {
  check_split("json", 300, 100);
  check_split("json", 1000, 1000);
}
END_TEST

START_TEST(test_plan_routes) {
  kafka_plan_conf c = {.topic = "t",
                       .topic_tag = "dest",
                       .routing_tag = "host",
                       .max_bytes = 100000,
                       .batch_format = true};
  kafka_plan p;
  plan_init(&p, "influx", &c);
  size_t n = 30;
  tower_metric **ms = make_metrics(n, 3, NULL);
  for (size_t i = 0; i < n; i += 2)
    tower_metric_add_tag(ms[i], "dest", i % 4 ? "a" : "b");
  ck_assert_int_eq(kafka_plan_build(&p, cms(ms), n, NULL), 0);
  size_t seen = 0;
  for (size_t i = 0; i < p.nmsgs; i++) {
    const kafka_msg *m = &p.msgs[i];
    size_t last = 0;
    for (size_t k = m->first; k < m->first + m->count; k++) {
      const tower_metric *x = ms[p.items[k].index];
      const char *dest = tower_metric_tag(x, "dest");
      ck_assert_str_eq(m->topic, dest ? dest : "t");
      ck_assert_str_eq(m->key, tower_metric_tag(x, "host"));
      ck_assert(k == m->first || p.items[k].index > last); /* batch order kept */
      last = p.items[k].index;
    }
    seen += m->count;
  }
  ck_assert_uint_eq(seen, n);
  ck_assert_uint_eq(p.nmsgs, 3 * 3); /* topics t, a, b; keys h0, h1, h2 */
  free_metrics(ms, n);
  plan_free(&p);
}
END_TEST

START_TEST(test_plan_exclude_topic_tag) {
  kafka_plan_conf c = {
      .topic = "t", .topic_tag = "dest", .exclude_topic_tag = true, .max_bytes = 1000};
  kafka_plan p;
  plan_init(&p, "influx", &c);
  tower_metric **ms = make_metrics(2, 1, NULL);
  tower_metric_add_tag(ms[0], "dest", "d1");
  const tower_metric *shared = tower_metric_retain(ms[0]); /* as in a batch */
  ck_assert_int_eq(kafka_plan_build(&p, cms(ms), 2, NULL), 0);
  ck_assert_uint_eq(p.nmsgs, 2);
  ck_assert_str_eq(p.msgs[0].topic, "d1");
  ck_assert(memcmp(kafka_msg_data(&p, &p.msgs[0]), "cpu,host=h0 v=0i 0\n", p.msgs[0].len) == 0);
  ck_assert_str_eq(tower_metric_tag(ms[0], "dest"), "d1"); /* the original keeps it */
  ck_assert_str_eq(p.msgs[1].topic, "t");
  tower_metric_release(shared);
  free_metrics(ms, 2);
  plan_free(&p);
}
END_TEST

START_TEST(test_plan_rejects) {
  kafka_plan_conf c = {
      .topic = "t", .topic_tag = "dest", .routing_key = "k", .max_bytes = 60, .batch_format = true};
  kafka_plan p;
  plan_init(&p, "influx", &c);
  tower_metric **ms = make_metrics(5, 1, NULL);
  tower_metric_add_string(ms[1], "long",
                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  tower_metric_remove_field(ms[2], "v");
  tower_metric_add_float(ms[2], "nan", NAN); /* line protocol cannot carry it */
  tower_metric_add_tag(ms[3], "dest", "bad topic");
  bool skip[5] = {false, false, false, false, true};
  ck_assert_int_eq(kafka_plan_build(&p, cms(ms), 5, skip), 0);
  ck_assert_uint_eq(p.nmsgs, 1);
  ck_assert_uint_eq(p.msgs[0].count, 1);
  ck_assert_uint_eq(p.items[0].index, 0);
  ck_assert_uint_eq(p.nrejected, 3);
  kafka_reject why[5] = {0};
  for (size_t i = 0; i < p.nrejected; i++)
    why[p.rejected[i].index] = p.rejected[i].why;
  ck_assert_int_eq(why[1], KAFKA_REJECT_SIZE);
  ck_assert_int_eq(why[2], KAFKA_REJECT_FORMAT);
  ck_assert_int_eq(why[3], KAFKA_REJECT_TOPIC);
  /* the key counts against max_message_bytes */
  ck_assert_uint_le(p.msgs[0].len + p.msgs[0].key_len, 60);
  free_metrics(ms, 5);
  plan_free(&p);
}
END_TEST

/* A message exactly max_message_bytes long is accepted; the batch envelope
 * counts only with batch_format. */
START_TEST(test_plan_exact_fit) {
  tower_metric **ms = make_metrics(1, 1, NULL);
  tower_serializer *one = serializer("json");
  tower_buf *b = tower_buf_new(0);
  tower_serialize(one, ms[0], b);
  size_t len = tower_buf_len(b);
  kafka_plan_conf c = {.topic = "t", .max_bytes = len};
  kafka_plan p;
  plan_init(&p, "json", &c);
  ck_assert_int_eq(kafka_plan_build(&p, cms(ms), 1, NULL), 0);
  ck_assert_uint_eq(p.nmsgs, 1);
  ck_assert_uint_eq(p.msgs[0].len, len);
  plan_free(&p);
  c.batch_format = true; /* {"metrics":[...]} does not fit any more */
  plan_init(&p, "json", &c);
  ck_assert_int_eq(kafka_plan_build(&p, cms(ms), 1, NULL), 0);
  ck_assert_uint_eq(p.nmsgs, 0);
  ck_assert_uint_eq(p.nrejected, 1);
  ck_assert_int_eq(p.rejected[0].why, KAFKA_REJECT_SIZE);
  plan_free(&p);
  c.max_bytes = len + 14; /* the batch of one: len - 1 + 15 bytes */
  plan_init(&p, "json", &c);
  ck_assert_int_eq(kafka_plan_build(&p, cms(ms), 1, NULL), 0);
  ck_assert_uint_eq(p.nmsgs, 1);
  ck_assert_uint_eq(p.msgs[0].len, len + 14);
  plan_free(&p);
  tower_buf_free(b);
  tower_serializer_free(one);
  free_metrics(ms, 1);
}
END_TEST

START_TEST(test_topic_names) {
  ck_assert(kafka_topic_valid("metrics.cpu_total-1"));
  ck_assert(!kafka_topic_valid(""));
  ck_assert(!kafka_topic_valid("."));
  ck_assert(!kafka_topic_valid(".."));
  ck_assert(!kafka_topic_valid("a b"));
  ck_assert(!kafka_topic_valid("a/b"));
  char long_name[251];
  memset(long_name, 'a', 250);
  long_name[250] = '\0';
  ck_assert(!kafka_topic_valid(long_name));
  long_name[249] = '\0';
  ck_assert(kafka_topic_valid(long_name));
}
END_TEST

/* ---- the mock cluster --------------------------------------------------------- */

static char *dir;
static pid_t mock_pid;
static int mock_in = -1, mock_out = -1;
static char boot[256];

/* Starts tests/kafka/mock_kafka with `args` and reads its bootstrap list. */
/* Reads one line of mock_kafka's stdout into buf (without the newline),
 * 30 s at most; false on timeout or end of file. Byte by byte, so that
 * nothing is read ahead of the line. */
static bool mock_line(char *buf, size_t size) {
  size_t n = 0;
  for (;;) {
    struct pollfd p = {.fd = mock_out, .events = POLLIN};
    char c;
    if (poll(&p, 1, 30000) != 1 || read(mock_out, &c, 1) != 1)
      return false;
    if (c == '\n')
      break;
    if (n + 1 < size)
      buf[n++] = c;
  }
  buf[n] = '\0';
  return true;
}

static void mock_start(const char *args) {
  const char *top = getenv("top_builddir");
  char *path = th_fmt("%s/tests/kafka/mock_kafka", top ? top : ".");
  ck_assert_msg(access(path, X_OK) == 0,
                "%s is missing: `make check` builds it (it needs librdkafka-dev)", path);
  int in[2], out[2];
  ck_assert_int_eq(pipe(in), 0);
  ck_assert_int_eq(pipe(out), 0);
  mock_pid = fork();
  ck_assert_int_ge(mock_pid, 0);
  if (mock_pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[1]);
    close(out[0]);
    char *cmd = th_fmt("exec '%s' %s", path, args);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  mock_in = in[1];
  mock_out = out[0];
  ck_assert_msg(mock_line(boot, sizeof boot), "mock_kafka printed no bootstrap list");
  free(path);
}

/* Runs a command of mock_kafka's stdin ("down 2") and waits until the mock
 * says it is done, so that the next step sees its effect. */
static void mock_cmd(const char *line) {
  ck_assert_int_eq(write(mock_in, line, strlen(line)), (ssize_t)strlen(line));
  char reply[64];
  ck_assert_msg(mock_line(reply, sizeof reply), "mock_kafka did not answer %s", line);
  ck_assert_msg(strcmp(reply, "ok") == 0, "mock_kafka: %s: %s", line, reply);
}

static void mock_stop(void) {
  if (mock_pid > 0) {
    kill(mock_pid, SIGTERM);
    waitpid(mock_pid, NULL, 0);
  }
  if (mock_in >= 0)
    close(mock_in);
  if (mock_out >= 0)
    close(mock_out);
  mock_out = -1;
  mock_pid = 0;
  mock_in = -1;
}

static void setup(void) {
  dir = th_tmpdir();
  mock_start("");
}

static void setup_no_mock(void) {
  dir = th_tmpdir();
}

static void teardown(void) {
  mock_stop();
  th_rmrf(dir);
  free(dir);
}

/* ---- consuming ---------------------------------------------------------------- */

typedef struct kmsg {
  char *topic, *key, *payload; /* key NULL: none */
  int partition;
  size_t len;
  int64_t ts;
} kmsg;

typedef struct kmsgs {
  kmsg *v;
  size_t n;
} kmsgs;

static rd_kafka_t *consumer(void) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  ck_assert(rd_kafka_conf_set(conf, "bootstrap.servers", boot, err, sizeof err) == 0);
  ck_assert(rd_kafka_conf_set(conf, "group.id", "test", err, sizeof err) == 0);
  ck_assert(rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err) == 0);
  ck_assert(rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) == 0);
  ck_assert(rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err) == 0);
  /* the end of a partition shows after a fetch: do not let the broker
   * hold fetches for the default 500 ms */
  ck_assert(rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err) == 0);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  ck_assert_msg(rk != NULL, "consumer: %s", err);
  return rk;
}

static int partitions(rd_kafka_t *rk, const char *topic) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  int n = 0;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == 0 && md->topic_cnt == 1 && !md->topics[0].err)
    n = md->topics[0].partition_cnt;
  if (md)
    rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return n;
}

static char *dupn(const void *p, size_t n) {
  char *s = malloc(n + 1);
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

/* Everything stored in `topic` (all partitions, partition by partition in
 * offset order). An absent topic gives nothing. */
static kmsgs consume(const char *topic) {
  kmsgs r = {0};
  rd_kafka_t *rk = consumer();
  int np = partitions(rk, topic), eof = 0;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np ? np : 1);
  for (int i = 0; i < np; i++)
    rd_kafka_topic_partition_list_add(l, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (np)
    ck_assert_int_eq(rd_kafka_assign(rk, l), 0);
  rd_kafka_topic_partition_list_destroy(l);
  size_t cap = 0;
  for (int idle = 0; eof < np && idle < 100;) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) {
      idle++;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      eof++;
    } else {
      ck_assert_msg(!m->err, "consume %s: %s", topic, rd_kafka_message_errstr(m));
      if (r.n == cap)
        r.v = realloc(r.v, (cap = cap ? cap * 2 : 64) * sizeof *r.v);
      r.v[r.n++] = (kmsg){.topic = strdup(topic),
                          .key = m->key ? dupn(m->key, m->key_len) : NULL,
                          .payload = dupn(m->payload, m->len),
                          .partition = m->partition,
                          .len = m->len,
                          .ts = rd_kafka_message_timestamp(m, NULL)};
    }
    rd_kafka_message_destroy(m);
  }
  ck_assert_int_eq(eof, np);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return r;
}

static void kmsgs_free(kmsgs *r) {
  for (size_t i = 0; i < r->n; i++) {
    free(r->v[i].topic);
    free(r->v[i].key);
    free(r->v[i].payload);
  }
  free(r->v);
  *r = (kmsgs){0};
}

/* All payloads of `r` concatenated, lines sorted (malloc'd). */
static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_lines(const kmsgs *r) {
  size_t total = 1, nl = 0;
  for (size_t i = 0; i < r->n; i++)
    total += r->v[i].len + 1;
  char *all = malloc(total), *p = all;
  for (size_t i = 0; i < r->n; i++) {
    memcpy(p, r->v[i].payload, r->v[i].len);
    p += r->v[i].len;
  }
  *p = '\0';
  char **lines = malloc(total * sizeof *lines);
  for (char *s = strtok(all, "\n"); s; s = strtok(NULL, "\n"))
    lines[nl++] = s;
  qsort(lines, nl, sizeof *lines, cmp_str);
  char *out = malloc(total + 1), *o = out;
  for (size_t i = 0; i < nl; i++)
    o += sprintf(o, "%s\n", lines[i]);
  *o = '\0';
  free(lines);
  free(all);
  return out;
}

/* Compares long texts; on a difference reports the first differing line
 * (Check cannot carry messages of many kB). */
static void ck_text_eq(const char *got, const char *want) {
  if (strcmp(got, want) == 0)
    return;
  size_t line = 1, i = 0;
  for (; got[i] && got[i] == want[i]; i++)
    line += got[i] == '\n';
  size_t start = i;
  while (start > 0 && got[start - 1] != '\n')
    start--;
  ck_abort_msg("texts differ at line %zu (got %zu bytes, want %zu): got \"%.80s\", want \"%.80s\"",
               line, strlen(got), strlen(want), got + start, want + start);
}

/* ---- pipelines ------------------------------------------------------------------ */

static char *log_path;

static void log_begin(void) {
  log_path = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
}

static char *log_end(void) {
  twi_log_set_file(NULL);
  char *text = th_read_file(log_path);
  free(log_path);
  log_path = NULL;
  return text ? text : strdup("");
}

static char *config(const char *opts, const char *agent) {
  return th_fmt(
      "agent = { omit_hostname = true; metric_batch_size = 1000; "
      "metric_buffer_limit = 100000; %s };\n"
      "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [\"unused v=1\"]; } );\n"
      "outputs = ( { plugin = \"kafka\"; brokers = [\"%s\"]; %s } );\n",
      agent ? agent : "", boot, opts ? opts : "");
}

static twi_pipeline *start(const char *opts) {
  char *c = config(opts, NULL);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  return pl;
}

/* Hands line protocol to the output buffer as one gather, then flushes;
 * returns what th_flush() returns (metrics left or dropped). */
static size_t push(twi_pipeline *pl, const char *lines) {
  tower_metric **ms;
  size_t n = th_parse(lines, &ms);
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  twi_acc_begin(acc, 1700000000000000000LL);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(tower_acc_add(acc, ms[i]), 0);
  tower_acc_commit(acc);
  twi_acc_free(acc);
  free(ms);
  return th_flush(pl);
}

/* n lines "cpu,cpu=cpu<i%64>,host=h<i%hosts> n=<i>i,usage=<i>.5 <ts+i ms>" (in
 * the order the serializer writes: tags and fields sorted). */
static char *cpu_lines(size_t n, int hosts) {
  char *s = malloc(n * 96 + 1), *p = s;
  for (size_t i = 0; i < n; i++)
    p += sprintf(p, "cpu,cpu=cpu%zu,host=h%d n=%zui,usage=%zu.5 %lld\n", i % 64,
                 (int)(i % (size_t)hosts), i, i, 1700000000000000000LL + (long long)i * 1000000);
  *p = '\0';
  return s;
}

/* The lines of `text`, sorted. */
static char *sort_text(const char *text) {
  kmsg m = {.payload = (char *)text, .len = strlen(text)};
  kmsgs r = {.v = &m, .n = 1};
  return sorted_lines(&r);
}

static uint64_t rejected(twi_pipeline *pl) {
  return atomic_load(&pl->outputs[0]->stats.rejected);
}

/* ---- messages, keys, topics --------------------------------------------------- */

START_TEST(test_one_metric_per_message) {
  twi_pipeline *pl = start(NULL);
  char *lines = cpu_lines(50, 5);
  ck_assert_uint_eq(push(pl, lines), 0);
  kmsgs r = consume("telegraf");
  ck_assert_uint_eq(r.n, 50);
  for (size_t i = 0; i < r.n; i++) {
    ck_assert_ptr_null(r.v[i].key);
    ck_assert_int_eq(strchr(r.v[i].payload, '\n') - r.v[i].payload, (int)r.v[i].len - 1);
    /* the Kafka timestamp is the metric's, in ms */
    long long n;
    ck_assert_int_eq(sscanf(strstr(r.v[i].payload, " n=") + 3, "%lld", &n), 1);
    ck_assert_int_eq(r.v[i].ts, 1700000000000LL + n);
  }
  char *got = sorted_lines(&r), *want = sort_text(lines);
  ck_text_eq(got, want);
  ck_assert_uint_eq(rejected(pl), 0);
  free(got);
  free(want);
  free(lines);
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

START_TEST(test_routing_tag) {
  twi_pipeline *pl = start("topic = \"metrics\"; routing_tag = \"host\"; routing_key = \"other\";");
  ck_assert_uint_eq(push(pl, "cpu,host=web1 v=1i 1\ncpu,host=web2 v=2i 2\ncpu,host=web1 v=3i 3\n"
                             "cpu v=4i 4\n"),
                    0);
  kmsgs r = consume("metrics");
  ck_assert_uint_eq(r.n, 4);
  int part_web1 = -1;
  for (size_t i = 0; i < r.n; i++) {
    const char *host = strstr(r.v[i].payload, "host=");
    const char *want = !host ? "other" : strncmp(host, "host=web1", 9) == 0 ? "web1" : "web2";
    ck_assert_str_eq(r.v[i].key, want);
    if (strcmp(want, "web1") == 0) { /* one key, one partition */
      ck_assert(part_web1 == -1 || part_web1 == r.v[i].partition);
      part_web1 = r.v[i].partition;
    }
  }
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

START_TEST(test_routing_key_random) {
  twi_pipeline *pl = start("routing_key = \"random\";");
  ck_assert_uint_eq(push(pl, "a v=1i 1\na v=2i 2\na v=3i 3\n"), 0);
  kmsgs r = consume("telegraf");
  ck_assert_uint_eq(r.n, 3);
  for (size_t i = 0; i < r.n; i++) {
    ck_assert_uint_eq(strlen(r.v[i].key), 36);
    ck_assert_int_eq(r.v[i].key[14], '4'); /* UUID version 4 */
    for (size_t j = 0; j < i; j++)
      ck_assert_str_ne(r.v[i].key, r.v[j].key);
  }
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

static void check_topics(bool exclude) {
  char *opts = th_fmt("topic_tag = \"dest\"; exclude_topic_tag = %s;", exclude ? "true" : "false");
  twi_pipeline *pl = start(opts);
  ck_assert_uint_eq(push(pl, "a,dest=alpha v=1i 1\nb,dest=beta v=2i 2\nc v=3i 3\n"
                             "d,dest=not/valid v=4i 4\n"),
                    1); /* the invalid topic name is rejected (counted as dropped) */
  ck_assert_uint_eq(rejected(pl), 1);
  kmsgs a = consume("alpha"), b = consume("beta"), t = consume("telegraf");
  ck_assert_uint_eq(a.n, 1);
  ck_assert_uint_eq(b.n, 1);
  ck_assert_uint_eq(t.n, 1);
  ck_assert_str_eq(a.v[0].payload, exclude ? "a v=1i 1\n" : "a,dest=alpha v=1i 1\n");
  ck_assert_str_eq(b.v[0].payload, exclude ? "b v=2i 2\n" : "b,dest=beta v=2i 2\n");
  ck_assert_str_eq(t.v[0].payload, "c v=3i 3\n");
  kmsgs_free(&a);
  kmsgs_free(&b);
  kmsgs_free(&t);
  free(opts);
  th_free(pl);
}

START_TEST(test_topic_tag) {
  check_topics(false);
}
END_TEST

START_TEST(test_topic_tag_excluded) {
  check_topics(true);
}
END_TEST

/* ---- formats and batches -------------------------------------------------------- */

START_TEST(test_json) {
  twi_pipeline *pl = start("data_format = \"json\"; routing_tag = \"host\";");
  ck_assert_uint_eq(push(pl, "cpu,host=a usage=1.5 1700000000000000000\n"), 0);
  kmsgs r = consume("telegraf");
  ck_assert_uint_eq(r.n, 1);
  ck_assert_str_eq(r.v[0].key, "a");
  ck_assert_str_eq(r.v[0].payload, "{\"fields\":{\"usage\":1.5},\"name\":\"cpu\",\"tags\":"
                                   "{\"host\":\"a\"},\"timestamp\":1700000000}\n");
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

static void check_batches(const char *format, size_t n, size_t max) {
  char *opts = th_fmt("data_format = \"%s\"; batch_format = true; max_message_bytes = %zu; "
                      "routing_tag = \"host\";",
                      format, max);
  twi_pipeline *pl = start(opts);
  char *lines = cpu_lines(n, 3);
  ck_assert_uint_eq(push(pl, lines), 0);
  kmsgs r = consume("telegraf");
  size_t metrics = 0;
  for (size_t i = 0; i < r.n; i++) {
    kmsg *m = &r.v[i];
    ck_assert_msg(m->len + strlen(m->key) <= max, "message %zu: %zu bytes", i, m->len);
    /* every metric of the message has the message's key */
    bool json = strcmp(format, "json") == 0;
    const char *tag = json ? "\"host\":\"" : "host=";
    size_t k = 0;
    for (const char *p = strstr(m->payload, tag); p; p = strstr(p + 1, tag), k++)
      ck_assert_int_eq(p[strlen(tag) + 1], m->key[1]);
    if (json)
      ck_assert(strncmp(m->payload, "{\"metrics\":[", 12) == 0);
    ck_assert_uint_gt(k, 1); /* several metrics per message */
    metrics += k;
  }
  ck_assert_uint_eq(metrics, n);
  ck_assert_uint_lt(r.n, n / 5);
  if (strcmp(format, "influx") == 0) {
    char *got = sorted_lines(&r), *want = sort_text(lines);
    ck_text_eq(got, want);
    free(got);
    free(want);
  }
  kmsgs_free(&r);
  free(lines);
  free(opts);
  th_free(pl);
}

START_TEST(test_batch_format_influx) {
  check_batches("influx", 900, 2000);
}
END_TEST

START_TEST(test_batch_format_json) {
  check_batches("json", 900, 2000);
}
END_TEST

START_TEST(test_too_large_rejected) {
  twi_pipeline *pl = start("max_message_bytes = 100; batch_format = true;");
  ck_assert_uint_eq(push(pl,
                         "a v=1i 1\nbig s=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" 2\nc v=3i 3\n"),
                    1);
  ck_assert_uint_eq(rejected(pl), 1);
  kmsgs r = consume("telegraf");
  ck_assert_uint_eq(r.n, 1);
  ck_assert_str_eq(r.v[0].payload, "a v=1i 1\nc v=3i 3\n");
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

START_TEST(test_compression) {
  static const char *const codecs[] = {"\"none\"", "\"gzip\"", "\"snappy\"", "\"lz4\"",
                                       "\"zstd\"", "0",        "1",          "4"};
  for (size_t c = 0; c < sizeof codecs / sizeof *codecs; c++) {
    char *opts =
        th_fmt("topic = \"z%zu\"; compression_codec = %s; batch_format = true;", c, codecs[c]);
    twi_pipeline *pl = start(opts);
    char *lines = cpu_lines(200, 2);
    ck_assert_uint_eq(push(pl, lines), 0);
    char *topic = th_fmt("z%zu", c);
    kmsgs r = consume(topic);
    char *got = sorted_lines(&r), *want = sort_text(lines);
    ck_text_eq(got, want);
    free(got);
    free(want);
    free(topic);
    kmsgs_free(&r);
    free(lines);
    free(opts);
    th_free(pl);
  }
}
END_TEST

/* A tiny librdkafka queue: producing waits for room (back-pressure), it
 * does not lose metrics. */
START_TEST(test_queue_full) {
  twi_pipeline *pl = start("librdkafka = { queue_buffering_max_messages = \"10\"; };");
  char *lines = cpu_lines(1000, 4);
  ck_assert_uint_eq(push(pl, lines), 0);
  kmsgs r = consume("telegraf");
  ck_assert_uint_eq(r.n, 1000);
  kmsgs_free(&r);
  free(lines);
  th_free(pl);
}
END_TEST

/* ---- failures ------------------------------------------------------------------ */

/* Brokers down: the write fails (RETRY, metrics kept), nothing is lost,
 * and once they are back the retry delivers each metric once. */
START_TEST(test_brokers_down) {
  twi_pipeline *pl = start("write_timeout = \"1s\";");
  ck_assert_uint_eq(push(pl, "a v=1i 1\n"), 0); /* connected */
  mock_cmd("down 1\n");
  log_begin();
  ck_assert_uint_eq(push(pl, "b v=2i 2\nc v=3i 3\n"), 2);
  char *log = log_end();
  ck_assert_msg(strstr(log, "2 of 2 messages (2 metrics) to 127.0.0.1:") != NULL, "%s", log);
  ck_assert_msg(strstr(log, "write_timeout") != NULL, "%s", log);
  mock_cmd("up 1\n");
  size_t left = 2; /* librdkafka reconnects with a backoff: a write may still miss it */
  for (int i = 0; i < 10 && left; i++)
    left = th_flush(pl);
  ck_assert_uint_eq(left, 0);
  kmsgs r = consume("telegraf");
  char *got = sorted_lines(&r);
  ck_assert_str_eq(got, "a v=1i 1\nb v=2i 2\nc v=3i 3\n");
  free(got);
  free(log);
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

/* Two brokers, one down: the messages to its partitions fail, the others
 * are delivered; the retry sends only the failed ones. */
START_TEST(test_partial_failure_no_duplicates) {
  mock_stop();
  /* brokers 1 and 2 lead two partitions each: 90 of the 200 metrics go to
   * broker 2 (routing_tag host) */
  mock_start("-b 2 -t spread:4");
  twi_pipeline *pl = start("topic = \"spread\"; routing_tag = \"host\"; write_timeout = \"1s\"; "
                           "librdkafka = { topic_metadata_refresh_interval_ms = \"100\"; };");
  char *warm = cpu_lines(40, 40);
  ck_assert_uint_eq(push(pl, warm), 0);
  mock_cmd("down 2\n");
  char *lines = cpu_lines(200, 40);
  size_t left = push(pl, lines);
  ck_assert_uint_gt(left, 0);
  mock_cmd("up 2\n");
  for (int i = 0; i < 10 && left; i++)
    left = th_flush(pl);
  ck_assert_uint_eq(left, 0);
  kmsgs r = consume("spread");
  ck_assert_uint_eq(r.n, 240); /* each metric exactly once */
  char *got = sorted_lines(&r), *all = th_fmt("%s%s", warm, lines), *want = sort_text(all);
  ck_text_eq(got, want);
  free(got);
  free(want);
  free(all);
  free(lines);
  free(warm);
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

/* ---- broker errors (an in-process mock cluster) ---------------------------------- *
 * mock_kafka's commands cannot inject protocol errors, so these tests run
 * librdkafka's mock cluster in the test process, where its API can. */

#define API_PRODUCE 0 /* Kafka protocol ApiKey of ProduceRequest */

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mc;

static void setup_inproc(void) {
  dir = th_tmpdir();
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
  mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ck_assert_msg(mock_rk != NULL, "%s", err);
  mc = rd_kafka_mock_cluster_new(mock_rk, 1);
  ck_assert_ptr_nonnull(mc);
  snprintf(boot, sizeof boot, "%s", rd_kafka_mock_cluster_bootstraps(mc));
}

static void teardown_inproc(void) {
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(mock_rk);
  th_rmrf(dir);
  free(dir);
}

/* push() with the log captured into *log. */
static size_t push_logged(twi_pipeline *pl, const char *lines, char **log) {
  log_begin();
  size_t left = push(pl, lines);
  *log = log_end();
  return left;
}

/* An unknown topic (the brokers do not create it): for the configured topic
 * the batch is kept, since the operator must act and no metric could go
 * anywhere; for a topic from topic_tag only its metrics are dropped. */
START_TEST(test_unknown_topic) {
  /* write_timeout bounds the wait for the topic (half of it), and the
   * delivery of the other metric: 6s, not 2s, so that a loaded machine
   * still sees "b" delivered before the unknown topic is given up on. */
  rd_kafka_mock_topic_create(mc, "known", 1, 1);
  rd_kafka_mock_topic_set_error(mc, "missing", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  twi_pipeline *pl = start("topic = \"missing\"; write_timeout = \"6s\";");
  char *log;
  ck_assert_uint_eq(push_logged(pl, "a v=1i 1\n", &log), 1);
  ck_assert_uint_eq(rejected(pl), 0);
  ck_assert_msg(strstr(log, "topic \"missing\"") && strstr(log, "create it"), "%s", log);
  free(log);
  th_free(pl);

  pl = start("topic = \"known\"; topic_tag = \"t\"; write_timeout = \"6s\";");
  ck_assert_uint_eq(push_logged(pl, "a,t=missing v=1i 1\nb v=2i 2\n", &log), 1);
  ck_assert_uint_eq(rejected(pl), 1);
  ck_assert_msg(strstr(log, "1 metric dropped") && strstr(log, "topic \"missing\""), "%s", log);
  free(log);
  kmsgs r = consume("known");
  ck_assert_uint_eq(r.n, 1);
  ck_assert_str_eq(r.v[0].payload, "b v=2i 2\n");
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

/* The broker refuses the client write access (ACL). */
START_TEST(test_topic_not_authorized) {
  rd_kafka_mock_topic_create(mc, "secret", 1, 1);
  twi_pipeline *pl = start("topic = \"secret\"; write_timeout = \"2s\";");
  rd_kafka_mock_push_request_errors(mc, API_PRODUCE, 1,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  char *log;
  ck_assert_uint_eq(push_logged(pl, "a v=1i 1\n", &log), 1);
  ck_assert_uint_eq(rejected(pl), 0);
  ck_assert_msg(strstr(log, "topic \"secret\"") && strstr(log, "grant this client Write"), "%s",
                log);
  free(log);
  th_free(pl);
}
END_TEST

/* A broker that refuses a message for good (larger than its own
 * message.max.bytes): those metrics are dropped and counted, the write
 * succeeds, the output goes on. */
START_TEST(test_broker_refuses_message) {
  rd_kafka_mock_topic_create(mc, "telegraf", 1, 1);
  twi_pipeline *pl = start(NULL);
  rd_kafka_mock_push_request_errors(mc, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  char *log;
  ck_assert_uint_eq(push_logged(pl, "a v=1i 1\n", &log), 1);
  ck_assert_uint_eq(rejected(pl), 1);
  ck_assert_msg(strstr(log, "lower max_message_bytes"), "%s", log);
  free(log);
  ck_assert_uint_eq(push(pl, "b v=2i 2\n"), 0);
  kmsgs r = consume("telegraf");
  ck_assert_uint_eq(r.n, 1);
  ck_assert_str_eq(r.v[0].payload, "b v=2i 2\n");
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

/* Transient broker errors are retried by librdkafka within the write; the
 * idempotent producer makes those retries exact. */
START_TEST(test_transient_errors) {
  rd_kafka_mock_topic_create(mc, "telegraf", 1, 1);
  twi_pipeline *pl = start(NULL);
  rd_kafka_mock_push_request_errors(mc, API_PRODUCE, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  char *lines = cpu_lines(100, 2);
  ck_assert_uint_eq(push(pl, lines), 0);
  kmsgs r = consume("telegraf");
  ck_assert_uint_eq(r.n, 100);
  char *got = sorted_lines(&r), *want = sort_text(lines);
  ck_text_eq(got, want);
  free(got);
  free(want);
  free(lines);
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

/* At-least-once, the duplicate case: the broker writes the message but
 * its acknowledgement does not come within write_timeout. The write fails
 * and says the message may have been written; the retry writes it again. */
START_TEST(test_lost_ack_duplicates) {
  rd_kafka_mock_topic_create(mc, "telegraf", 1, 1);
  twi_pipeline *pl = start("write_timeout = \"1s\";");
  ck_assert_uint_eq(push(pl, "a v=1i 1\n"), 0); /* connected, producer id known */
  rd_kafka_mock_broker_push_request_error_rtts(mc, 1, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_NO_ERROR,
                                               2500);
  char *log;
  ck_assert_uint_eq(push_logged(pl, "b v=2i 2\n", &log), 1);
  ck_assert_msg(strstr(log, "1 of the unacknowledged messages may have been written"), "%s", log);
  free(log);
  size_t left = 1;
  for (int i = 0; i < 10 && left; i++)
    left = th_flush(pl);
  ck_assert_uint_eq(left, 0);
  kmsgs r = consume("telegraf");
  char *got = sorted_lines(&r);
  ck_assert_str_eq(got, "a v=1i 1\nb v=2i 2\nb v=2i 2\n");
  free(got);
  kmsgs_free(&r);
  th_free(pl);
}
END_TEST

/* ---- options --------------------------------------------------------------------- */

/* Builds and initializes with `opts`; returns whether it failed, with the
 * diagnostics and the log in *log. */
static bool init_fails(const char *opts, char **log) {
  char *c = config(opts, NULL), *errors = NULL;
  log_begin();
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  bool failed = !pl || twi_pipeline_init(pl) != 0;
  char *text = log_end();
  *log = th_fmt("%s%s", text, errors ? errors : "");
  free(text);
  if (pl)
    th_free(pl);
  free(errors);
  free(c);
  return failed;
}

static void ck_init_fails(const char *opts, const char *needle) {
  char *log;
  ck_assert_msg(init_fails(opts, &log), "accepted: %s", opts);
  ck_assert_msg(strstr(log, needle) != NULL, "%s: no \"%s\" in:\n%s", opts, needle, log);
  free(log);
}

static void ck_init_ok(const char *opts, const char *needle) {
  char *log;
  ck_assert_msg(!init_fails(opts, &log), "rejected: %s\n%s", opts, log);
  ck_assert_msg(!needle || strstr(log, needle), "%s: no \"%s\" in:\n%s", opts, needle, log);
  free(log);
}

START_TEST(test_options) {
  strcpy(boot, "127.0.0.1:1"); /* nothing listens: init must not wait for it */
  ck_init_ok(NULL, "producing to topic telegraf on 127.0.0.1:1: acks=all, idempotent, "
                   "compression none, one metric per message, write_timeout 10s");
  ck_init_fails("topic = \"a b\";", "is not a Kafka topic name");
  ck_init_fails("compression_codec = \"brotli\";", "compression_codec must be");
  ck_init_fails("compression_codec = 7;", "compression_codec must be");
  ck_init_ok("compression_codec = 2;", "compression snappy");
  ck_init_ok("compression_codec = \"zstd\";", "compression zstd");
  ck_init_fails("required_acks = \"most\";", "required_acks must be");
  ck_init_fails("required_acks = 2;", "required_acks must be");
  ck_init_ok("required_acks = -1;", "acks=all");
  ck_init_ok("required_acks = 1;", "idempotent writes are off");
  ck_init_ok("required_acks = \"0\"; idempotent_writes = false;", "acks=0, not idempotent");
  ck_init_fails("required_acks = 1; idempotent_writes = true;",
                "idempotent_writes = true needs required_acks = \"all\"");
  ck_init_fails("max_retry = 0;", "max_retry = 0 is not possible with idempotent writes");
  ck_init_ok("max_retry = 0; idempotent_writes = false;", NULL);
  ck_init_fails("max_message_bytes = 10;", "below the minimum");
  ck_init_ok("max_message_bytes = \"2MiB\"; batch_format = true;", "several metrics per message");
  ck_init_fails("write_timeout = \"10ms\";", "below the minimum");
  ck_init_fails("producer_timestamp = \"later\";", "is not one of metric|now");
  ck_init_fails("librdkafka = { no_such_property = \"1\"; };", "no.such.property");
  ck_init_fails("librdkafka = { linger_ms = \"lots\"; };", "linger.ms");
  ck_init_fails("data_format = \"value\";", "data_format");
  ck_init_ok("exclude_topic_tag = true;", "exclude_topic_tag is set without topic_tag");
  ck_init_fails("routing_key = \"0123456789012345678901234567890123456789012345678901234567890"
                "12345678901\"; max_message_bytes = 64;",
                "no room for a payload");
  /* the passthrough wins over the options */
  ck_init_ok("required_acks = 1; idempotent_writes = true; "
             "librdkafka = { enable_idempotence = \"false\"; };",
             NULL);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("outputs.kafka");
  TCase *tc = tcase_create("plan");
  tcase_add_test(tc, test_plan_layout);
  tcase_add_test(tc, test_plan_one_per_message);
  tcase_add_test(tc, test_plan_split_influx);
  tcase_add_test(tc, test_plan_split_json);
  tcase_add_test(tc, test_plan_routes);
  tcase_add_test(tc, test_plan_exclude_topic_tag);
  tcase_add_test(tc, test_plan_rejects);
  tcase_add_test(tc, test_plan_exact_fit);
  tcase_add_test(tc, test_topic_names);
  suite_add_tcase(s, tc);
  tc = tcase_create("options");
  tcase_add_checked_fixture(tc, setup_no_mock, teardown);
  tcase_add_test(tc, test_options);
  suite_add_tcase(s, tc);
  tc = tcase_create("produce");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_one_metric_per_message);
  tcase_add_test(tc, test_routing_tag);
  tcase_add_test(tc, test_routing_key_random);
  tcase_add_test(tc, test_topic_tag);
  tcase_add_test(tc, test_topic_tag_excluded);
  tcase_add_test(tc, test_json);
  tcase_add_test(tc, test_batch_format_influx);
  tcase_add_test(tc, test_batch_format_json);
  tcase_add_test(tc, test_too_large_rejected);
  tcase_add_test(tc, test_compression);
  tcase_add_test(tc, test_queue_full);
  suite_add_tcase(s, tc);
  tc = tcase_create("failures");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_brokers_down);
  tcase_add_test(tc, test_partial_failure_no_duplicates);
  suite_add_tcase(s, tc);
  tc = tcase_create("broker_errors");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup_inproc, teardown_inproc);
  tcase_add_test(tc, test_unknown_topic);
  tcase_add_test(tc, test_topic_not_authorized);
  tcase_add_test(tc, test_broker_refuses_message);
  tcase_add_test(tc, test_transient_errors);
  tcase_add_test(tc, test_lost_ack_duplicates);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(suite());
}
