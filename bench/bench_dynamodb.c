/* inputs.dynamodb benchmark: items/s scanned into metrics, and memory.
 *
 * Starts dynalite (npm dynalite@3, from the cache directory that
 * tests/integration/dynamodb.sh and scripts/lib.sh's need_dynalite use;
 * installed there when missing), loads a table of 100,000 items (about
 * 190 bytes of JSON each: strings, integers, floats, a boolean, a map)
 * with BatchWriteItem, then gathers it through the real core:
 *  - items/s, wall time and tower's CPU time of one gather (all pages,
 *    conversion, commit) with the default page_size (1000), with 2 and 4
 *    segments, with page_size 100 and with DynamoDB's 1 MB pages;
 *  - the memory high-water mark of that gather, measured in a fresh child
 *    process (VmHWM reset through /proc/self/clear_refs just before the
 *    gather): the table's metrics are held until its scan completes, but
 *    each page's JSON is freed once converted, so the peak is about the
 *    metrics plus one page, not the whole table's JSON. A gather with
 *    max_items = 1000 shows the part that does not grow with the table.
 * BENCH_DYNAMODB_ITEMS changes the table size. Figures only. */
#include "config.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "bench_util.h"
#include "../tests/loopback.h"

static unsigned port;
static pid_t dynalite_pid;
static CURL *curl;
static char url[64];

/* ---- dynalite ------------------------------------------------------------------------- */

static const char *cache_dir(char *buf, size_t size) {
  const char *d = getenv("TOWER_DYNALITE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
  if (d && *d)
    snprintf(buf, size, "%s", d);
  else if (xdg && *xdg)
    snprintf(buf, size, "%s/tower/dynalite", xdg);
  else
    snprintf(buf, size, "%s/.cache/tower/dynalite", getenv("HOME") ? getenv("HOME") : "/tmp");
  return buf;
}

/* The dynalite CLI script, installed with npm when missing; NULL when
 * that cannot be done (no node/npm). */
static char *find_dynalite(void) {
  char dir[900], *cli = malloc(1024);
  snprintf(cli, 1024, "%s/node_modules/dynalite/cli.js", cache_dir(dir, sizeof dir));
  if (access(cli, R_OK) == 0)
    return cli;
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "command -v node >/dev/null && command -v npm >/dev/null && mkdir -p '%s' && cd '%s' "
           "&& npm install --no-audit --no-fund --silent dynalite@3 >/dev/null 2>&1",
           dir, dir);
  fprintf(stderr, "installing dynalite@3 into %s\n", dir);
  if (system(cmd) == 0 && access(cli, R_OK) == 0)
    return cli;
  free(cli);
  return NULL;
}

static bool listening(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

static void start_dynalite(const char *cli) {
  char p[16];
  port = loopback_unused_port();
  snprintf(p, sizeof p, "%u", port);
  snprintf(url, sizeof url, "http://127.0.0.1:%u/", port);
  dynalite_pid = fork();
  if (dynalite_pid == 0) {
    if (!freopen("/dev/null", "w", stdout))
      _exit(127);
    execlp("node", "node", cli, "--port", p, "--createTableMs", "0", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 400 && !listening(); i++)
    usleep(50000);
  if (!listening()) {
    fprintf(stderr, "bench_dynamodb: dynalite did not start\n");
    exit(1);
  }
}

static void stop_dynalite(void) {
  if (dynalite_pid > 0) {
    kill(dynalite_pid, SIGTERM);
    waitpid(dynalite_pid, NULL, 0);
  }
}

/* ---- loading ---------------------------------------------------------------------------- */

static size_t sink(char *d, size_t s, size_t n, void *ud) {
  tower_buf_append(ud, d, s * n);
  return s * n;
}

/* One signed API call; exits on failure. */
static void call(const char *op, const char *body, tower_buf *out) {
  char target[96];
  snprintf(target, sizeof target, "X-Amz-Target: DynamoDB_20120810.%s", op);
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-amz-json-1.0");
  h = curl_slist_append(h, target);
  tower_buf_reset(out);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:dynamodb");
  curl_easy_setopt(curl, CURLOPT_USERNAME, "AKIDBENCH");
  curl_easy_setopt(curl, CURLOPT_PASSWORD, "bench-secret");
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  if (status != 200) {
    fprintf(stderr, "bench_dynamodb: %s failed (HTTP %ld): %s\n", op, status, tower_buf_data(out));
    exit(1);
  }
}

static void item_json(tower_buf *b, long i) {
  tower_buf_printf(b,
                   "{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"item-%07ld\"},\"zone\":{\"S\":"
                   "\"zone-%03ld\"},\"trips\":{\"N\":\"%ld\"},\"fare\":{\"N\":\"%ld.%02ld\"},"
                   "\"active\":{\"BOOL\":%s},\"geo\":{\"M\":{\"lat\":{\"N\":\"37.%04ld\"},"
                   "\"lon\":{\"N\":\"127.%04ld\"}}}}}}",
                   i, i % 263, i * 7 % 1000, i % 97, i % 100, i % 3 ? "true" : "false", i % 9973,
                   i % 7919);
}

static double load(long items) {
  tower_buf *body = tower_buf_new(8192), *out = tower_buf_new(4096);
  call("CreateTable",
       "{\"TableName\":\"bench-items\",\"AttributeDefinitions\":[{\"AttributeName\":\"id\","
       "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}"
       "],\"BillingMode\":\"PAY_PER_REQUEST\"}",
       out);
  double t0 = bench_now();
  for (long i = 0; i < items;) {
    tower_buf_reset(body);
    tower_buf_append_str(body, "{\"RequestItems\":{\"bench-items\":[");
    for (int k = 0; k < 25 && i < items; k++, i++) { /* BatchWriteItem takes 25 */
      if (k)
        tower_buf_append_str(body, ",");
      item_json(body, i);
    }
    tower_buf_append_str(body, "]}}");
    call("BatchWriteItem", tower_buf_data(body), out);
  }
  double secs = bench_now() - t0;
  tower_buf_free(body);
  tower_buf_free(out);
  return secs;
}

/* Bytes of JSON a full scan returns, page by page (what the plugin would
 * hold if pages accumulated), and the largest page. */
static void json_size(size_t *total, size_t *largest, unsigned *pages) {
  tower_buf *out = tower_buf_new(1 << 20), *req = tower_buf_new(256);
  *total = *largest = 0;
  *pages = 0;
  for (json_t *start = NULL;;) {
    char *key = start ? json_dumps(start, JSON_COMPACT) : NULL;
    tower_buf_reset(req);
    tower_buf_printf(req, "{\"TableName\":\"bench-items\"%s%s%s}",
                     key ? ",\"ExclusiveStartKey\":" : "", key ? key : "", "");
    free(key);
    call("Scan", tower_buf_data(req), out);
    *total += tower_buf_len(out);
    if (tower_buf_len(out) > *largest)
      *largest = tower_buf_len(out);
    (*pages)++;
    json_t *page = json_loadb(tower_buf_data(out), tower_buf_len(out), 0, NULL);
    json_decref(start);
    start = json_incref(json_object_get(page, "LastEvaluatedKey"));
    json_decref(page);
    if (!start)
      break;
  }
  tower_buf_free(out);
  tower_buf_free(req);
}

/* ---- gathering ---------------------------------------------------------------------------- */

static twi_pipeline *pipeline(const char *opts) {
  char text[1024];
  /* The output keeps nothing (namepass matches no metric): the figures are
   * the input's. */
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; interval = \"120s\"; };\n"
           "inputs = ( { plugin = \"dynamodb\"; tables = [\"bench-items\"]; endpoint_url = "
           "\"http://127.0.0.1:%u\"; access_key_id = \"AKIDBENCH\"; secret_access_key = "
           "\"bench-secret\"; tag_keys = [\"zone\"]; %s } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; namepass = [\"none\"]; } );\n",
           port, opts);
  return bench_pipeline(text);
}

static long status_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, field, n))
      v = atol(line + n + 1);
  if (f)
    fclose(f);
  return v;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void reset_hwm(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    fputs("5", f);
    fclose(f);
  }
}

typedef struct result {
  double secs, cpu;
  long rss_before_kb, hwm_kb;
  int errors;
} result;

/* One gather in a fresh child process, so the peak belongs to it alone. */
static result gather_child(const char *opts) {
  int fds[2];
  result r = {0};
  if (pipe(fds))
    return r;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    twi_pipeline *pl = pipeline(opts);
    malloc_trim(0); /* the baseline counts memory in use, not freed heap */
    r.rss_before_kb = status_kb("VmRSS:");
    reset_hwm();
    double t0 = bench_now(), c0 = cpu_seconds();
    r.errors = twi_input_run_once(pl->inputs[0], pl, 0);
    r.secs = bench_now() - t0;
    r.cpu = cpu_seconds() - c0;
    r.hwm_kb = status_kb("VmHWM:");
    if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r)
      _exit(1);
    twi_pipeline_free(pl);
    _exit(0);
  }
  close(fds[1]);
  if (read(fds[0], &r, sizeof r) != (ssize_t)sizeof r)
    r.errors = -1;
  close(fds[0]);
  waitpid(pid, NULL, 0);
  return r;
}

static void report(const char *name, const char *opts, long items) {
  result r = gather_child(opts);
  if (r.errors) {
    fprintf(stderr, "bench_dynamodb: %s: gather failed\n", name);
    exit(1);
  }
  long peak = r.hwm_kb - r.rss_before_kb;
  printf("%-28s %7.0f items/s %6.2f s  tower CPU %5.2f s (%6.0f items/CPU-s)  peak +%6.1f MiB "
         "(%4.0f B/item)\n",
         name, (double)items / r.secs, r.secs, r.cpu, (double)items / r.cpu, (double)peak / 1024.0,
         (double)peak * 1024.0 / (double)items);
}

int main(void) {
  const char *n = getenv("BENCH_DYNAMODB_ITEMS");
  long items = n && atol(n) > 0 ? atol(n) : 100000;
  char *cli = find_dynalite();
  if (!cli) {
    printf("bench_dynamodb: skipped: dynalite is not installed and node/npm are missing "
           "(apt-get install nodejs npm)\n");
    return 0;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl = curl_easy_init();
  start_dynalite(cli);
  double secs = load(items);
  printf("loaded %ld items into dynalite with BatchWriteItem in %.1f s\n", items, secs);
  size_t total, largest;
  unsigned pages;
  json_size(&total, &largest, &pages);
  printf("a full scan returns %.1f MiB of JSON in %u pages (largest %.2f MiB)\n",
         (double)total / 1048576.0, pages, (double)largest / 1048576.0);
  char small[64];
  snprintf(small, sizeof small, "max_items = 1000;");
  report("max_items 1000 (fixed part)", small, 1000);
  report("page_size 1000 (default)", "max_items = 0;", items);
  report("page_size 1000, 2 segments", "max_items = 0; segments = 2;", items);
  report("page_size 1000, 4 segments", "max_items = 0; segments = 4;", items);
  report("page_size 100", "max_items = 0; page_size = 100;", items);
  report("page_size 0 (1 MB pages)", "max_items = 0; page_size = 0;", items);
  stop_dynalite();
  curl_easy_cleanup(curl);
  curl_global_cleanup();
  free(cli);
  return 0;
}
