/* The disk buffer (buffer_strategy = "disk"): an output's metrics in
 * append-only segment files, so that a crash or a kill -9 loses nothing it
 * accepted, and a restart writes what was not acknowledged, in order.
 *
 * The directory holds `lock` (flock'ed while the buffer is open),
 * `position` (where reading resumes) and segments `<16 hex digits>.seg`
 * numbered in order. Each segment starts with a 32-byte header carrying
 * the format version; then records, each framed with a magic, its length
 * and a crc32, holding one metric (twi_metric_encode). core/README.md
 * ("Disk buffers") describes the bytes.
 *
 * What is where, oldest first:
 *   front   metrics put back after a failed write (their records are on
 *           disk too, before the reading position; kept decoded so that a
 *           retry reads nothing);
 *   disk    `waiting` records from the reading position `rd` to the end;
 *   spill   metrics the disk refused (full, or an I/O error), in memory,
 *           moved to disk as soon as it takes writes again. They are not
 *           crash-safe, and a push that put some there tells the output
 *           so (pushed_durable), so that a tracked commit waits for their
 *           real delivery instead of counting them as safe.
 * Keeping them in memory rather than dropping them means a full disk costs
 * crash-safety for a while, not data: metric_buffer_limit still bounds the
 * whole, with the same drop-oldest rule as the memory buffer.
 *
 * The position file says where the oldest metric still needed starts (the
 * batch in flight or the front, else rd); it moves on an ack. A segment is
 * deleted once nothing in it is needed. Metrics dropped behind a batch in
 * flight may come back after a crash (a duplicate, never a loss).
 *
 * Damage (a torn tail after a power cut, flipped bits, a truncated file)
 * is found by the frame checks: each damaged stretch is logged with file
 * and offset, counted, and skipped to the next valid frame (the magic lets
 * the reader find it); records after it are kept. Opening reads every
 * record once (checksums and metric validation) so that count() is exact
 * and each damage is reported once.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <tower/plugin.h>

#include "buffer.h"
#include "log_internal.h"
#include "metric_internal.h"

#define SEG_MAGIC "TWRBUFSG"
#define SEG_VERSION 1
#define SEG_HEADER 32
#define REC_MAGIC "TWRR"
#define REC_HEADER 12
#define REC_MAX (32u << 20) /* a metric's encoding stays below 18 MiB */
#define POS_MAGIC "TWRBUFPS"
#define POS_SLOT 64
#define LOCK_NAME "lock"
#define POS_NAME "position"
#define WRITE_CHUNK (1u << 20)
#define READ_CHUNK (256u << 10)

/* A place in the log. `mem`: a metric that was never on disk (it came from
 * the spill); its place is where the disk data ended when it was taken. */
typedef struct lpos {
  uint64_t seg, off;
  bool mem;
} lpos;

typedef struct segment {
  uint64_t seq, size;
} segment;

typedef struct disk_buffer {
  twi_buffer base;
  const tower_ctx *ctx;
  char *dir;
  size_t limit;
  uint64_t max_bytes, seg_max;
  twi_buffer_fsync fsync;
  int dirfd, lockfd, posfd;

  segment *segs; /* ascending */
  size_t nsegs, segcap;
  uint64_t disk_bytes, next_seq;

  int wfd; /* the last segment, open for appending; -1: none */
  bool wsynced, dir_dirty;
  unsigned char *wbuf;
  size_t wcap;

  int rfd; /* segment rd.seg, open for reading; -1: none */
  uint64_t rfd_seq;
  lpos rd;
  unsigned char *rbuf;
  size_t rcap, rlen;
  uint64_t rbase; /* rbuf holds bytes [rbase, rbase + rlen) of rfd */
  size_t waiting;

  /* damage reported by the opening scan, in file order, not reported again */
  lpos *known;
  size_t nknown, kcap, khead;
  bool scanning;

  struct { /* ring: front.m[head..] with their places */
    tower_metric **m;
    lpos *at;
    size_t head, n, cap, mem;
  } front;
  lpos *inflight; /* places of the batch in flight */
  size_t nin, incap;
  struct {
    tower_metric **m;
    size_t head, n, cap;
  } spill;

  lpos saved; /* last place written to the position file */
  uint64_t pos_gen;
  bool pos_unsynced;

  size_t drop_budget, dropped_now; /* byte-limit drops allowed in this push */
  bool refusing;                   /* the last write failed: spill mode */
  bool registered;                 /* in open_dirs */
  bool pos_missing;                /* no position file at opening */
  uint64_t unsaved_since;          /* metrics spilled since it began */
  twi_buffer_stats st;
} disk_buffer;

/* ---- little-endian fields and the crc ---------------------------------- */

static void put_le(unsigned char *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static uint32_t crc(uint32_t c, const unsigned char *p, size_t n) {
  while (n > 0) { /* zlib takes uInt lengths */
    uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
    c = (uint32_t)crc32(c, p, k);
    p += k;
    n -= k;
  }
  return c;
}

/* The crc of a record covers its length field and its payload. */
static uint32_t record_crc(const unsigned char *frame, size_t len) {
  return crc(crc(0, frame + 4, 4), frame + REC_HEADER, len);
}

static int cmp_pos(lpos a, lpos b) {
  if (a.seg != b.seg)
    return a.seg < b.seg ? -1 : 1;
  return (a.off > b.off) - (a.off < b.off);
}

static void seg_name(uint64_t seq, char out[24]) {
  snprintf(out, 24, "%016llx.seg", (unsigned long long)seq);
}

/* ---- plain I/O ---------------------------------------------------------- */

static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    if (r == 0)
      break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

/* Writes n bytes; on failure returns -errno and the bytes written in *done. */
static int write_full(int fd, const void *buf, size_t n, size_t *done) {
  *done = 0;
  while (*done < n) {
    ssize_t w = write(fd, (const char *)buf + *done, n - *done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -errno;
    if (w == 0)
      return -ENOSPC;
    *done += (size_t)w;
  }
  return 0;
}

static int grow_bytes(unsigned char **buf, size_t *cap, size_t need) {
  if (need <= *cap)
    return 0;
  size_t c = *cap ? *cap : 4096;
  while (c < need)
    c *= 2;
  unsigned char *n = realloc(*buf, c);
  if (!n)
    return -ENOMEM;
  *buf = n;
  *cap = c;
  return 0;
}

/* ---- segments ----------------------------------------------------------- */

static segment *find_seg(disk_buffer *b, uint64_t seq) {
  for (size_t i = 0; i < b->nsegs; i++)
    if (b->segs[i].seq == seq)
      return &b->segs[i];
  return NULL;
}

static segment *last_seg(disk_buffer *b) {
  return b->nsegs ? &b->segs[b->nsegs - 1] : NULL;
}

static int add_seg(disk_buffer *b, uint64_t seq, uint64_t size) {
  if (b->nsegs == b->segcap) {
    size_t cap = b->segcap ? b->segcap * 2 : 16;
    segment *s = realloc(b->segs, cap * sizeof *s);
    if (!s)
      return -ENOMEM;
    b->segs = s;
    b->segcap = cap;
  }
  size_t i = b->nsegs;
  while (i > 0 && b->segs[i - 1].seq > seq) /* keep them sorted */
    i--;
  memmove(&b->segs[i + 1], &b->segs[i], (b->nsegs - i) * sizeof *b->segs);
  b->segs[i] = (segment){seq, size};
  b->nsegs++;
  b->disk_bytes += size;
  if (seq >= b->next_seq)
    b->next_seq = seq + 1;
  return 0;
}

static void close_reader(disk_buffer *b) {
  if (b->rfd >= 0)
    close(b->rfd);
  b->rfd = -1;
  b->rlen = 0;
}

static void close_writer(disk_buffer *b) {
  if (b->wfd < 0)
    return;
  if (!b->wsynced && b->fsync != TWI_FSYNC_NEVER && fdatasync(b->wfd) != 0)
    tower_log(b->ctx, TOWER_LOG_ERROR, "cannot sync the disk buffer segment in %s: %s", b->dir,
              strerror(errno));
  close(b->wfd);
  b->wfd = -1;
  b->wsynced = true;
}

/* Deletes segment i: its file and its entry. */
static void remove_seg(disk_buffer *b, size_t i) {
  segment s = b->segs[i];
  char name[24];
  seg_name(s.seq, name);
  if (b->rfd >= 0 && b->rfd_seq == s.seq)
    close_reader(b);
  if (i == b->nsegs - 1)
    close_writer(b);
  if (unlinkat(b->dirfd, name, 0) != 0 && errno != ENOENT)
    tower_log(b->ctx, TOWER_LOG_WARN, "cannot remove %s/%s: %s", b->dir, name, strerror(errno));
  b->disk_bytes -= s.size;
  memmove(&b->segs[i], &b->segs[i + 1], (b->nsegs - i - 1) * sizeof *b->segs);
  b->nsegs--;
  b->dir_dirty = true;
}

/* ---- damage ------------------------------------------------------------- */

/* A damaged stretch [at, resume) of segment `seq`: logged and counted the
 * first time it is met (the opening scan), silent when met again. */
static void damage(disk_buffer *b, lpos at, uint64_t resume, uint64_t end, const char *why) {
  while (b->khead < b->nknown && cmp_pos(b->known[b->khead], at) < 0)
    b->khead++;
  if (b->khead < b->nknown && cmp_pos(b->known[b->khead], at) == 0) {
    b->khead++;
    return;
  }
  b->st.corrupt++;
  if (b->scanning && b->nknown == b->kcap) {
    size_t cap = b->kcap ? b->kcap * 2 : 8;
    lpos *k = realloc(b->known, cap * sizeof *k);
    if (k) {
      b->known = k;
      b->kcap = cap;
    }
  }
  if (b->scanning && b->nknown < b->kcap)
    b->known[b->nknown++] = at;
  char name[24];
  seg_name(at.seg, name);
  if (resume >= end)
    tower_log(b->ctx, TOWER_LOG_ERROR,
              "disk buffer %s/%s: damaged record at offset %llu (%s); skipped the %llu bytes to "
              "the end of the file",
              b->dir, name, (unsigned long long)at.off, why, (unsigned long long)(end - at.off));
  else
    tower_log(b->ctx, TOWER_LOG_ERROR,
              "disk buffer %s/%s: damaged record at offset %llu (%s); skipped %llu bytes, the "
              "records from offset %llu on are kept",
              b->dir, name, (unsigned long long)at.off, why, (unsigned long long)(resume - at.off),
              (unsigned long long)resume);
}

/* ---- the reader --------------------------------------------------------- */

/* Bytes [off, off + n) of the segment being read, whose first `size`
 * bytes are data, or NULL when they are not all data (*err 0) or cannot be
 * read (*err -errno). Nothing past `size` is ever cached: a failed write
 * cut off there may be written over. */
static const unsigned char *window(disk_buffer *b, uint64_t off, size_t n, uint64_t size,
                                   int *err) {
  *err = 0;
  if (off > size || n > size - off)
    return NULL;
  if (off >= b->rbase && off + n <= b->rbase + b->rlen)
    return b->rbuf + (off - b->rbase);
  size_t want = n > READ_CHUNK ? n : READ_CHUNK;
  if (want > size - off)
    want = (size_t)(size - off);
  if ((*err = grow_bytes(&b->rbuf, &b->rcap, want)))
    return NULL;
  ssize_t got = pread_full(b->rfd, b->rbuf, want, off);
  b->rbase = off;
  b->rlen = got > 0 ? (size_t)got : 0;
  if (got < 0)
    *err = (int)got;
  return got >= 0 && (size_t)got >= n ? b->rbuf : NULL;
}

/* Checks the header of the segment just opened for reading. A version
 * this build does not know is not guessed at (-EPROTO); a damaged header
 * is reported, and its records are read on their own frames. */
static int check_header(disk_buffer *b, const segment *s) {
  int err;
  const unsigned char *h = window(b, 0, SEG_HEADER, s->size, &err);
  lpos at = {s->seq, 0, false};
  if (!h || memcmp(h, SEG_MAGIC, 8) != 0 || crc(0, h, 24) != get_le(h + 24, 4)) {
    damage(b, at, SEG_HEADER, s->size, "the segment header is damaged or missing");
    return 0;
  }
  if (get_le(h + 8, 2) != SEG_VERSION) {
    char name[24];
    seg_name(s->seq, name);
    tower_log(b->ctx, TOWER_LOG_ERROR,
              "disk buffer %s/%s has format version %u; this tower reads version %d (a newer "
              "tower wrote it?): run that version until it has written it, or move the "
              "directory away",
              b->dir, name, (unsigned)get_le(h + 8, 2), SEG_VERSION);
    return -EPROTO;
  }
  return 0;
}

/* Puts the reader on the segment holding rd, or on the next one when rd
 * is at the end of its own or that one is gone. Returns the segment, NULL
 * at the end of the data, or NULL with *err set. */
static segment *reader_segment(disk_buffer *b, int *err) {
  *err = 0;
  for (;;) {
    segment *s = find_seg(b, b->rd.seg);
    if (s && b->rd.off < s->size)
      break;
    segment *next = NULL;
    for (size_t i = 0; i < b->nsegs && !next; i++)
      if (b->segs[i].seq > b->rd.seg)
        next = &b->segs[i];
    if (!next)
      return NULL; /* rd stays at the end: new records are read from there */
    b->rd = (lpos){next->seq, SEG_HEADER, false};
  }
  segment *s = find_seg(b, b->rd.seg);
  if (b->rfd < 0 || b->rfd_seq != s->seq) {
    close_reader(b);
    char name[24];
    seg_name(s->seq, name);
    b->rfd = openat(b->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (b->rfd < 0) {
      *err = -errno;
      tower_log(b->ctx, TOWER_LOG_ERROR, "cannot open %s/%s: %s", b->dir, name, strerror(errno));
      return NULL;
    }
    b->rfd_seq = s->seq;
    if (b->scanning && (*err = check_header(b, s)))
      return NULL;
    if (b->rd.off < SEG_HEADER)
      b->rd.off = SEG_HEADER;
  }
  return s;
}

/* Why the frame at `off` (in a segment of `size` bytes) is not a record,
 * or NULL when it is one: then *len is its payload's length. */
static const char *frame_problem(disk_buffer *b, uint64_t off, uint64_t size, uint32_t *len,
                                 int *err) {
  if (size - off < REC_HEADER)
    return "a record cut short by the end of the file";
  const unsigned char *h = window(b, off, REC_HEADER, size, err);
  if (!h)
    return "unreadable";
  if (memcmp(h, REC_MAGIC, 4) != 0)
    return "no record starts there";
  *len = (uint32_t)get_le(h + 4, 4);
  uint32_t want = (uint32_t)get_le(h + 8, 4);
  if (*len == 0 || *len > REC_MAX)
    return "bad length";
  if (*len > size - off - REC_HEADER)
    return "a record cut short by the end of the file";
  const unsigned char *f = window(b, off, REC_HEADER + (size_t)*len, size, err);
  if (!f)
    return "unreadable";
  return record_crc(f, *len) == want ? NULL : "bad checksum";
}

/* The next offset after `off` where a valid frame starts, or `size`. */
static uint64_t resync(disk_buffer *b, uint64_t off, uint64_t size) {
  uint64_t o = off + 1;
  while (o + REC_HEADER <= size) {
    size_t n = size - o < READ_CHUNK ? (size_t)(size - o) : READ_CHUNK;
    int err;
    const unsigned char *p = window(b, o, n, size, &err);
    if (!p)
      return size;
    const unsigned char *q = memmem(p, n, REC_MAGIC, 4);
    if (!q) {
      o += n > 3 ? n - 3 : n; /* the magic may straddle two windows */
      continue;
    }
    uint64_t cand = o + (uint64_t)(q - p);
    uint32_t len;
    if (!frame_problem(b, cand, size, &len, &err))
      return cand;
    o = cand + 1;
  }
  return size;
}

typedef enum rec_status { REC_OK, REC_END, REC_SKIPPED, REC_ERROR } rec_status;

/* Reads the record at rd and moves rd past it. REC_OK: *payload (valid
 * until the next read) and *len; REC_SKIPPED: a damaged stretch was
 * skipped (and reported); REC_END: no more data; REC_ERROR: *err. */
static rec_status read_record(disk_buffer *b, const unsigned char **payload, uint32_t *len,
                              lpos *at, int *err) {
  segment *s = reader_segment(b, err);
  if (!s)
    return *err ? REC_ERROR : REC_END;
  *at = b->rd;
  const char *why = frame_problem(b, b->rd.off, s->size, len, err);
  if (*err)
    return REC_ERROR;
  if (why) {
    uint64_t next = resync(b, b->rd.off, s->size);
    damage(b, *at, next, s->size, why);
    b->rd.off = next;
    return REC_SKIPPED;
  }
  const unsigned char *f = window(b, b->rd.off, REC_HEADER + (size_t)*len, s->size, err);
  if (!f) /* just checked: only a failed read gets here */
    return REC_ERROR;
  *payload = f + REC_HEADER;
  b->rd.off += REC_HEADER + (uint64_t)*len;
  return REC_OK;
}

/* Whether the damage just met at `at` was reported (and left out of the
 * count) by the opening scan: damage() consumed its entry. */
static bool was_known(const disk_buffer *b, lpos at) {
  return b->khead > 0 && cmp_pos(b->known[b->khead - 1], at) == 0;
}

/* Whether a sound frame at `at` is a malformed record the opening scan
 * reported (so not counted): consumes its entry. */
static bool known_here(disk_buffer *b, lpos at) {
  while (b->khead < b->nknown && cmp_pos(b->known[b->khead], at) < 0)
    b->khead++;
  if (b->khead < b->nknown && cmp_pos(b->known[b->khead], at) == 0) {
    b->khead++;
    return true;
  }
  return false;
}

/* A record whose frame is sound but whose metric is malformed. */
static void malformed(disk_buffer *b, lpos at, uint32_t len, const char *why) {
  char what[256];
  snprintf(what, sizeof what, "a malformed metric: %s", why);
  damage(b, at, at.off + REC_HEADER + len, UINT64_MAX, what);
}

/* ---- the position file -------------------------------------------------- */

/* Two slots written in turn, each with a generation and a crc: a write
 * torn by a power cut leaves the other, older, slot (older means metrics
 * sent twice, never lost). */
static lpos needed_from(const disk_buffer *b) {
  if (b->nin)
    return b->inflight[0];
  if (b->front.n)
    return b->front.at[b->front.head];
  return b->rd;
}

static void write_position(disk_buffer *b) {
  lpos at = needed_from(b);
  if (b->posfd < 0 || (cmp_pos(at, b->saved) == 0 && b->pos_gen))
    return;
  unsigned char slot[POS_SLOT] = {0};
  memcpy(slot, POS_MAGIC, 8);
  put_le(slot + 8, SEG_VERSION, 4);
  put_le(slot + 16, b->pos_gen + 1, 8);
  put_le(slot + 24, at.seg, 8);
  put_le(slot + 32, at.off, 8);
  put_le(slot + 40, crc(0, slot, 40), 4);
  off_t where = (off_t)(((b->pos_gen + 1) % 2) * POS_SLOT);
  if (pwrite(b->posfd, slot, sizeof slot, where) != (ssize_t)sizeof slot) {
    tower_log(b->ctx, TOWER_LOG_WARN,
              "cannot save the read position in %s/%s: %s; a restart would send some metrics "
              "again",
              b->dir, POS_NAME, strerror(errno));
    return;
  }
  b->pos_gen++;
  b->saved = at;
  b->pos_unsynced = true;
}

static void sync_position(disk_buffer *b) {
  write_position(b);
  if (b->pos_unsynced && b->fsync != TWI_FSYNC_NEVER && fdatasync(b->posfd) != 0)
    tower_log(b->ctx, TOWER_LOG_WARN, "cannot sync %s/%s: %s", b->dir, POS_NAME, strerror(errno));
  b->pos_unsynced = false;
}

/* Where reading resumes: the valid slot of the highest generation. false
 * when neither is valid (a missing or damaged file). */
static bool read_position(disk_buffer *b, lpos *out) {
  unsigned char buf[2 * POS_SLOT];
  ssize_t n = pread_full(b->posfd, buf, sizeof buf, 0);
  bool found = false;
  for (int i = 0; i < 2 && n >= (ssize_t)((i + 1) * POS_SLOT); i++) {
    const unsigned char *s = buf + i * POS_SLOT;
    if (memcmp(s, POS_MAGIC, 8) != 0 || crc(0, s, 40) != get_le(s + 40, 4))
      continue;
    uint64_t gen = get_le(s + 16, 8);
    if (found && gen <= b->pos_gen)
      continue;
    found = true;
    b->pos_gen = gen;
    *out = (lpos){get_le(s + 24, 8), get_le(s + 32, 8), false};
  }
  return found;
}

/* ---- room: deleting what is no longer needed ---------------------------- */

/* The last place pinned by the batch in flight or the front. */
static lpos pinned_end(const disk_buffer *b) {
  if (b->front.n)
    return b->front.at[(b->front.head + b->front.n - 1) % b->front.cap];
  return b->inflight[b->nin - 1];
}

/* Deletes the segments nothing needs any more: every record in them was
 * taken or dropped (they lie before rd), and none is pinned by the batch
 * in flight or the front. The segment being written goes only when space
 * is wanted (`pressing`): otherwise a new file per flush would follow.
 * Returns the bytes freed. */
static uint64_t reclaim(disk_buffer *b, bool pressing) {
  uint64_t before = b->disk_bytes;
  bool pins = b->nin || b->front.n;
  lpos lo = needed_from(b), hi = pins ? pinned_end(b) : lo;
  for (size_t i = 0; i < b->nsegs;) {
    const segment *s = &b->segs[i];
    bool writing = i == b->nsegs - 1 && b->wfd >= 0;
    bool consumed = s->seq < b->rd.seg || (s->seq == b->rd.seg && b->rd.off >= s->size);
    bool free_of_pins = !pins || s->seq < lo.seg || s->seq > hi.seg;
    if (consumed && free_of_pins && (!writing || pressing))
      remove_seg(b, i);
    else
      i++;
  }
  return before - b->disk_bytes;
}

/* ---- front and spill rings --------------------------------------------- */

static int front_reserve(disk_buffer *b, size_t more) {
  if (b->front.n + more <= b->front.cap)
    return 0;
  size_t cap = b->front.cap ? b->front.cap : 64;
  while (cap < b->front.n + more)
    cap *= 2;
  tower_metric **m = malloc(cap * sizeof *m);
  lpos *at = malloc(cap * sizeof *at);
  if (!m || !at) {
    free(m);
    free(at);
    return -ENOMEM;
  }
  for (size_t i = 0; i < b->front.n; i++) {
    m[i] = b->front.m[(b->front.head + i) % b->front.cap];
    at[i] = b->front.at[(b->front.head + i) % b->front.cap];
  }
  free(b->front.m);
  free(b->front.at);
  b->front.m = m;
  b->front.at = at;
  b->front.cap = cap;
  b->front.head = 0;
  return 0;
}

static tower_metric *front_pop(disk_buffer *b, lpos *at) {
  size_t h = b->front.head;
  *at = b->front.at[h];
  b->front.head = (h + 1) % b->front.cap;
  b->front.n--;
  b->front.mem -= at->mem;
  return b->front.m[h];
}

static int spill_push(disk_buffer *b, tower_metric *m) {
  if (b->spill.n == b->spill.cap) {
    size_t cap = b->spill.cap ? b->spill.cap * 2 : 256;
    tower_metric **r = malloc(cap * sizeof *r);
    if (!r)
      return -ENOMEM;
    for (size_t i = 0; i < b->spill.n; i++)
      r[i] = b->spill.m[(b->spill.head + i) % b->spill.cap];
    free(b->spill.m);
    b->spill.m = r;
    b->spill.cap = cap;
    b->spill.head = 0;
  }
  b->spill.m[(b->spill.head + b->spill.n++) % b->spill.cap] = m;
  return 0;
}

static tower_metric *spill_pop(disk_buffer *b) {
  tower_metric *m = b->spill.m[b->spill.head];
  b->spill.head = (b->spill.head + 1) % b->spill.cap;
  b->spill.n--;
  return m;
}

static size_t disk_count(const twi_buffer *base) {
  const disk_buffer *b = (const disk_buffer *)base;
  return b->front.n + b->waiting + b->spill.n;
}

/* ---- dropping the oldest ----------------------------------------------- */

/* Skips the record at rd without decoding it: one of those counted as
 * waiting. false when there is none left. (A damaged stretch met for the
 * first time here counts as one record: its real count is unknown.) */
static bool skip_record(disk_buffer *b) {
  for (;;) {
    const unsigned char *p;
    uint32_t len;
    lpos at;
    int err;
    rec_status st = read_record(b, &p, &len, &at, &err);
    if (st == REC_OK && !known_here(b, at))
      return true;
    if (st == REC_SKIPPED && !was_known(b, at))
      return true;
    if (st == REC_END || st == REC_ERROR) {
      b->waiting = 0; /* the count was off (the files changed): trust the files */
      return false;
    }
  }
}

/* Drops the oldest metric not in flight: front, then disk, then spill. */
static bool drop_one(disk_buffer *b, bool spill_too) {
  if (b->front.n) {
    lpos at;
    twi_buffer_release(front_pop(b, &at), true);
    return true;
  }
  if (b->waiting) {
    bool skipped = skip_record(b);
    if (skipped)
      b->waiting--;
    return skipped || b->waiting > 0;
  }
  if (spill_too && b->spill.n) {
    twi_buffer_release(spill_pop(b), true);
    return true;
  }
  return false;
}

/* Frees disk space for `need` more bytes within buffer_max_bytes, deleting
 * what is consumed and dropping the oldest metrics that were there before
 * this push. false when that cannot be done. */
static bool make_room(disk_buffer *b, uint64_t need) {
  while (b->disk_bytes + need > b->max_bytes) {
    if (reclaim(b, true))
      continue;
    if (b->drop_budget == 0 || !drop_one(b, false))
      return false;
    b->drop_budget--;
    b->dropped_now++;
  }
  return true;
}

/* ---- the writer --------------------------------------------------------- */

static int open_segment(disk_buffer *b) {
  uint64_t seq = b->next_seq;
  char name[24];
  seg_name(seq, name);
  int fd = openat(b->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return -errno;
  unsigned char h[SEG_HEADER] = {0};
  memcpy(h, SEG_MAGIC, 8);
  put_le(h + 8, SEG_VERSION, 2);
  put_le(h + 10, SEG_HEADER, 2);
  put_le(h + 16, seq, 8);
  put_le(h + 24, crc(0, h, 24), 4);
  size_t done;
  int rc = write_full(fd, h, sizeof h, &done);
  if (rc == 0)
    rc = add_seg(b, seq, SEG_HEADER);
  if (rc) {
    close(fd);
    unlinkat(b->dirfd, name, 0);
    return rc;
  }
  b->wfd = fd;
  b->wsynced = false;
  b->dir_dirty = true;
  return 0;
}

/* Appends `len` bytes of records to the segment being written; a failed
 * write is cut back off the file so that nothing half-written stays. */
static int append_bytes(disk_buffer *b, const unsigned char *buf, size_t len) {
  segment *s = last_seg(b);
  size_t done;
  int rc = write_full(b->wfd, buf, len, &done);
  if (rc == 0) {
    s->size += len;
    b->disk_bytes += len;
    b->wsynced = false;
    return 0;
  }
  if (done && ftruncate(b->wfd, (off_t)s->size) != 0) {
    /* what was written stays: the reader will skip it as damage */
    s->size += done;
    b->disk_bytes += done;
    close_writer(b);
  }
  return rc;
}

/* Encodes the metrics that fit in one write into wbuf. Returns how many;
 * *bytes their size. 0 with *rotate when the segment is full. */
static size_t encode_chunk(disk_buffer *b, tower_metric *const *ms, size_t n, size_t *bytes,
                           bool *rotate) {
  uint64_t size = b->wfd >= 0 ? last_seg(b)->size : SEG_HEADER;
  uint64_t room = b->seg_max > size ? b->seg_max - size : 0;
  size_t used = 0, k = 0;
  *rotate = false;
  for (; k < n; k++) {
    size_t len = twi_metric_encoded_size(ms[k]), rec = REC_HEADER + len;
    if (k > 0 && used + rec > WRITE_CHUNK)
      break;
    if (used + rec > room && (k > 0 || size > SEG_HEADER)) {
      *rotate = k == 0;
      break;
    }
    if (len > REC_MAX || grow_bytes(&b->wbuf, &b->wcap, used + rec))
      break;
    unsigned char *f = b->wbuf + used;
    if (twi_metric_encode(ms[k], f + REC_HEADER, len) != len)
      break;
    memcpy(f, REC_MAGIC, 4);
    put_le(f + 4, len, 4);
    put_le(f + 8, record_crc(f, len), 4);
    used += rec;
  }
  *bytes = used;
  return k;
}

/* A write the disk refused: the metrics go to memory. Logged each time
 * (the repeat limiter keeps it to a few lines); err 0: `why`. */
static void refused(disk_buffer *b, int err, const char *why) {
  if (!b->refusing)
    b->unsaved_since = 0;
  b->refusing = true;
  tower_log(b->ctx, TOWER_LOG_ERROR,
            "cannot write to the disk buffer in %s: %s; keeping new metrics in memory (at most "
            "metric_buffer_limit = %zu) until it takes writes again: they are not crash-safe "
            "meanwhile",
            b->dir, err ? strerror(-err) : why, b->limit);
}

/* The write of one chunk, into a new segment if none is open. */
static int put_chunk(disk_buffer *b, size_t bytes) {
  int rc = b->wfd < 0 ? open_segment(b) : 0;
  return rc ? rc : append_bytes(b, b->wbuf, bytes);
}

static bool disk_full(int rc) {
  return rc == -ENOSPC || rc == -EDQUOT;
}

/* One chunk: room within buffer_max_bytes, then the write; a full disk
 * first gives up what was consumed. Returns 0, -ENOBUFS (the byte limit)
 * or -errno. */
static int write_chunk(disk_buffer *b, size_t bytes) {
  if (!make_room(b, bytes + SEG_HEADER))
    return -ENOBUFS;
  int rc = put_chunk(b, bytes);
  if (disk_full(rc) && reclaim(b, true))
    rc = put_chunk(b, bytes);
  return rc;
}

/* Writes as many of ms (in order) as the disk takes. Returns how many;
 * their references are released (the disk holds them now). A full disk
 * gets smaller and smaller chunks, down to one record, so that what fits
 * goes in. */
static size_t append(disk_buffer *b, tower_metric *const *ms, size_t n) {
  size_t done = 0, most = n;
  while (done < n) {
    size_t bytes;
    bool rotate;
    size_t want = n - done < most ? n - done : most;
    size_t k = encode_chunk(b, ms + done, want, &bytes, &rotate);
    if (k == 0 && rotate) {
      close_writer(b);
      continue;
    }
    int rc = k ? write_chunk(b, bytes) : -ENOMEM;
    if (disk_full(rc) && k > 1) {
      most = k / 2;
      continue;
    }
    if (rc) {
      refused(b, rc == -ENOBUFS ? 0 : rc,
              "buffer_max_bytes is reached and nothing older may be dropped");
      break;
    }
    for (size_t i = 0; i < k; i++)
      twi_buffer_release(ms[done + i], false);
    b->waiting += k;
    done += k;
  }
  if (done && b->refusing && b->spill.n == 0) {
    tower_log(b->ctx, TOWER_LOG_INFO,
              "the disk buffer in %s takes writes again (%llu metric%s kept in memory meanwhile)",
              b->dir, (unsigned long long)b->unsaved_since, twi_s(b->unsaved_since));
    b->refusing = false;
  }
  return done;
}

/* Syncs what was written (and new or removed segment names). */
static int sync_data(disk_buffer *b) {
  int rc = 0;
  if (b->wfd >= 0 && !b->wsynced) {
    if (fdatasync(b->wfd) != 0)
      rc = -errno;
    else
      b->wsynced = true;
  }
  if (b->dir_dirty) {
    if (fsync(b->dirfd) != 0 && !rc)
      rc = -errno;
    else
      b->dir_dirty = false;
  }
  if (rc)
    tower_log(b->ctx, TOWER_LOG_ERROR,
              "cannot sync the disk buffer in %s: %s; what was written since the last sync may "
              "not survive a power cut",
              b->dir, strerror(-rc));
  return rc;
}

/* Moves the spill to disk, oldest first, as far as the disk takes it. */
static void drain_spill(disk_buffer *b) {
  while (b->spill.n) {
    size_t run = b->spill.cap - b->spill.head; /* contiguous part of the ring */
    if (run > b->spill.n)
      run = b->spill.n;
    size_t k = append(b, b->spill.m + b->spill.head, run);
    b->spill.head = (b->spill.head + k) % b->spill.cap;
    b->spill.n -= k;
    if (k < run)
      return;
  }
  if (b->refusing && b->spill.n == 0) {
    tower_log(b->ctx, TOWER_LOG_INFO,
              "the disk buffer in %s takes writes again; the %llu metric%s kept in memory "
              "meanwhile are on disk now",
              b->dir, (unsigned long long)b->unsaved_since, twi_s(b->unsaved_since));
    b->refusing = false;
  }
}

/* ---- the buffer --------------------------------------------------------- */

static size_t disk_push(twi_buffer *base, tower_metric **ms, size_t n) {
  disk_buffer *b = (disk_buffer *)base;
  size_t dropped = 0, first = 0, count = disk_count(base);
  b->base.pushed_durable = 0;
  if (count + n > b->limit) { /* oldest first: those buffered, then these */
    size_t excess = count + n - b->limit;
    for (size_t i = 0; i < excess && i < count && drop_one(b, true); i++)
      dropped++;
    for (; dropped + first < excess && first < n; first++)
      twi_buffer_release(ms[first], true);
    dropped += first;
  }
  b->drop_budget = b->front.n + b->waiting;
  b->dropped_now = 0;
  if (b->spill.n)
    drain_spill(b);
  size_t written = b->spill.n ? 0 : append(b, ms + first, n - first);
  for (size_t i = first + written; i < n; i++) {
    if (spill_push(b, ms[i]) != 0) { /* no memory for a bigger ring: drop the oldest */
      dropped += drop_one(b, true);
      if (spill_push(b, ms[i]) != 0) {
        twi_buffer_release(ms[i], true);
        dropped++;
        continue;
      }
    }
    b->st.unsaved++;
    b->unsaved_since++;
  }
  bool unsynced = !b->wsynced || b->dir_dirty;
  if (b->fsync == TWI_FSYNC_COMMIT && unsynced && sync_data(b) != 0)
    written = 0; /* on disk, maybe: not safe */
  b->base.pushed_durable = written;
  b->drop_budget = 0;
  return dropped + b->dropped_now;
}

/* Decodes the record at rd into *m. 1: a metric; 0: no more (or an
 * unreadable file: logged); -1: a damaged stretch or malformed record was
 * skipped; -ENOMEM: rd is back where it was. */
static int next_metric(disk_buffer *b, tower_metric **m, lpos *at) {
  const unsigned char *p;
  uint32_t len;
  int err;
  rec_status st = read_record(b, &p, &len, at, &err);
  if (st == REC_END || st == REC_ERROR)
    return 0;
  if (st == REC_SKIPPED)
    return -1;
  const char *why = NULL;
  int rc = twi_metric_decode(p, len, m, &why);
  if (rc == -ENOMEM) {
    b->rd = *at;
    return rc;
  }
  if (rc) {
    malformed(b, *at, len, why);
    return -1;
  }
  return 1;
}

/* Records that were counted and are gone: reported through base.lost,
 * after the first `k` metrics of the batch being taken. */
static void lose(disk_buffer *b, size_t n, size_t k) {
  if (!b->base.lost)
    b->base.lost_after = k;
  b->base.lost += n;
}

/* Takes one disk record into batch[*k]. false when the batch must end
 * here: the data ended, no memory, or a damaged stretch after metrics
 * already taken (so that what it lost sits at one place in the batch). */
static bool take_disk(disk_buffer *b, tower_metric **batch, size_t *k) {
  tower_metric *m;
  lpos at;
  int rc = next_metric(b, &m, &at);
  if (rc == 1) {
    b->waiting--;
    batch[*k] = m;
    b->inflight[(*k)++] = at;
    return true;
  }
  if (rc == 0) { /* counted records the files no longer hold */
    lose(b, b->waiting, *k);
    b->waiting = 0;
    return false;
  }
  if (rc == -1 && !was_known(b, at)) {
    b->waiting--;
    lose(b, 1, *k);
    return *k == 0;
  }
  return rc == -1;
}

static size_t disk_take(twi_buffer *base, tower_metric **batch, size_t k) {
  disk_buffer *b = (disk_buffer *)base;
  if (k > b->incap) {
    lpos *p = realloc(b->inflight, k * sizeof *p);
    if (!p)
      return 0;
    b->inflight = p;
    b->incap = k;
  }
  size_t n = 0;
  while (n < k) {
    if (b->front.n) {
      batch[n] = front_pop(b, &b->inflight[n]);
      n++;
    } else if (b->waiting) {
      if (!take_disk(b, batch, &n))
        break;
    } else if (b->spill.n) {
      batch[n] = spill_pop(b);
      b->inflight[n++] = (lpos){b->rd.seg, b->rd.off, true};
    } else {
      break;
    }
  }
  b->nin = n;
  return n;
}

static void disk_ack(twi_buffer *base, size_t k) {
  disk_buffer *b = (disk_buffer *)base;
  (void)k; /* always the whole batch in flight */
  b->nin = 0;
  write_position(b);
  reclaim(b, false);
}

static size_t disk_put_back(twi_buffer *base, tower_metric **batch, size_t k) {
  disk_buffer *b = (disk_buffer *)base;
  size_t count = disk_count(base), skip = 0;
  if (count + k > b->limit) /* the oldest of the batch are the oldest overall */
    skip = count + k - b->limit < k ? count + k - b->limit : k;
  for (size_t i = 0; i < skip; i++)
    twi_buffer_release(batch[i], true);
  if (front_reserve(b, k - skip)) {
    for (size_t i = skip; i < k; i++)
      twi_buffer_release(batch[i], true);
    b->nin = 0;
    return k;
  }
  for (size_t i = k; i-- > skip;) {
    b->front.head = (b->front.head + b->front.cap - 1) % b->front.cap;
    b->front.m[b->front.head] = batch[i];
    b->front.at[b->front.head] = b->inflight[i];
    b->front.mem += b->inflight[i].mem;
    b->front.n++;
  }
  b->nin = 0;
  return skip;
}

static size_t disk_volatile(const twi_buffer *base) {
  const disk_buffer *b = (const disk_buffer *)base;
  return b->spill.n + b->front.mem;
}

static void disk_stats(const twi_buffer *base, twi_buffer_stats *st) {
  const disk_buffer *b = (const disk_buffer *)base;
  *st = b->st;
  st->disk_bytes = b->disk_bytes;
  st->disk_records = b->waiting + (b->front.n - b->front.mem);
}

static void disk_tick(twi_buffer *base) {
  disk_buffer *b = (disk_buffer *)base;
  if (b->fsync == TWI_FSYNC_INTERVAL)
    sync_data(b);
  sync_position(b);
  if (b->spill.n) {
    b->drop_budget = 0;
    drain_spill(b);
    if (b->fsync != TWI_FSYNC_NEVER)
      sync_data(b);
  }
  reclaim(b, false);
}

/* Segments of 1/64 of buffer_max_bytes (8 MiB for the default 512 MiB):
 * space comes back a segment at a time, so the limit is kept within a
 * segment, and a nearly full disk recovers soon. */
static uint64_t segment_max(uint64_t max_bytes) {
  uint64_t s = max_bytes / 64;
  return s < (4u << 10) ? (4u << 10) : s > (16u << 20) ? (16u << 20) : s;
}

static void disk_configure(twi_buffer *base, const twi_buffer_conf *c) {
  disk_buffer *b = (disk_buffer *)base;
  if (c->fsync == TWI_FSYNC_COMMIT && b->fsync != TWI_FSYNC_COMMIT)
    sync_data(b);
  b->fsync = c->fsync;
  b->base.durable_on_push = c->fsync == TWI_FSYNC_COMMIT;
  b->max_bytes = c->max_bytes;
  b->seg_max = segment_max(c->max_bytes);
}

static void release_all(disk_buffer *b) {
  while (b->front.n) {
    lpos at;
    tower_metric *m = front_pop(b, &at);
    twi_buffer_release(m, at.mem);
  }
  while (b->spill.n)
    twi_buffer_release(spill_pop(b), true);
}

static void unregister_dir(disk_buffer *b);

static void free_buffer(disk_buffer *b) {
  unregister_dir(b);
  release_all(b);
  close_reader(b);
  close_writer(b);
  if (b->posfd >= 0)
    close(b->posfd);
  if (b->lockfd >= 0)
    close(b->lockfd); /* the lock goes with it; the file stays (see csv_lock.c) */
  if (b->dirfd >= 0)
    close(b->dirfd);
  free(b->segs);
  free(b->wbuf);
  free(b->rbuf);
  free(b->known);
  free(b->front.m);
  free(b->front.at);
  free(b->inflight);
  free(b->spill.m);
  free(b->dir);
  free(b);
}

static void disk_destroy(twi_buffer *base) {
  disk_buffer *b = (disk_buffer *)base;
  if (b->fsync != TWI_FSYNC_NEVER)
    sync_data(b);
  sync_position(b);
  free_buffer(b);
}

static void disk_discard(twi_buffer *base) {
  disk_buffer *b = (disk_buffer *)base;
  while (b->nsegs)
    remove_seg(b, b->nsegs - 1);
  unlinkat(b->dirfd, POS_NAME, 0);
  unlinkat(b->dirfd, LOCK_NAME, 0);
  char *dir = strdup(b->dir);
  free_buffer(b);
  if (dir && rmdir(dir) != 0 && errno != ENOENT)
    tower_log(NULL, TOWER_LOG_DEBUG, "cannot remove %s: %s", dir, strerror(errno));
  free(dir);
}

static const twi_buffer_ops disk_ops = {
    .push = disk_push,
    .take = disk_take,
    .ack = disk_ack,
    .put_back = disk_put_back,
    .count = disk_count,
    .destroy = disk_destroy,
    .tick = disk_tick,
    .volatile_count = disk_volatile,
    .stats = disk_stats,
    .configure = disk_configure,
    .discard = disk_discard,
};

/* ---- opening ------------------------------------------------------------ */

/* The directories the disk buffers of this process hold: an output that
 * replaces another in a reload waits for it to let go (output.c) instead
 * of running into its lock. */
static struct {
  pthread_mutex_t lock;
  char **dirs;
  size_t n, cap;
} open_dirs = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static void register_dir(disk_buffer *b) {
  pthread_mutex_lock(&open_dirs.lock);
  if (open_dirs.n == open_dirs.cap) {
    size_t cap = open_dirs.cap ? open_dirs.cap * 2 : 8;
    char **d = realloc(open_dirs.dirs, cap * sizeof *d);
    if (d) {
      open_dirs.dirs = d;
      open_dirs.cap = cap;
    }
  }
  if (open_dirs.n < open_dirs.cap) { /* else: the lock still refuses a second holder */
    open_dirs.dirs[open_dirs.n++] = b->dir;
    b->registered = true;
  }
  pthread_mutex_unlock(&open_dirs.lock);
}

static void unregister_dir(disk_buffer *b) {
  if (!b->registered)
    return;
  pthread_mutex_lock(&open_dirs.lock);
  for (size_t i = 0; i < open_dirs.n; i++)
    if (open_dirs.dirs[i] == b->dir) {
      open_dirs.dirs[i] = open_dirs.dirs[--open_dirs.n];
      break;
    }
  if (open_dirs.n == 0) { /* nothing left for a leak checker to see */
    free(open_dirs.dirs);
    open_dirs.dirs = NULL;
    open_dirs.cap = 0;
  }
  pthread_mutex_unlock(&open_dirs.lock);
}

bool twi_buffer_disk_in_use(const char *dir) {
  bool used = false;
  pthread_mutex_lock(&open_dirs.lock);
  for (size_t i = 0; i < open_dirs.n && !used; i++)
    used = strcmp(open_dirs.dirs[i], dir) == 0;
  pthread_mutex_unlock(&open_dirs.lock);
  return used;
}

/* mkdir -p: parents 0755, the buffer's own directory 0700 (metrics may be
 * private). */
static int make_dirs(const char *path) {
  char *p = strdup(path);
  if (!p)
    return -ENOMEM;
  int rc = 0;
  for (char *s = p + 1; rc == 0; s++) {
    bool end = *s == '\0';
    if (*s != '/' && !end)
      continue;
    *s = '\0';
    if (mkdir(p, end ? 0700 : 0755) != 0 && errno != EEXIST)
      rc = -errno;
    if (end)
      break;
    *s = '/';
  }
  free(p);
  return rc;
}

static int take_lock(disk_buffer *b) {
  b->lockfd = openat(b->dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (b->lockfd < 0) {
    int err = errno;
    tower_log(b->ctx, TOWER_LOG_ERROR, "cannot open the disk buffer lock %s/%s: %s", b->dir,
              LOCK_NAME, strerror(err));
    return -err;
  }
  if (flock(b->lockfd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char who[128] = "";
    ssize_t n = pread(b->lockfd, who, sizeof who - 1, 0);
    who[n > 0 ? n : 0] = '\0';
    who[strcspn(who, "\n")] = '\0';
    for (char *p = who; *p; p++)
      if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
        *p = '?';
    long pid = strncmp(who, "pid ", 4) == 0 ? strtol(who + 4, NULL, 10) : 0;
    if (err == EWOULDBLOCK && pid == (long)getpid())
      tower_log(b->ctx, TOWER_LOG_ERROR,
                "the disk buffer %s is still held in this agent (by %s): the output it replaces "
                "has not let go of it yet (an input that did not stop in time keeps it alive)",
                b->dir, who);
    else if (err == EWOULDBLOCK)
      tower_log(b->ctx, TOWER_LOG_ERROR,
                "the disk buffer %s is in use (by %s): another tower runs with this buffer "
                "directory; stop it first, or give this one another agent.buffer_directory",
                b->dir, *who ? who : "another process");
    else
      tower_log(b->ctx, TOWER_LOG_ERROR, "cannot lock %s/%s: %s", b->dir, LOCK_NAME, strerror(err));
    return err == EWOULDBLOCK ? -EBUSY : -err;
  }
  char line[256];
  int len = snprintf(line, sizeof line, "pid %ld: %s\n", (long)getpid(),
                     b->ctx ? tower_ctx_id(b->ctx) : "tower");
  if (len > 0 && (size_t)len < sizeof line &&
      (ftruncate(b->lockfd, 0) != 0 || pwrite(b->lockfd, line, (size_t)len, 0) != len))
    tower_log(b->ctx, TOWER_LOG_DEBUG, "cannot write our name into %s/%s", b->dir, LOCK_NAME);
  return 0;
}

/* Reads the directory: segments by name, ignoring anything else. */
static int list_segments(disk_buffer *b) {
  int fd = dup(b->dirfd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return -errno;
  }
  rewinddir(d);
  int rc = 0;
  for (struct dirent *e; rc == 0 && (e = readdir(d));) {
    char *end;
    unsigned long long seq = strtoull(e->d_name, &end, 16);
    struct stat st;
    if (strlen(e->d_name) != 20 || end != e->d_name + 16 || strcmp(end, ".seg") != 0)
      continue;
    if (fstatat(b->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
      tower_log(b->ctx, TOWER_LOG_WARN, "%s/%s is not a regular file: ignored", b->dir, e->d_name);
      continue;
    }
    rc = add_seg(b, seq, (uint64_t)st.st_size);
  }
  closedir(d);
  return rc;
}

/* Where replay starts: the position file, else the oldest segment. */
static void find_start(disk_buffer *b) {
  lpos at;
  bool found = read_position(b, &at);
  struct stat st;
  bool damaged = !found && fstat(b->posfd, &st) == 0 && st.st_size > 0;
  /* an empty file: nothing was ever acknowledged, the oldest is right */
  if (b->nsegs && (damaged || b->pos_missing))
    tower_log(b->ctx, TOWER_LOG_WARN,
              "disk buffer %s: %s; replaying every segment from the oldest (metrics written "
              "before may be sent again)",
              b->dir, damaged ? "the position file is damaged" : "no position file");
  b->rd = found ? at : (lpos){b->nsegs ? b->segs[0].seq : 0, SEG_HEADER, false};
  /* a segment number is never used twice: the position may name one that
   * was deleted since */
  if (b->next_seq <= b->rd.seg)
    b->next_seq = b->rd.seg + 1;
  while (b->nsegs && b->segs[0].seq < b->rd.seg) /* acknowledged, left by a crash */
    remove_seg(b, 0);
  segment *s = find_seg(b, b->rd.seg);
  if (s && b->rd.off > s->size) {
    tower_log(b->ctx, TOWER_LOG_WARN,
              "disk buffer %s: the read position is past the end of its segment (a power cut "
              "before the data reached the disk?): going on with the next segment",
              b->dir);
    b->rd.off = s->size;
  }
  b->saved = b->rd;
}

/* Reads every record from the start once: counts what will be replayed
 * and reports damage (once). */
static int scan(disk_buffer *b) {
  lpos start = b->rd;
  b->scanning = true;
  int rc = 0;
  for (;;) {
    const unsigned char *p;
    uint32_t len;
    lpos at;
    rec_status st = read_record(b, &p, &len, &at, &rc);
    if (st == REC_END || st == REC_ERROR)
      break;
    if (st == REC_SKIPPED)
      continue;
    const char *why = NULL;
    if (twi_metric_decode(p, len, NULL, &why) == 0)
      b->waiting++;
    else
      malformed(b, at, len, why);
  }
  b->scanning = false;
  b->khead = 0;
  b->rd = start;
  close_reader(b);
  b->st.replayed = b->waiting;
  return rc;
}

static int open_files(disk_buffer *b) {
  int rc = make_dirs(b->dir);
  if (rc) {
    tower_log(b->ctx, TOWER_LOG_ERROR,
              "cannot create the disk buffer directory %s: %s; set agent.buffer_directory to a "
              "directory tower may write",
              b->dir, strerror(-rc));
    return rc;
  }
  b->dirfd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (b->dirfd < 0) {
    rc = -errno;
    tower_log(b->ctx, TOWER_LOG_ERROR, "cannot open %s: %s", b->dir, strerror(-rc));
    return rc;
  }
  if ((rc = take_lock(b)))
    return rc;
  register_dir(b);
  b->posfd = openat(b->dirfd, POS_NAME, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (b->posfd < 0 && errno == ENOENT) {
    b->pos_missing = true;
    b->posfd = openat(b->dirfd, POS_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  }
  if (b->posfd < 0 || (rc = list_segments(b))) {
    rc = rc ? rc : -errno;
    tower_log(b->ctx, TOWER_LOG_ERROR, "cannot read the disk buffer %s: %s", b->dir, strerror(-rc));
    return rc;
  }
  return 0;
}

twi_buffer *twi_buffer_disk_open(const twi_buffer_conf *c, size_t limit, const tower_ctx *ctx,
                                 int *err) {
  disk_buffer *b = calloc(1, sizeof *b);
  if (!b || !(b->dir = strdup(c->dir))) {
    free(b);
    *err = -ENOMEM;
    return NULL;
  }
  b->base.ops = &disk_ops;
  b->ctx = ctx;
  b->limit = limit ? limit : 1;
  b->dirfd = b->lockfd = b->posfd = b->wfd = b->rfd = -1;
  b->wsynced = true;
  disk_configure(&b->base, c);
  int rc = open_files(b);
  if (rc == 0) {
    find_start(b);
    rc = scan(b);
  }
  if (rc) {
    free_buffer(b);
    *err = rc;
    return NULL;
  }
  if (b->waiting || b->st.corrupt)
    tower_log(ctx, TOWER_LOG_INFO,
              "disk buffer %s: %zu metric%s to write from the last run (%llu bytes in %zu "
              "segment%s)%s",
              b->dir, b->waiting, twi_s(b->waiting), (unsigned long long)b->disk_bytes, b->nsegs,
              twi_s(b->nsegs), b->st.corrupt ? "; damaged records skipped (see above)" : "");
  return &b->base;
}

/* ---- names -------------------------------------------------------------- */

/* The longest name made: well below NAME_MAX (255), whatever the file
 * system. */
#define DIR_NAME_MAX 200

void twi_buffer_dir_name(const char *id, char *out, size_t size) {
  static const char hex[] = "0123456789abcdef";
  const char *alias = strchr(id, ':');
  size_t max = size - 1 < DIR_NAME_MAX ? size - 1 : DIR_NAME_MAX, n = 0;
  const char *p = id;
  for (; *p; p++) {
    unsigned char c = (unsigned char)*p;
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
    size_t w = p == alias || safe ? 1 : 3;
    if (n + w > max - 9) /* room for "~" and a checksum, in case the rest does not fit */
      break;
    if (p == alias) {
      out[n++] = '@';
    } else if (safe) {
      out[n++] = (char)c;
    } else {
      out[n++] = '%';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 15];
    }
  }
  out[n] = '\0';
  if (*p) /* cut short: a checksum of the whole id keeps the name unique */
    snprintf(out + n, size - n, "~%08lx",
             (unsigned long)crc32(0, (const Bytef *)id, (uInt)strlen(id)) & 0xffffffffUL);
}
