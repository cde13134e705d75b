/* jsonl: an example out-of-tree tower output plugin.
 *
 * Appends every metric as one JSON object per line (JSON Lines), in the
 * layout of Telegraf's json serializer, to a file or to stdout:
 *   {"fields":{"load1":0.5},"name":"system","tags":{"host":"web1"},"timestamp":1700000000}
 *
 * It shows an output's contract in one file: init opening what the instance
 * holds (and creating nothing under `tower --config-check`), write turning a
 * borrowed batch into bytes with the SDK's serializer in one reused buffer,
 * TOWER_WRITE_RETRY for a failure that may pass (the core keeps the batch
 * and backs off), destroy closing. Build it with the Makefile next to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tower/tower.h>

typedef struct jsonl {
  tower_ctx *ctx;         /* borrowed until destroy: logging, counts */
  const char *path;       /* borrowed from the config until destroy */
  int fd;                 /* the file, STDOUT_FILENO, or -1 under --config-check */
  bool regular;           /* a regular file: a failed write can be cut back */
  tower_serializer *json; /* ours: freed in destroy */
  tower_buf *buf;         /* ours: reused by every write, no allocation per metric */
} jsonl;

static const tower_option options[] = {
    {.name = "path",
     .type = TOWER_OPT_STRING,
     .default_value = "stdout",
     .help = "file to append to (created with mode 0644 when missing), or \"stdout\""},
    TOWER_OPTION_END,
};

/* Opens the destination. Under --config-check an existing file is only
 * opened to prove it is writable, and a missing one is not created. */
static int open_path(jsonl *s, const tower_config *cfg) {
  if (strcmp(s->path, "stdout") == 0) {
    s->fd = STDOUT_FILENO;
    return 0;
  }
  bool check = tower_ctx_check_only(s->ctx);
  int fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC | (check ? 0 : O_CREAT), 0644);
  if (fd < 0 && !(check && errno == ENOENT))
    return tower_config_error(cfg, tower_config_setting(cfg, "path"), "cannot open %s: %s", s->path,
                              strerror(errno));
  struct stat st;
  s->regular = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (check && fd >= 0)
    close(fd);
  s->fd = check ? -1 : fd;
  return 0;
}

static void jsonl_destroy(void *state) {
  jsonl *s = state;
  if (s->fd > STDERR_FILENO)
    close(s->fd);
  tower_serializer_free(s->json);
  tower_buf_free(s->buf);
  free(s);
}

static int jsonl_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  jsonl *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->path = tower_config_string(cfg, "path");
  s->fd = -1;
  s->buf = tower_buf_new(64 * 1024);
  int rc = s->buf ? tower_serializer_new_format(ctx, "json", &s->json) : -ENOMEM;
  if (rc == 0)
    rc = open_path(s, cfg);
  if (rc < 0) {
    jsonl_destroy(s); /* on failure the core does not call destroy: we do */
    return rc;
  }
  *state = s;
  return 0;
}

/* Writes the whole buffer. When a regular file fails half way (a full
 * disk), it is cut back to its old end, so that the retry leaves no torn
 * line behind. */
static int append_all(jsonl *s) {
  const char *p = tower_buf_data(s->buf);
  size_t left = tower_buf_len(s->buf);
  off_t end = s->regular ? lseek(s->fd, 0, SEEK_END) : -1;
  while (left > 0) {
    ssize_t n = write(s->fd, p, left);
    if (n > 0) {
      p += n;
      left -= (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      int err = n < 0 ? errno : EIO;
      if (end >= 0 && ftruncate(s->fd, end) != 0)
        tower_warn(s->ctx, "%s may end in a partial line: cannot cut it back: %s", s->path,
                   strerror(errno));
      return -err;
    }
  }
  return 0;
}

static tower_write_result jsonl_write(void *state, const tower_batch *batch) {
  jsonl *s = state;
  uint64_t unwritable = 0;
  tower_buf_reset(s->buf);
  for (size_t i = 0; i < tower_batch_len(batch); i++) {
    int rc = tower_serialize(s->json, tower_batch_at(batch, i), s->buf);
    if (rc == -ENOMEM) {
      tower_error(s->ctx, "out of memory formatting %zu metrics; will retry",
                  tower_batch_len(batch));
      return TOWER_WRITE_RETRY;
    }
    unwritable += rc < 0; /* cannot be JSON: skipped, counted below */
  }
  int rc = append_all(s);
  if (rc < 0) {
    tower_error(s->ctx, "cannot write to %s: %s; will retry", s->path, strerror(-rc));
    return TOWER_WRITE_RETRY;
  }
  if (unwritable) {
    tower_warn(s->ctx, "%llu metrics cannot be written as JSON and were dropped",
               (unsigned long long)unwritable);
    tower_ctx_count_rejected(s->ctx, unwritable);
  }
  return TOWER_WRITE_OK;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_OUTPUT),
    .name = "jsonl", /* must match the file name: outputs/jsonl.so */
    .description = "metrics as JSON lines to a file or stdout (example plugin)",
    .version = "1.0.0",
    .options = options,
    .init = jsonl_init,
    .destroy = jsonl_destroy,
    .write = jsonl_write,
};

/* The plugin's only exported symbol. */
TOWER_PLUGIN_ENTRY(plugin)
