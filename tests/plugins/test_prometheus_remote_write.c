/* outputs.prometheus_remote_write.
 * - The encoder: requests are decompressed with snappy's own decoder and
 *   unpacked with protobuf-c, then checked: series sorted by labels,
 *   labels sorted with __name__ among them, samples in time order, one per
 *   millisecond, histograms as outputs.prometheus exposes them, and no
 *   allocation per metric once the buffers have grown; Retry-After values.
 * - The plugin through the real core into a real Prometheus server (Debian
 *   package prometheus, started here with --web.enable-remote-write-receiver
 *   on a free port and a temporary storage directory): series come back
 *   through the HTTP API; an out-of-order sample (HTTP 400 for the whole
 *   request) is isolated, counted and lost alone while the rest of its
 *   batch is stored; an unreachable server keeps the batch, which is
 *   delivered once the server runs. A missing prometheus binary is a failure. */
#include "config.h"

#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "loopback.h"
#include "malloc_count.h"
#include "prw.h"

/* ---- the encoder ------------------------------------------------------------------ */

/* Encodes the metrics and decodes the request as a receiver would. */
static Prometheus__WriteRequest *roundtrip(prw_encoder *e, tower_metric **ms, size_t n) {
  ck_assert_int_eq(prw_encode_metrics(e, (const tower_metric *const *)ms, n), 0);
  size_t len;
  ck_assert_int_eq(snappy_uncompressed_length(e->body, e->body_len, &len), SNAPPY_OK);
  char *raw = malloc(len + 1);
  ck_assert_int_eq(snappy_uncompress(e->body, e->body_len, raw, &len), SNAPPY_OK);
  Prometheus__WriteRequest *req =
      prometheus__write_request__unpack(NULL, len, (const uint8_t *)raw);
  ck_assert_ptr_nonnull(req);
  free(raw);
  return req;
}

/* "name=value,name=value" of series i. */
static char *labels_of(const Prometheus__WriteRequest *r, size_t i) {
  static char out[512];
  size_t o = 0;
  out[0] = '\0';
  for (size_t j = 0; j < r->timeseries[i]->n_labels; j++)
    o += (size_t)snprintf(out + o, sizeof out - o, "%s%s=%s", j ? "," : "",
                          r->timeseries[i]->labels[j]->name, r->timeseries[i]->labels[j]->value);
  return out;
}

static void check_sample(const Prometheus__WriteRequest *r, size_t i, size_t k, int64_t ts,
                         double v) {
  ck_assert_uint_gt(r->timeseries[i]->n_samples, k);
  ck_assert_int_eq(r->timeseries[i]->samples[k]->timestamp, ts);
  ck_assert_double_eq(r->timeseries[i]->samples[k]->value, v);
}

START_TEST(series_sorted_samples_in_time_order) {
  tower_metric **ms;
  size_t n = th_parse("b,x=1 v=1 3000000000\n"
                      "a,z=2,y=1 v=2,w=7i 2000000000\n"
                      "a,z=2,y=1 v=3 1000000000\n"
                      "a,z=2,y=1 v=4 1000000999\n" /* same millisecond: the later wins */
                      "a,y=1,z=2 v=5 1500000000\n",
                      &ms);
  prw_encoder e;
  ck_assert_int_eq(prw_encoder_init(&e, 0), 0);
  Prometheus__WriteRequest *r = roundtrip(&e, ms, n);
  ck_assert_uint_eq(r->n_timeseries, 3);
  ck_assert_str_eq(labels_of(r, 0), "__name__=a_v,y=1,z=2");
  ck_assert_str_eq(labels_of(r, 1), "__name__=a_w,y=1,z=2");
  ck_assert_str_eq(labels_of(r, 2), "__name__=b_v,x=1");
  ck_assert_uint_eq(r->timeseries[0]->n_samples, 3);
  check_sample(r, 0, 0, 1000, 4);
  check_sample(r, 0, 1, 1500, 5);
  check_sample(r, 0, 2, 2000, 2);
  check_sample(r, 1, 0, 2000, 7);
  check_sample(r, 2, 0, 3000, 1);
  ck_assert_uint_eq(e.samples_replaced, 1);
  ck_assert_uint_eq(e.samples_sent, 5);
  prometheus__write_request__free_unpacked(r, NULL);
  prw_encoder_fini(&e);
  th_free_metrics(ms, n);
}
END_TEST

START_TEST(label_names_in_byte_order_and_empty_values_dropped) {
  tower_metric *m = tower_metric_new("m", 5000000);
  tower_metric_add_tag(m, "Zed", "1"); /* 'Z' < '_': before __name__ */
  tower_metric_add_tag(m, "alpha", "2");
  tower_metric_add_tag(m, "host-name", "a b\"c\\");
  tower_metric_add_string(m, "empty", "");
  tower_metric_add_string(m, "state", "ok");
  tower_metric_add_float(m, "value", 1.5);
  tower_metric_add_string(m, "skipped", "x");
  prw_encoder e;
  ck_assert_int_eq(prw_encoder_init(&e, TOWER_PROM_STRING_AS_LABEL), 0);
  Prometheus__WriteRequest *r = roundtrip(&e, &m, 1);
  ck_assert_uint_eq(r->n_timeseries, 1);
  ck_assert_str_eq(labels_of(r, 0),
                   "Zed=1,__name__=m,alpha=2,host_name=a b\"c\\,skipped=x,state=ok");
  check_sample(r, 0, 0, 5, 1.5);
  prometheus__write_request__free_unpacked(r, NULL);
  prw_encoder_fini(&e);
  tower_metric_free(m);
}
END_TEST

START_TEST(histogram_and_summary_as_the_exposition) {
  tower_metric *ms[2];
  ms[0] = tower_metric_new("lat", 7000000);
  tower_metric_set_type(ms[0], TOWER_HISTOGRAM);
  tower_metric_add_tag(ms[0], "path", "/api");
  tower_metric_add_float(ms[0], "0.5", 4);
  tower_metric_add_float(ms[0], "0.1", 3);
  tower_metric_add_float(ms[0], "sum", 0.7);
  tower_metric_add_float(ms[0], "count", 5);
  ms[1] = tower_metric_new("q", 7000000);
  tower_metric_set_type(ms[1], TOWER_SUMMARY);
  tower_metric_add_float(ms[1], "0.9", 0.05);
  tower_metric_add_float(ms[1], "sum", 1.5);
  tower_metric_add_float(ms[1], "count", 100);
  prw_encoder e;
  ck_assert_int_eq(prw_encoder_init(&e, 0), 0);
  Prometheus__WriteRequest *r = roundtrip(&e, ms, 2);
  static const char *const want[] = {
      "__name__=lat_bucket,le=+Inf,path=/api", /* added, holding the count */
      "__name__=lat_bucket,le=0.1,path=/api",
      "__name__=lat_bucket,le=0.5,path=/api",
      "__name__=lat_count,path=/api",
      "__name__=lat_sum,path=/api",
      "__name__=q,quantile=0.9",
      "__name__=q_count",
      "__name__=q_sum",
  };
  static const double values[] = {5, 3, 4, 5, 0.7, 0.05, 100, 1.5};
  ck_assert_uint_eq(r->n_timeseries, 8);
  for (size_t i = 0; i < 8; i++) {
    ck_assert_str_eq(labels_of(r, i), want[i]);
    check_sample(r, i, 0, 7, values[i]);
  }
  prometheus__write_request__free_unpacked(r, NULL);
  prw_encoder_fini(&e);
  tower_metric_free(ms[0]);
  tower_metric_free(ms[1]);
}
END_TEST

START_TEST(warm_encoder_allocates_nothing_per_metric) {
#ifdef NO_MALLOC_COUNT
  return; /* AddressSanitizer's allocator cannot be counted */
#else
  tower_metric *ms[200];
  char name[32];
  for (int i = 0; i < 200; i++) {
    ms[i] = tower_metric_new("cpu", (int64_t)(i % 3) * 1000000000);
    snprintf(name, sizeof name, "cpu%d", i / 3);
    tower_metric_add_tag(ms[i], "cpu", name);
    tower_metric_add_tag(ms[i], "host", "server.example.com");
    tower_metric_add_float(ms[i], "usage_user", i);
    tower_metric_add_float(ms[i], "usage_idle", 100 - i);
  }
  prw_encoder e;
  ck_assert_int_eq(prw_encoder_init(&e, 0), 0);
  ck_assert_int_eq(prw_encode_metrics(&e, (const tower_metric *const *)ms, 200), 0);
  /* snappy's compressor allocates its working memory on every call: a few
   * allocations per request, none per metric. */
  unsigned long before = nallocs;
  ck_assert_int_eq(prw_encode_metrics(&e, (const tower_metric *const *)ms, 20), 0);
  unsigned long small = nallocs - before;
  before = nallocs;
  ck_assert_int_eq(prw_encode_metrics(&e, (const tower_metric *const *)ms, 200), 0);
  ck_assert_uint_eq(nallocs - before, small);
  ck_assert_uint_le(small, 4);
  ck_assert_uint_eq(e.samples_sent, 400);
  prw_encoder_fini(&e);
  for (int i = 0; i < 200; i++)
    tower_metric_free(ms[i]);
#endif
}
END_TEST

START_TEST(retry_after_values) {
  ck_assert_int_eq(prw_retry_after("30", 1000), 30000000000LL);
  ck_assert_int_eq(prw_retry_after("0", 1000), 0);
  ck_assert_int_eq(prw_retry_after("99999", 1000), 600000000000LL); /* at most 10 minutes */
  /* An HTTP date: 1994-11-06 08:49:37 UTC is 784111777. */
  ck_assert_int_eq(prw_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 45), 45000000000LL);
  ck_assert_int_eq(prw_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 5), 0);
  ck_assert_int_eq(prw_retry_after("soon", 1000), -1);
  ck_assert_int_eq(prw_retry_after("-3", 1000), -1);
}
END_TEST

/* ---- a real Prometheus ------------------------------------------------------------ */

typedef struct prom {
  pid_t pid;
  unsigned port;
  char *dir;
} prom;

static size_t to_buf(char *data, size_t size, size_t nmemb, void *ud) {
  tower_buf_append(ud, data, size * nmemb);
  return size * nmemb;
}

/* GET path from the server; the status, the body in out (reset first). */
static long http_get(unsigned port, const char *path, tower_buf *out) {
  char *url = th_fmt("http://127.0.0.1:%u%s", port, path);
  CURL *c = curl_easy_init();
  long status = 0;
  tower_buf_reset(out);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  free(url);
  return status;
}

/* Starts Prometheus on `port` with a fresh storage directory and waits
 * until it says it is ready. */
static void prom_start(prom *p, unsigned port) {
  const char *bin = getenv("PROMETHEUS") ? getenv("PROMETHEUS") : "/usr/bin/prometheus";
  ck_assert_msg(access(bin, X_OK) == 0, "%s is missing: apt-get install prometheus", bin);
  p->dir = th_tmpdir();
  p->port = port;
  char *conf = th_fmt("%s/prometheus.yml", p->dir);
  ck_assert_int_eq(th_write_file(conf, "global:\n  scrape_interval: 1h\n"), 0);
  char *cf = th_fmt("--config.file=%s", conf), *st = th_fmt("--storage.tsdb.path=%s/data", p->dir);
  char *la = th_fmt("--web.listen-address=127.0.0.1:%u", port), *log = th_fmt("%s/log", p->dir);
  p->pid = fork();
  if (p->pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(bin, bin, cf, st, la, "--web.enable-remote-write-receiver", (char *)NULL);
    _exit(127);
  }
  tower_buf *b = tower_buf_new(256);
  bool ready = false;
  for (int i = 0; i < 600 && !ready; i++) { /* a loaded CI machine: up to 30 s */
    ready = http_get(port, "/-/ready", b) == 200;
    if (!ready)
      usleep(50000);
  }
  ck_assert_msg(ready, "Prometheus did not start: %s", th_read_file(log));
  tower_buf_free(b);
  free(conf), free(cf), free(st), free(la), free(log);
}

static void prom_stop(prom *p) {
  kill(p->pid, SIGTERM);
  waitpid(p->pid, NULL, 0);
  th_rmrf(p->dir);
  free(p->dir);
}

/* The samples of `selector` over the 10 minutes before `at` (seconds), as
 * the API's JSON (a matrix), in *out. */
static const char *query(const prom *p, const char *selector, long at, tower_buf *out) {
  char *esc = curl_easy_escape(NULL, selector, 0);
  char *path = th_fmt("/api/v1/query?query=%s%%5B10m%%5D&time=%ld", esc, at);
  ck_assert_int_eq(http_get(p->port, path, out), 200);
  curl_free(esc);
  free(path);
  return tower_buf_data(out);
}

static twi_pipeline *pipeline(unsigned port, const char *lines) {
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [%s]; } );\n"
                   "outputs = ( { plugin = \"prometheus_remote_write\"; "
                   "url = \"http://127.0.0.1:%u/api/v1/write\"; timeout = \"10s\"; } );\n",
                   lines, port);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  ck_assert_int_eq(th_gather(pl), 0);
  return pl;
}

static long base_s;

static void setup(void) {
  base_s = (long)time(NULL) - 300;
}

START_TEST(writes_series_prometheus_returns) {
  prom p;
  prom_start(&p, loopback_unused_port());
  char *lines =
      th_fmt("\"cpu,host=web\\\\ 1,path=/a\\\"b usage_idle=12.5,usage_user=3i %ld000000000\","
             "\"cpu,host=web\\\\ 1,path=/a\\\"b usage_idle=13.25,usage_user=4i %ld000000000\","
             "\"disk,dev=sda value=-7i %ld000000000\"",
             base_s + 10, base_s, base_s + 5);
  twi_pipeline *pl = pipeline(p.port, lines);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.dropped), 0);
  tower_buf *b = tower_buf_new(1024);
  char *want = th_fmt("{\"metric\":{\"__name__\":\"cpu_usage_idle\",\"host\":\"web 1\","
                      "\"path\":\"/a\\\"b\"},\"values\":[[%ld,\"13.25\"],[%ld,\"12.5\"]]}",
                      base_s, base_s + 10);
  ck_assert_msg(strstr(query(&p, "cpu_usage_idle", base_s + 20, b), want), "got %s",
                tower_buf_data(b));
  free(want);
  want = th_fmt("\"values\":[[%ld,\"4\"],[%ld,\"3\"]]", base_s, base_s + 10);
  ck_assert_msg(strstr(query(&p, "cpu_usage_user", base_s + 20, b), want), "got %s",
                tower_buf_data(b));
  free(want);
  want = th_fmt("{\"metric\":{\"__name__\":\"disk\",\"dev\":\"sda\"},\"values\":[[%ld,\"-7\"]]}",
                base_s + 5);
  ck_assert_msg(strstr(query(&p, "disk", base_s + 20, b), want), "got %s", tower_buf_data(b));
  free(want);
  tower_buf_free(b);
  th_free(pl);
  free(lines);
  prom_stop(&p);
}
END_TEST

START_TEST(refused_samples_are_counted_the_others_stored) {
  prom p;
  prom_start(&p, loopback_unused_port());
  char *now = th_fmt("\"m value=1 %ld000000000\"", base_s + 60);
  twi_pipeline *pl = pipeline(p.port, now);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  /* One sample older than what Prometheus has for its series (HTTP 400,
   * out of order, for the whole request) among good ones: the halves go
   * alone until the bad one is refused alone. */
  char *old = th_fmt("\"a value=1 %ld000000000\",\"b value=2 %ld000000000\","
                     "\"m value=2 %ld000000000\",\"c value=3 %ld000000000\","
                     "\"d value=4 %ld000000000\"",
                     base_s, base_s, base_s, base_s, base_s);
  pl = pipeline(p.port, old);
  ck_assert_uint_eq(th_flush(pl), 1);
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.dropped), 1);
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.rejected), 1);
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.written), 4);
  ck_assert_uint_eq(th_flush(pl), 0); /* nothing left to retry */
  tower_buf *b = tower_buf_new(1024);
  char *want = th_fmt("{\"metric\":{\"__name__\":\"d\"},\"values\":[[%ld,\"4\"]]}", base_s);
  ck_assert_msg(strstr(query(&p, "{__name__=~\"a|b|c|d\"}", base_s + 70, b), want), "got %s",
                tower_buf_data(b));
  ck_assert_msg(strstr(tower_buf_data(b), "\"__name__\":\"a\""), "got %s", tower_buf_data(b));
  ck_assert_msg(strstr(tower_buf_data(b), "\"__name__\":\"b\""), "got %s", tower_buf_data(b));
  ck_assert_msg(strstr(tower_buf_data(b), "\"__name__\":\"c\""), "got %s", tower_buf_data(b));
  free(want);
  want = th_fmt("\"values\":[[%ld,\"1\"]]", base_s + 60); /* m as it was */
  ck_assert_msg(strstr(query(&p, "m", base_s + 70, b), want), "got %s", tower_buf_data(b));
  free(want);
  tower_buf_free(b);
  th_free(pl);
  free(now);
  free(old);
  prom_stop(&p);
}
END_TEST

START_TEST(unreachable_server_keeps_the_batch) {
  unsigned port = loopback_unused_port();
  char *lines = th_fmt("\"up_check value=1 %ld000000000\",\"up_check value=0 %ld000000000\"",
                       base_s, base_s + 1);
  twi_pipeline *pl = pipeline(port, lines);
  ck_assert_uint_eq(th_flush(pl), 2); /* kept */
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.dropped), 0);
  prom p;
  prom_start(&p, port);
  ck_assert_uint_eq(th_flush(pl), 0);
  tower_buf *b = tower_buf_new(1024);
  char *want = th_fmt("\"values\":[[%ld,\"1\"],[%ld,\"0\"]]", base_s, base_s + 1);
  ck_assert_msg(strstr(query(&p, "up_check", base_s + 20, b), want), "got %s", tower_buf_data(b));
  free(want);
  tower_buf_free(b);
  th_free(pl);
  free(lines);
  prom_stop(&p);
}
END_TEST

int main(void) {
  Suite *s = suite_create("prometheus_remote_write");
  TCase *t = tcase_create("encoder");
  tcase_add_test(t, series_sorted_samples_in_time_order);
  tcase_add_test(t, label_names_in_byte_order_and_empty_values_dropped);
  tcase_add_test(t, histogram_and_summary_as_the_exposition);
  tcase_add_test(t, warm_encoder_allocates_nothing_per_metric);
  tcase_add_test(t, retry_after_values);
  suite_add_tcase(s, t);
  TCase *p = tcase_create("prometheus");
  tcase_add_checked_fixture(p, setup, NULL);
  tcase_set_timeout(p, 120);
  tcase_add_test(p, writes_series_prometheus_returns);
  tcase_add_test(p, refused_samples_are_counted_the_others_stored);
  tcase_add_test(p, unreachable_server_keeps_the_batch);
  suite_add_tcase(s, p);
  return check_run(s);
}
