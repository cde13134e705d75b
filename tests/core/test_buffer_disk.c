/* The disk buffer (core/buffer_disk.c), through the buffer interface and
 * the files it leaves: order, put back, both limits (never the batch in
 * flight), replay after a close and after a kill -9, every buffer_fsync
 * mode, damage (a torn tail, flipped bytes, a malformed record behind a
 * good checksum, a missing or damaged position file), a real full disk (a
 * 64 KiB tmpfs), the directory lock, and the on-disk metric encoding. The
 * segment files are read back by a parser of this file (zlib's crc32),
 * independent of the buffer's reader. Then the pipeline around it: the
 * configuration, tracked commits that count as delivered at push, and a
 * reload converting a running output between memory and disk. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <tower/tower.h>

#include "buffer.h"
#include "check_run.h"
#include "harness.h"
#include "log_internal.h"
#include "metric_internal.h"

static char *tmp, *bdir, *logpath;

static void setup(void) {
  tmp = th_tmpdir();
  bdir = th_fmt("%s/outputs.record", tmp);
  logpath = th_fmt("%s/log", tmp);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  twi_log_set_level(TOWER_LOG_INFO);
  twi_log_set_window(1); /* every line, however alike */
}

static void teardown(void) {
  twi_log_set_file(NULL);
  th_rmrf(tmp);
  free(bdir);
  free(logpath);
  free(tmp);
}

/* ---- helpers ------------------------------------------------------------ */

static tower_metric *metric(int seq) {
  tower_metric *m = tower_metric_new("tick", 1700000000000000000LL + seq);
  tower_metric_add_tag(m, "host", "a");
  tower_metric_add_int(m, "seq", seq);
  tower_metric_add_string(m, "note", "some text to make the record longer");
  return m;
}

static int seq_of(const tower_metric *m) {
  return (int)tower_metric_field_int(m, (size_t)tower_metric_field_index(m, "seq"));
}

static twi_buffer_conf conf_of(const char *dir, twi_buffer_fsync fsync, uint64_t max) {
  return (twi_buffer_conf){.disk = true,
                           .dir = (char *)dir,
                           .fsync = fsync,
                           .fsync_interval = 1000000000LL,
                           .max_bytes = max};
}

static twi_buffer *open_at(const char *dir, size_t limit, twi_buffer_fsync fsync, uint64_t max) {
  twi_buffer_conf c = conf_of(dir, fsync, max);
  int err = 0;
  twi_buffer *b = twi_buffer_disk_open(&c, limit, NULL, &err);
  ck_assert_msg(b != NULL, "open %s: %s", dir, strerror(-err));
  return b;
}

static twi_buffer *open_default(size_t limit) {
  return open_at(bdir, limit, TWI_FSYNC_COMMIT, 512u << 20);
}

/* Pushes seq from..to-1 in one push; returns what it dropped. */
static size_t push_range(twi_buffer *b, int from, int to) {
  tower_metric *ms[4096];
  ck_assert_int_le(to - from, 4096);
  for (int i = from; i < to; i++)
    ms[i - from] = metric(i);
  return b->ops->push(b, ms, (size_t)(to - from));
}

/* Takes up to k metrics, checks they are seq from.., acks or puts them
 * back. Returns how many were taken. */
static size_t take_expect(twi_buffer *b, size_t k, int from, bool ack) {
  tower_metric *batch[4096];
  size_t n = b->ops->take(b, batch, k);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(seq_of(batch[i]), from + (int)i);
  if (ack) {
    b->ops->ack(b, n);
    for (size_t i = 0; i < n; i++)
      twi_buffer_release(batch[i], false);
  } else {
    b->ops->put_back(b, batch, n);
  }
  return n;
}

/* Takes everything, acks it, and writes the seq numbers into out. */
static size_t drain(twi_buffer *b, int *out, size_t cap) {
  size_t total = 0;
  tower_metric *batch[256];
  for (size_t n; (n = b->ops->take(b, batch, 256)) > 0;) {
    for (size_t i = 0; i < n; i++) {
      if (total < cap)
        out[total] = seq_of(batch[i]);
      total++;
    }
    b->ops->ack(b, n);
    for (size_t i = 0; i < n; i++)
      twi_buffer_release(batch[i], false);
  }
  return total;
}

static void expect_seqs(const int *got, size_t n, const int *want, size_t wn) {
  ck_assert_uint_eq(n, wn);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(got[i] == want[i], "metric %zu: seq %d, want %d", i, got[i], want[i]);
}

static void expect_range(twi_buffer *b, int from, int to) {
  int got[8192];
  size_t n = drain(b, got, 8192);
  ck_assert_uint_eq(n, (size_t)(to - from));
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(got[i], from + (int)i);
}

static bool log_has(const char *needle) {
  char *text = th_read_file(logpath);
  bool has = text && strstr(text, needle);
  if (!has)
    fprintf(stderr, "log lacks \"%s\":\n%s\n", needle, text ? text : "(empty)");
  free(text);
  return has;
}

/* The segment files of a buffer directory, in order (names malloc'd). */
static size_t segments(const char *dir, char **out, size_t cap) {
  DIR *d = opendir(dir);
  size_t n = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    if (strlen(e->d_name) == 20 && strcmp(e->d_name + 16, ".seg") == 0 && n < cap)
      out[n++] = th_fmt("%s/%s", dir, e->d_name);
  if (d)
    closedir(d);
  for (size_t i = 1; i < n; i++) /* names sort as their numbers */
    for (size_t j = i; j > 0 && strcmp(out[j - 1], out[j]) > 0; j--) {
      char *t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
  return n;
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* An independent reading of one segment file (the format of core/README.md):
 * returns the number of well-framed records, their offsets in off[]. */
static size_t parse_segment(const char *path, long *off, size_t cap) {
  size_t len;
  char *raw = NULL;
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  raw = malloc(len + 1);
  ck_assert_uint_eq(fread(raw, 1, len, f), len);
  fclose(f);
  const unsigned char *p = (const unsigned char *)raw;
  ck_assert_uint_ge(len, 32);
  ck_assert_int_eq(memcmp(p, "TWRBUFSG", 8), 0);
  ck_assert_uint_eq(p[8] | p[9] << 8, 1); /* format version */
  ck_assert_uint_eq(le32(p + 24), (uint32_t)crc32(0, p, 24));
  size_t n = 0;
  for (size_t at = 32; at + 12 <= len;) {
    uint32_t rlen = le32(p + at + 4);
    if (memcmp(p + at, "TWRR", 4) != 0 || at + 12 + rlen > len)
      break;
    uLong c = crc32(0, p + at + 4, 4);
    c = crc32(c, p + at + 12, rlen);
    if ((uint32_t)c != le32(p + at + 8))
      break;
    if (n < cap)
      off[n] = (long)at;
    n++;
    at += 12 + rlen;
  }
  free(raw);
  return n;
}

static size_t records_on_disk(const char *dir) {
  char *segs[64];
  size_t ns = segments(dir, segs, 64), total = 0;
  for (size_t i = 0; i < ns; i++) {
    total += parse_segment(segs[i], NULL, 0);
    free(segs[i]);
  }
  return total;
}

/* Overwrites bytes of a file at an offset. */
static void poke(const char *path, long at, const void *bytes, size_t n) {
  int fd = open(path, O_WRONLY);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(pwrite(fd, bytes, n, at), (ssize_t)n);
  close(fd);
}

/* ---- the encoding ------------------------------------------------------- */

static void expect_same(const tower_metric *a, const tower_metric *b) {
  ck_assert_str_eq(tower_metric_name(a), tower_metric_name(b));
  ck_assert_int_eq(tower_metric_time(a), tower_metric_time(b));
  ck_assert_int_eq(tower_metric_type(a), tower_metric_type(b));
  ck_assert_uint_eq(tower_metric_gather_id(a), tower_metric_gather_id(b));
  ck_assert_uint_eq(tower_metric_tag_count(a), tower_metric_tag_count(b));
  for (size_t i = 0; i < tower_metric_tag_count(a); i++) {
    ck_assert_str_eq(tower_metric_tag_key(a, i), tower_metric_tag_key(b, i));
    ck_assert_str_eq(tower_metric_tag_value(a, i), tower_metric_tag_value(b, i));
  }
  ck_assert_uint_eq(tower_metric_field_count(a), tower_metric_field_count(b));
  for (size_t i = 0; i < tower_metric_field_count(a); i++) {
    ck_assert_str_eq(tower_metric_field_key(a, i), tower_metric_field_key(b, i));
    ck_assert_int_eq(tower_metric_field_type(a, i), tower_metric_field_type(b, i));
    if (tower_metric_field_type(a, i) == TOWER_FIELD_STRING)
      ck_assert_str_eq(tower_metric_field_string(a, i), tower_metric_field_string(b, i));
    else
      ck_assert_uint_eq(tower_metric_field_uint(a, i), tower_metric_field_uint(b, i));
  }
}

static tower_metric *every_kind(void) {
  tower_metric *m = tower_metric_new("cpu usage", -5);
  tower_metric_set_type(m, TOWER_GAUGE);
  tower_metric_add_tag(m, "zone", "z1");
  tower_metric_add_tag(m, "cpu", "cpu0");
  tower_metric_add_float(m, "f", -1.5);
  tower_metric_add_int(m, "i", -9223372036854775807LL - 1);
  tower_metric_add_uint(m, "u", 18446744073709551615ULL);
  tower_metric_add_bool(m, "b", true);
  tower_metric_add_string(m, "s", "with \"quotes\"\nand a newline");
  tower_metric_add_string(m, "empty", "");
  twi_metric_set_gather_id(m, 77);
  return m;
}

START_TEST(encoding_round_trip) {
  tower_metric *m = every_kind();
  /* garbage strings (a replaced tag, a removed field) are left out */
  tower_metric_add_tag(m, "zone", "z2-longer-than-before");
  tower_metric_remove_field(m, "b");
  size_t n = twi_metric_encoded_size(m);
  unsigned char *buf = malloc(n);
  ck_assert_uint_eq(twi_metric_encode(m, buf, n - 1), 0); /* too small */
  ck_assert_uint_eq(twi_metric_encode(m, buf, n), n);
  tower_metric *d = NULL;
  ck_assert_int_eq(twi_metric_decode(buf, n, &d, NULL), 0);
  expect_same(m, d);
  ck_assert_str_eq(tower_metric_tag(d, "zone"), "z2-longer-than-before");
  /* the decoded metric is a normal one: it can change, and encodes alike */
  ck_assert_int_eq(tower_metric_add_tag(d, "new", "tag"), 0);
  tower_metric_free(d);
  tower_metric_free(m);
  free(buf);
}
END_TEST

/* Every single-byte change of a valid encoding either decodes into a sound
 * metric or is refused with a reason: never a crash (ASan and valgrind
 * watch the reads). */
START_TEST(encoding_refuses_malformed) {
  tower_metric *m = every_kind();
  size_t n = twi_metric_encoded_size(m);
  unsigned char *good = malloc(n), *bad = malloc(n);
  ck_assert_uint_eq(twi_metric_encode(m, good, n), n);
  static const unsigned char flips[] = {0x01, 0x80, 0xff, 0x10};
  size_t refused = 0;
  for (size_t at = 0; at < n; at++)
    for (size_t f = 0; f < sizeof flips; f++) {
      memcpy(bad, good, n);
      bad[at] ^= flips[f];
      tower_metric *d = NULL;
      const char *why = NULL;
      int rc = twi_metric_decode(bad, n, &d, &why);
      if (rc) {
        ck_assert_int_eq(rc, -EBADMSG);
        ck_assert_ptr_nonnull(why);
        refused++;
        continue;
      }
      for (size_t i = 0; i < tower_metric_field_count(d); i++) /* read it all */
        ck_assert_ptr_nonnull(tower_metric_field_key(d, i));
      for (size_t i = 0; i < tower_metric_tag_count(d); i++)
        ck_assert_ptr_nonnull(tower_metric_tag_value(d, i));
      tower_metric_free(d);
    }
  ck_assert_uint_gt(refused, n); /* counts, offsets, order: most changes are caught */
  /* lengths that disagree with the counts */
  const char *why;
  ck_assert_int_eq(twi_metric_decode(good, n - 1, NULL, &why), -EBADMSG);
  ck_assert_int_eq(twi_metric_decode(good, 10, NULL, &why), -EBADMSG);
  ck_assert_int_eq(twi_metric_decode(good, n, NULL, &why), 0);
  tower_metric_free(m);
  free(good);
  free(bad);
}
END_TEST

/* ---- order, put back, limits --------------------------------------------- */

START_TEST(push_take_ack_in_order) {
  twi_buffer *b = open_default(1000);
  ck_assert(b->durable_on_push);
  ck_assert_uint_eq(push_range(b, 0, 3), 0);
  ck_assert_uint_eq(push_range(b, 3, 7), 0);
  ck_assert_uint_eq(push_range(b, 7, 10), 0);
  ck_assert_uint_eq(b->ops->count(b), 10);
  ck_assert_uint_eq(take_expect(b, 4, 0, true), 4);
  ck_assert_uint_eq(b->ops->count(b), 6);
  ck_assert_uint_eq(push_range(b, 10, 12), 0);
  expect_range(b, 4, 12);
  ck_assert_uint_eq(b->ops->count(b), 0);
  ck_assert_uint_eq(b->ops->volatile_count(b), 0);
  b->ops->destroy(b);
}
END_TEST

START_TEST(put_back_comes_first) {
  twi_buffer *b = open_default(1000);
  push_range(b, 0, 10);
  ck_assert_uint_eq(take_expect(b, 4, 0, false), 4); /* failed write */
  ck_assert_uint_eq(b->ops->count(b), 10);
  push_range(b, 10, 12);
  ck_assert_uint_eq(take_expect(b, 6, 0, false), 6); /* again, a larger batch */
  ck_assert_uint_eq(take_expect(b, 3, 0, true), 3);
  expect_range(b, 3, 12);
  b->ops->destroy(b);
}
END_TEST

START_TEST(count_limit_drops_oldest_never_in_flight) {
  twi_buffer *b = open_default(10);
  ck_assert_uint_eq(push_range(b, 0, 15), 5); /* 0..4 dropped */
  tower_metric *batch[4];
  ck_assert_uint_eq(b->ops->take(b, batch, 4), 4); /* 5..8 in flight */
  ck_assert_int_eq(seq_of(batch[0]), 5);
  ck_assert_uint_eq(push_range(b, 15, 23), 4); /* 6 waiting + 8 = 14 > 10: 9..12 go */
  ck_assert_uint_eq(b->ops->count(b), 10);
  /* the batch comes back: 4 + 10 > 10, so all of it goes (the oldest) */
  ck_assert_uint_eq(b->ops->put_back(b, batch, 4), 4);
  expect_range(b, 13, 23);
  b->ops->destroy(b);
}
END_TEST

START_TEST(byte_limit_drops_oldest_never_in_flight) {
  uint64_t max = 64u << 10;
  twi_buffer *b = open_at(bdir, 1000000, TWI_FSYNC_NEVER, max);
  push_range(b, 0, 10);
  tower_metric *batch[10];
  ck_assert_uint_eq(b->ops->take(b, batch, 10), 10); /* in flight: never dropped */
  size_t dropped = 0;
  for (int i = 10; i < 3000; i += 10)
    dropped += push_range(b, i, i + 10);
  twi_buffer_stats st;
  b->ops->stats(b, &st);
  ck_assert_uint_le(st.disk_bytes, max);
  ck_assert_uint_gt(dropped, 0);
  ck_assert_uint_eq(st.unsaved, 0); /* older metrics made room: none kept in memory */
  /* the batch in flight comes back whole, then the newest, in order */
  ck_assert_uint_eq(b->ops->put_back(b, batch, 10), 0);
  int got[4000];
  size_t n = drain(b, got, 4000);
  ck_assert_uint_eq(n + dropped, 3000);
  for (int i = 0; i < 10; i++)
    ck_assert_int_eq(got[i], i);
  for (size_t i = 10; i < n; i++)
    ck_assert_int_eq(got[i], (int)(3000 - n + i));
  b->ops->destroy(b);
}
END_TEST

/* ---- replay ----------------------------------------------------------------- */

START_TEST(replay_after_close_in_order) {
  twi_buffer *b = open_default(100000);
  push_range(b, 0, 100);
  ck_assert_uint_eq(take_expect(b, 30, 0, true), 30);
  tower_metric *batch[10];
  ck_assert_uint_eq(b->ops->take(b, batch, 10), 10); /* in flight at the close: not acked */
  for (int i = 0; i < 10; i++)
    twi_buffer_release(batch[i], false);
  b->ops->destroy(b);
  ck_assert_uint_eq(records_on_disk(bdir), 100); /* nothing deleted yet: one segment */

  b = open_default(100000);
  ck_assert_uint_eq(b->ops->count(b), 70);
  twi_buffer_stats st;
  b->ops->stats(b, &st);
  ck_assert_uint_eq(st.replayed, 70);
  ck_assert_uint_eq(st.corrupt, 0);
  ck_assert(log_has("70 metrics to write from the last run"));
  push_range(b, 100, 110); /* new ones after the replayed */
  expect_range(b, 30, 110);
  b->ops->destroy(b);
  b = open_default(100000);
  ck_assert_uint_eq(b->ops->count(b), 0);
  b->ops->destroy(b);
}
END_TEST

/* Segments fully acknowledged are deleted; a reopen keeps the order across
 * many segments. */
START_TEST(segments_rotate_and_go) {
  twi_buffer *b = open_at(bdir, 1000000, TWI_FSYNC_NEVER, 1u << 20); /* 64 KiB segments */
  for (int i = 0; i < 4000; i += 100)
    push_range(b, i, i + 100);
  char *segs[64];
  size_t ns = segments(bdir, segs, 64);
  for (size_t i = 0; i < ns; i++)
    free(segs[i]);
  ck_assert_uint_gt(ns, 3);
  ck_assert_uint_eq(take_expect(b, 2500, 0, true), 2500);
  size_t after = segments(bdir, segs, 64);
  for (size_t i = 0; i < after; i++)
    free(segs[i]);
  ck_assert_uint_lt(after, ns);
  b->ops->destroy(b);
  b = open_at(bdir, 1000000, TWI_FSYNC_NEVER, 1u << 20);
  expect_range(b, 2500, 4000);
  b->ops->destroy(b);
}
END_TEST

/* Every segment gone (all written), the position still names the last:
 * the next run numbers its segments after it, so that its records are not
 * taken for ones already read. */
START_TEST(segment_numbers_never_reused) {
  for (int run = 0; run < 3; run++) {
    twi_buffer *b = open_default(1000);
    push_range(b, run * 10, run * 10 + 10);
    expect_range(b, run * 10, run * 10 + 10);
    b->ops->destroy(b);
    b = open_default(1000); /* the next run: the consumed segment goes at its first ack */
    ck_assert_uint_eq(b->ops->count(b), 0);
    push_range(b, 100 + run, 101 + run);
    expect_range(b, 100 + run, 101 + run);
    b->ops->destroy(b);
  }
}
END_TEST

/* A kill -9 right after the pushes returned: a child process pushes, says
 * so through a pipe and waits; the parent kills it; everything it pushed
 * is replayed. In each buffer_fsync mode the records are in the file when
 * push returns (the modes differ in what a power cut keeps, which a test
 * cannot cut). */
static void crash_after_pushes(twi_buffer_fsync mode) {
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    twi_buffer *b = open_at(bdir, 100000, mode, 512u << 20);
    for (int i = 0; i < 500; i += 50)
      push_range(b, i, i + 50);
    tower_metric *batch[100];
    size_t n = b->ops->take(b, batch, 100);
    b->ops->ack(b, n); /* the first 100 were written */
    if (write(p[1], "k", 1) == 1)
      for (;;)
        pause();
    _exit(1);
  }
  char c;
  ck_assert_int_eq(read(p[0], &c, 1), 1);
  ck_assert_int_eq(kill(pid, SIGKILL), 0);
  close(p[0]);
  close(p[1]);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ck_assert_uint_eq(records_on_disk(bdir), 500);
  twi_buffer *b = open_at(bdir, 100000, mode, 512u << 20);
  expect_range(b, 100, 500);
  b->ops->destroy(b);
}

START_TEST(kill_9_fsync_commit) {
  crash_after_pushes(TWI_FSYNC_COMMIT);
}
END_TEST

START_TEST(kill_9_fsync_interval) {
  crash_after_pushes(TWI_FSYNC_INTERVAL);
}
END_TEST

START_TEST(kill_9_fsync_never) {
  crash_after_pushes(TWI_FSYNC_NEVER);
}
END_TEST

START_TEST(fsync_modes_and_durability) {
  twi_buffer_fsync modes[] = {TWI_FSYNC_COMMIT, TWI_FSYNC_INTERVAL, TWI_FSYNC_NEVER};
  for (size_t k = 0; k < 3; k++) {
    char *dir = th_fmt("%s/mode%zu", tmp, k);
    twi_buffer *b = open_at(dir, 1000, modes[k], 512u << 20);
    ck_assert(b->durable_on_push == (modes[k] == TWI_FSYNC_COMMIT));
    push_range(b, 0, 20);
    if (modes[k] == TWI_FSYNC_COMMIT)
      ck_assert_uint_eq(b->pushed_durable, 20);
    ck_assert_uint_eq(records_on_disk(dir), 20); /* written at push, whatever the mode */
    b->ops->tick(b);                             /* syncs ("interval"), saves the position */
    ck_assert_uint_eq(take_expect(b, 5, 0, true), 5);
    b->ops->tick(b);
    /* the position file holds the place of seq 5 */
    char *pos = th_fmt("%s/position", dir);
    struct stat st;
    ck_assert_int_eq(stat(pos, &st), 0);
    ck_assert_int_eq(st.st_size, 128);
    b->ops->destroy(b);
    b = open_at(dir, 1000, modes[k], 512u << 20);
    expect_range(b, 5, 20);
    b->ops->destroy(b);
    free(pos);
    free(dir);
  }
}
END_TEST

/* A new setting on an open buffer (a reload): fsync and the size limit. */
START_TEST(configure_in_place) {
  twi_buffer *b = open_at(bdir, 1000, TWI_FSYNC_NEVER, 512u << 20);
  ck_assert(!b->durable_on_push);
  push_range(b, 0, 5);
  twi_buffer_conf c = conf_of(bdir, TWI_FSYNC_COMMIT, 1u << 20);
  b->ops->configure(b, &c);
  ck_assert(b->durable_on_push);
  push_range(b, 5, 10);
  ck_assert_uint_eq(b->pushed_durable, 5);
  expect_range(b, 0, 10);
  b->ops->destroy(b);
}
END_TEST

/* ---- damage ------------------------------------------------------------------ */

/* Pushes 0..9 and closes; returns the record offsets of the one segment. */
static char *ten_records(long *off) {
  twi_buffer *b = open_default(1000);
  push_range(b, 0, 10);
  b->ops->destroy(b);
  char *segs[4];
  ck_assert_uint_eq(segments(bdir, segs, 4), 1);
  ck_assert_uint_eq(parse_segment(segs[0], off, 10), 10);
  return segs[0];
}

START_TEST(torn_tail_is_skipped) {
  long off[10];
  char *seg = ten_records(off);
  struct stat st;
  ck_assert_int_eq(stat(seg, &st), 0);
  ck_assert_int_eq(truncate(seg, st.st_size - 7), 0); /* a power cut mid-record */
  twi_buffer *b = open_default(1000);
  ck_assert_uint_eq(b->ops->count(b), 9);
  char *line = th_fmt("%s: damaged record at offset %ld (a record cut short by the end of the "
                      "file); skipped the %ld bytes to the end of the file",
                      seg + strlen(tmp) + 1, off[9], (long)(st.st_size - 7 - off[9]));
  ck_assert(log_has(line));
  twi_buffer_stats bs;
  b->ops->stats(b, &bs);
  ck_assert_uint_eq(bs.corrupt, 1);
  push_range(b, 10, 12); /* appends go to a new segment */
  int got[16], want[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11};
  size_t n = drain(b, got, 16);
  expect_seqs(got, n, want, 11);
  b->ops->destroy(b);
  free(line);
  free(seg);
}
END_TEST

START_TEST(flipped_bytes_keep_the_records_after) {
  long off[10];
  char *seg = ten_records(off);
  poke(seg, off[4] + 30, "\x5a", 1); /* record 4: payload */
  poke(seg, off[7], "XXXX", 4);      /* record 7: its magic */
  poke(seg, off[8] + 4, "\xff", 1);  /* record 8: its length */
  twi_buffer *b = open_default(1000);
  ck_assert_uint_eq(b->ops->count(b), 7);
  char *l4 = th_fmt("damaged record at offset %ld (bad checksum); skipped %ld bytes, the records "
                    "from offset %ld on are kept",
                    off[4], off[5] - off[4], off[5]);
  char *l7 = th_fmt("damaged record at offset %ld (no record starts there); skipped %ld bytes",
                    off[7], off[9] - off[7]);
  ck_assert(log_has(l4));
  ck_assert(log_has(l7));
  int got[16], want[] = {0, 1, 2, 3, 5, 6, 9};
  size_t n = drain(b, got, 16);
  expect_seqs(got, n, want, 7);
  b->ops->destroy(b);
  ck_assert(log_has("damaged records skipped (see above)"));
  free(l4);
  free(l7);
  free(seg);
}
END_TEST

/* A record whose checksum is right but whose metric is not (rewritten with
 * a fresh crc): refused by the decoder's checks, skipped alone. */
START_TEST(malformed_record_behind_good_checksum) {
  long off[10];
  char *seg = ten_records(off);
  unsigned char rec[4096];
  int fd = open(seg, O_RDWR);
  ck_assert_int_ge(fd, 0);
  ssize_t len = off[4] - off[3];
  ck_assert_int_eq(pread(fd, rec, (size_t)len, off[3]), len);
  rec[12 + 4] = 0xff; /* nfields: 255, which the length cannot hold */
  uLong c = crc32(crc32(0, rec + 4, 4), rec + 12, (uInt)(len - 12));
  for (int i = 0; i < 4; i++)
    rec[8 + i] = (unsigned char)(c >> (8 * i));
  ck_assert_int_eq(pwrite(fd, rec, (size_t)len, off[3]), len);
  close(fd);
  twi_buffer *b = open_default(1000);
  ck_assert_uint_eq(b->ops->count(b), 9);
  ck_assert(log_has("(a malformed metric: length does not match the counts it holds)"));
  int got[16], want[] = {0, 1, 2, 4, 5, 6, 7, 8, 9};
  size_t n = drain(b, got, 16);
  expect_seqs(got, n, want, 9);
  b->ops->destroy(b);
  free(seg);
}
END_TEST

START_TEST(missing_position_replays_everything) {
  twi_buffer *b = open_default(1000);
  push_range(b, 0, 10);
  ck_assert_uint_eq(take_expect(b, 4, 0, true), 4);
  b->ops->destroy(b);
  char *pos = th_fmt("%s/position", bdir);
  ck_assert_int_eq(unlink(pos), 0);
  b = open_default(1000);
  ck_assert(log_has("no position file; replaying every segment from the oldest"));
  expect_range(b, 0, 10); /* sent again rather than lost */
  b->ops->destroy(b);
  /* both slots damaged: the same */
  b = open_default(1000);
  push_range(b, 10, 12);
  b->ops->destroy(b);
  poke(pos, 20, "garbage!", 8);
  poke(pos, 84, "garbage!", 8);
  b = open_default(1000);
  ck_assert(log_has("the position file is damaged; replaying every segment"));
  ck_assert_uint_ge(b->ops->count(b), 2);
  b->ops->destroy(b);
  free(pos);
}
END_TEST

/* A torn position write leaves the other slot: an older place, so some
 * metrics come again, none is lost. */
START_TEST(torn_position_write_falls_back) {
  twi_buffer *b = open_default(1000);
  push_range(b, 0, 10);
  ck_assert_uint_eq(take_expect(b, 3, 0, true), 3);
  b->ops->tick(b);
  ck_assert_uint_eq(take_expect(b, 3, 3, true), 3);
  b->ops->destroy(b);
  char *pos = th_fmt("%s/position", bdir);
  /* the newest slot: generation 2 went to slot 0 */
  poke(pos, 30, "\x01", 1);
  b = open_default(1000);
  expect_range(b, 3, 10);
  b->ops->destroy(b);
  free(pos);
}
END_TEST

/* A version this build does not know is not guessed at. */
START_TEST(newer_format_is_refused) {
  long off[10];
  char *seg = ten_records(off);
  unsigned char h[32];
  int fd = open(seg, O_RDWR);
  ck_assert_int_eq(pread(fd, h, 32, 0), 32);
  h[8] = 2;
  uLong c = crc32(0, h, 24);
  for (int i = 0; i < 4; i++)
    h[24 + i] = (unsigned char)(c >> (8 * i));
  ck_assert_int_eq(pwrite(fd, h, 32, 0), 32);
  close(fd);
  twi_buffer_conf conf = conf_of(bdir, TWI_FSYNC_COMMIT, 512u << 20);
  int err = 0;
  ck_assert_ptr_null(twi_buffer_disk_open(&conf, 1000, NULL, &err));
  ck_assert_int_eq(err, -EPROTO);
  ck_assert(log_has("has format version 2; this tower reads version 1"));
  free(seg);
}
END_TEST

/* ---- a full disk ------------------------------------------------------------- */

/* A 64 KiB tmpfs: the buffer fills it, keeps the rest in memory (counted,
 * logged, not durable), and moves them to disk once space returns. */
START_TEST(full_disk_keeps_metrics_in_memory) {
  char *mnt = th_fmt("%s/tiny", tmp);
  ck_assert_int_eq(mkdir(mnt, 0700), 0);
  if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0)
    ck_abort_msg("mount -t tmpfs -o size=64k %s: %s (this test needs root, as CI runs it)", mnt,
                 strerror(errno));
  char *filler = th_fmt("%s/filler", mnt), *dir = th_fmt("%s/buf", mnt);
  char block[16384] = {0};
  FILE *f = fopen(filler, "wb");
  ck_assert_uint_eq(fwrite(block, 1, sizeof block, f), sizeof block);
  fclose(f);
  twi_buffer *b = open_at(dir, 100000, TWI_FSYNC_COMMIT, 512u << 20);
  size_t pushed = 0, durable = 0;
  for (int i = 0; i < 800; i += 10) {
    ck_assert_uint_eq(push_range(b, i, i + 10), 0);
    durable += b->pushed_durable;
    pushed += 10;
  }
  twi_buffer_stats st;
  b->ops->stats(b, &st);
  ck_assert_uint_gt(st.unsaved, 0);
  ck_assert_uint_lt(durable, pushed); /* what memory holds is not reported safe */
  ck_assert_uint_eq(durable + st.unsaved, pushed);
  ck_assert_uint_eq(b->ops->count(b), pushed);
  ck_assert_uint_eq(b->ops->volatile_count(b), st.unsaved);
  ck_assert(log_has("No space left on device; keeping new metrics in memory"));
  /* space returns: what memory holds moves to disk as the disk takes it;
   * writing (acks) frees the rest, a segment at a time */
  ck_assert_int_eq(unlink(filler), 0);
  b->ops->tick(b);
  ck_assert_uint_lt(b->ops->volatile_count(b), st.unsaved);
  int got[800];
  size_t n = 0;
  for (int round = 0; round < 20 && b->ops->volatile_count(b); round++) {
    size_t on_disk = b->ops->count(b) - b->ops->volatile_count(b);
    tower_metric *batch[800];
    size_t k = b->ops->take(b, batch, on_disk);
    ck_assert_uint_eq(k, on_disk);
    b->ops->ack(b, k);
    for (size_t i = 0; i < k; i++) {
      got[n++] = seq_of(batch[i]);
      twi_buffer_release(batch[i], false);
    }
    b->ops->tick(b);
  }
  ck_assert_uint_eq(b->ops->volatile_count(b), 0);
  ck_assert(log_has("takes writes again"));
  b->ops->destroy(b); /* all on disk: closing loses nothing */
  b = open_at(dir, 100000, TWI_FSYNC_COMMIT, 512u << 20);
  n += drain(b, got + n, 800 - n);
  ck_assert_uint_eq(n, 800);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(got[i], (int)i);
  b->ops->destroy(b);
  ck_assert_int_eq(umount(mnt), 0);
  free(filler);
  free(dir);
  free(mnt);
}
END_TEST

/* ---- the lock, names ----------------------------------------------------------- */

START_TEST(one_holder_per_directory) {
  twi_buffer *b = open_default(1000);
  ck_assert(twi_buffer_disk_in_use(bdir));
  twi_buffer_conf c = conf_of(bdir, TWI_FSYNC_COMMIT, 512u << 20);
  int err = 0;
  ck_assert_ptr_null(twi_buffer_disk_open(&c, 1000, NULL, &err));
  ck_assert_int_eq(err, -EBUSY);
  ck_assert(log_has("is still held in this agent"));
  /* another process: refused too, and told who holds it. The child
   * answers through exec rather than exit, which would make valgrind count
   * the parent's memory as the child's leaks. */
  pid_t pid = fork();
  if (pid == 0) {
    int e = 0;
    twi_buffer *o = twi_buffer_disk_open(&c, 1000, NULL, &e);
    if (o == NULL && e == -EBUSY)
      execl("/bin/true", "true", (char *)NULL);
    execl("/bin/false", "false", (char *)NULL);
    _exit(1);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char *who = th_fmt("another tower runs with this buffer directory");
  ck_assert(log_has(who));
  b->ops->destroy(b);
  ck_assert(!twi_buffer_disk_in_use(bdir));
  b = open_default(1000); /* free again */
  b->ops->destroy(b);
  free(who);
}
END_TEST

START_TEST(directory_names) {
  char out[256];
  twi_buffer_dir_name("outputs.influxdb:main", out, sizeof out);
  ck_assert_str_eq(out, "outputs.influxdb@main");
  twi_buffer_dir_name("outputs.influxdb", out, sizeof out);
  ck_assert_str_eq(out, "outputs.influxdb");
  twi_buffer_dir_name("outputs.csv:a/b:c d@", out, sizeof out);
  ck_assert_str_eq(out, "outputs.csv@a%2fb%3ac%20d%40");
  char id[400] = "outputs.record:", other[400];
  memset(id + 15, 'x', 300);
  id[315] = '\0';
  memcpy(other, id, sizeof id);
  other[314] = 'y';
  char a[256], b2[256];
  twi_buffer_dir_name(id, a, sizeof a);
  twi_buffer_dir_name(other, b2, sizeof b2);
  ck_assert_uint_le(strlen(a), 200);
  ck_assert_str_ne(a, b2); /* cut, but told apart by the checksum */
}
END_TEST

/* ---- the pipeline around it ---------------------------------------------------- */

static char *outputs_conf(const char *strategy, const char *extra) {
  return th_fmt("agent = { omit_hostname = true; buffer_directory = \"%s\"; };\n"
                "inputs = ( { plugin = \"lines\"; lines = [\"m v=1i\"]; } );\n"
                "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; buffer_strategy = "
                "\"%s\"; %s } );\n",
                tmp, tmp, strategy, extra);
}

START_TEST(two_unaliased_disk_twins_are_refused) {
  char *c = th_fmt(
      "agent = { buffer_directory = \"%s\"; };\n"
      "inputs = ( { plugin = \"lines\"; lines = [\"m v=1i\"]; } );\n"
      "outputs = ( { plugin = \"record\"; path = \"%s/a\"; buffer_strategy = \"disk\"; },\n"
      "            { plugin = \"record\"; path = \"%s/b\"; buffer_strategy = \"disk\"; } );\n",
      tmp, tmp, tmp);
  char *errors = NULL;
  ck_assert_ptr_null(th_build(c, TWI_RUN, &errors));
  ck_assert_ptr_nonnull(errors);
  ck_assert_msg(strstr(errors, "two blocks of this output without an alias keep a disk buffer") &&
                    strstr(errors, "give each block its own alias"),
                "%s", errors);
  ck_assert_msg(strstr(errors, ":4"), "names the line: %s", errors);
  free(errors);
  free(c);
  /* with an alias each, or one in memory, they are fine */
  c = th_fmt("agent = { buffer_directory = \"%s\"; };\n"
             "inputs = ( { plugin = \"lines\"; lines = [\"m v=1i\"]; } );\n"
             "outputs = ( { plugin = \"record\"; path = \"%s/a\"; buffer_strategy = \"disk\"; },\n"
             "            { plugin = \"record\"; path = \"%s/b\"; buffer_strategy = \"disk\"; "
             "alias = \"b\"; },\n"
             "            { plugin = \"record\"; path = \"%s/c\"; } );\n",
             tmp, tmp, tmp, tmp);
  twi_pipeline *pl = th_build(c, TWI_RUN, NULL);
  ck_assert_ptr_nonnull(pl);
  ck_assert_str_eq(pl->outputs[1]->buffer.dir + strlen(tmp), "/outputs.record@b");
  twi_pipeline_free(pl);
  free(c);
}
END_TEST

typedef struct seen {
  int calls;
  tower_delivery d;
} seen;

static void done(void *arg, const tower_delivery *d) {
  seen *s = arg;
  s->calls++;
  s->d = *d;
}

/* buffer_fsync = "commit": a tracked commit is delivered once on disk,
 * before the output writes anything; "interval" waits for the write. */
START_TEST(tracked_commit_delivered_at_push) {
  const char *modes[] = {"commit", "interval"};
  for (int k = 0; k < 2; k++) {
    char *extra = th_fmt("buffer_fsync = \"%s\"; fail_writes = -1;", modes[k]);
    char *c = outputs_conf("disk", extra);
    twi_pipeline *pl = th_start(c, TWI_ONCE);
    tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, true);
    seen s = {0};
    for (int i = 0; i < 3; i++) {
      tower_metric *m = tower_metric_new("m", 1700000000000000000LL + i);
      tower_metric_add_int(m, "v", i);
      ck_assert_int_eq(tower_acc_add(acc, m), 0);
    }
    ck_assert_int_eq(tower_acc_commit_tracked(acc, done, &s), 0);
    if (k == 0) {
      ck_assert_int_eq(s.calls, 1);
      ck_assert_uint_eq(s.d.delivered, 3);
    } else {
      ck_assert_int_eq(s.calls, 0); /* waits for a write, which fails */
    }
    ck_assert_uint_eq(th_flush(pl), 3); /* the output is down: kept */
    twi_acc_free(acc);
    th_free(pl); /* closes the buffer, files stay */
    if (k == 1) {
      ck_assert_int_eq(s.calls, 1);
      ck_assert_msg(s.d.pending == 3, "delivered %llu dropped %llu pending %llu",
                    (unsigned long long)s.d.delivered, (unsigned long long)s.d.dropped,
                    (unsigned long long)s.d.pending);
    }
    /* the next run writes them */
    char *up = outputs_conf("disk", "");
    pl = th_start(up, TWI_ONCE);
    ck_assert_uint_eq(twi_output_buffered(pl->outputs[0]), 3);
    ck_assert_uint_eq(th_flush(pl), 0);
    ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.disk_replayed), 3);
    th_free(pl);
    char *out = th_fmt("%s/out.lp", tmp), *text = th_read_file(out);
    ck_assert_str_eq(text, "m v=0i 1700000000000000000\nm v=1i 1700000000000000001\n"
                           "m v=2i 1700000000000000002\n");
    unlink(out);
    free(text);
    free(out);
    free(up);
    free(c);
    free(extra);
  }
}
END_TEST

/* Field `key`'s integer value on the first line of `text` holding `tag`,
 * or -1. */
static long long field_of(const char *text, const char *tag, const char *key) {
  const char *line = strstr(text, tag);
  if (!line)
    return -1;
  while (line > text && line[-1] != '\n')
    line--;
  const char *eol = strchr(line, '\n');
  size_t klen = strlen(key);
  for (const char *p = line; (p = strstr(p, key)) && (!eol || p < eol); p++)
    if ((p[-1] == ' ' || p[-1] == ',') && p[klen] == '=')
      return atoll(p + klen + 1);
  return -1;
}

/* inputs.internal reports a disk output's buffer: bytes and records on
 * disk, what it replayed at start, damaged records; a memory output has
 * none of these fields. */
/* Two record outputs: "store" on disk and down, "report" in memory taking
 * inputs.internal's internal_write; `more` adds inputs. */
static char *internal_conf(const char *more) {
  return th_fmt("agent = { omit_hostname = true; buffer_directory = \"%s\"; };\n"
                "inputs = ( { plugin = \"lines\"; lines = [\"m v=1i\"]; }%s );\n"
                "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; alias = \"store\"; "
                "buffer_strategy = \"disk\"; fail_writes = -1; namedrop = [\"internal_*\"]; },\n"
                "            { plugin = \"record\"; path = \"%s/report.lp\"; alias = \"report\"; "
                "namepass = [\"internal_write\"]; } );\n",
                tmp, more, tmp, tmp);
}

START_TEST(internal_reports_disk_buffer) {
  char *first = internal_conf(""), *second = internal_conf(", { plugin = \"internal\"; }");
  twi_pipeline *pl = th_start(first, TWI_ONCE);
  ck_assert_int_eq(th_gather(pl), 0);
  th_flush(pl); /* store is down: its metric stays on disk */
  th_free(pl);

  pl = th_start(second, TWI_ONCE);
  ck_assert_int_eq(th_gather(pl), 0); /* lines (one more on disk), then internal */
  th_flush(pl);
  th_free(pl);
  char *path = th_fmt("%s/report.lp", tmp), *text = th_read_file(path);
  ck_assert_ptr_nonnull(text);
  ck_assert_msg(field_of(text, "alias=store", "buffer_disk_records") == 2 &&
                    field_of(text, "alias=store", "buffer_replayed") == 1 &&
                    field_of(text, "alias=store", "buffer_corrupt") == 0 &&
                    field_of(text, "alias=store", "buffer_unsaved") == 0 &&
                    field_of(text, "alias=store", "buffer_disk_bytes") > 32,
                "internal_write of the disk output:\n%s", text);
  ck_assert_msg(field_of(text, "alias=report", "metrics_written") >= 0 &&
                    field_of(text, "alias=report", "buffer_disk_bytes") == -1,
                "internal_write of the memory output:\n%s", text);
  free(text);
  free(path);
  free(first);
  free(second);
}
END_TEST

/* A reload that changes only buffer_strategy keeps the running output and
 * converts its buffer: memory -> disk -> memory, nothing lost, in order. */
START_TEST(reload_converts_buffer_in_place) {
  char *mem = outputs_conf("memory", "fail_writes = 2;");
  char *disk = outputs_conf("disk", "fail_writes = 2; buffer_fsync = \"never\";");
  twi_pipeline *a = th_start(mem, TWI_ONCE);
  tower_ctx *o = a->outputs[0];
  ck_assert_int_eq(th_gather(a), 0);
  ck_assert_int_eq(th_gather(a), 0);
  ck_assert_uint_eq(th_flush(a), 2); /* first write fails: both kept */

  twi_pipeline *b = th_build(disk, TWI_ONCE, NULL);
  twi_pipeline_adopt(b, a);
  ck_assert_ptr_eq(b->outputs[0], o); /* the same output, still running */
  ck_assert(o->buffer.disk);
  char *dir = th_fmt("%s/outputs.record", tmp);
  ck_assert_uint_eq(records_on_disk(dir), 2);
  ck_assert(log_has("buffer on disk in"));
  ck_assert(log_has("kept (only its buffer settings changed) by the reload; keeping its 2"));
  ck_assert_int_eq(twi_pipeline_init(b), 0);
  th_free(a);
  ck_assert_int_eq(th_gather(b), 0);
  ck_assert_uint_eq(twi_output_buffered(o), 3);

  /* the same configuration again: the same output and files, untouched */
  twi_pipeline *same = th_build(disk, TWI_ONCE, NULL);
  twi_pipeline_adopt(same, b);
  ck_assert_ptr_eq(same->outputs[0], o);
  ck_assert(log_has("unchanged by the reload; keeping its 3 buffered metrics"));
  ck_assert_uint_eq(records_on_disk(dir), 3);
  ck_assert_int_eq(twi_pipeline_init(same), 0);
  th_free(b);
  b = same;

  twi_pipeline *c = th_build(mem, TWI_ONCE, NULL);
  twi_pipeline_adopt(c, b);
  ck_assert_ptr_eq(c->outputs[0], o);
  ck_assert(!o->buffer.disk);
  ck_assert_int_eq(access(dir, F_OK), -1); /* the files went with it */
  ck_assert(log_has("buffer in memory now: 3 metrics read off the disk"));
  ck_assert_int_eq(twi_pipeline_init(c), 0);
  th_free(b);
  ck_assert_uint_eq(th_flush(c), 3); /* the second write fails too */
  ck_assert_uint_eq(th_flush(c), 0);
  th_free(c);
  char *out = th_fmt("%s/out.lp", tmp), *text = th_read_file(out);
  ck_assert_ptr_nonnull(text);
  int lines = 0;
  for (const char *p = text; *p; p++)
    lines += *p == '\n';
  ck_assert_int_eq(lines, 3);
  free(text);
  free(out);
  free(dir);
  free(mem);
  free(disk);
}
END_TEST

int main(void) {
  Suite *s = suite_create("buffer_disk");
  TCase *t = tcase_create("buffer_disk");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 120);
  tcase_add_test(t, encoding_round_trip);
  tcase_add_test(t, encoding_refuses_malformed);
  tcase_add_test(t, push_take_ack_in_order);
  tcase_add_test(t, put_back_comes_first);
  tcase_add_test(t, count_limit_drops_oldest_never_in_flight);
  tcase_add_test(t, byte_limit_drops_oldest_never_in_flight);
  tcase_add_test(t, replay_after_close_in_order);
  tcase_add_test(t, segments_rotate_and_go);
  tcase_add_test(t, segment_numbers_never_reused);
  tcase_add_test(t, kill_9_fsync_commit);
  tcase_add_test(t, kill_9_fsync_interval);
  tcase_add_test(t, kill_9_fsync_never);
  tcase_add_test(t, fsync_modes_and_durability);
  tcase_add_test(t, configure_in_place);
  tcase_add_test(t, torn_tail_is_skipped);
  tcase_add_test(t, flipped_bytes_keep_the_records_after);
  tcase_add_test(t, malformed_record_behind_good_checksum);
  tcase_add_test(t, missing_position_replays_everything);
  tcase_add_test(t, torn_position_write_falls_back);
  tcase_add_test(t, newer_format_is_refused);
  tcase_add_test(t, full_disk_keeps_metrics_in_memory);
  tcase_add_test(t, one_holder_per_directory);
  tcase_add_test(t, directory_names);
  tcase_add_test(t, two_unaliased_disk_twins_are_refused);
  tcase_add_test(t, tracked_commit_delivered_at_push);
  tcase_add_test(t, reload_converts_buffer_in_place);
  tcase_add_test(t, internal_reports_disk_buffer);
  suite_add_tcase(s, t);
  return check_run(s);
}
