/* outputs.csv internals, shared by csv.c (options, batches, modes),
 * csv_file.c (one file per measurement) and csv_reader.c (RFC 4180 input).
 * See README.md for the behaviour. */
#ifndef TOWER_OUTPUTS_CSV_H
#define TOWER_OUTPUTS_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <tower/tower.h>

/* The longest sanitized measurement name: room for ".csv.tmp.XXXXXX" and
 * ".csv.NNNN" within NAME_MAX (255). */
#define CSV_NAME_MAX 240

/* Names of our own in the directory (README.md, Files). */
#define CSV_TEMP_SUFFIX ".tmp"              /* <m>.csv.tmp.XXXXXX */
#define CSV_PROBE_PREFIX ".tower-csv-probe" /* .tower-csv-probe.XXXXXX */
#define CSV_LOCK_NAME ".tower-csv.lock"

typedef enum csv_mode { CSV_APPEND = 0, CSV_SNAPSHOT = 1 } csv_mode;

/* Column kinds, in the order new columns are laid out. */
typedef enum csv_kind { CSV_COL_TIME = 0, CSV_COL_TAG = 1, CSV_COL_FIELD = 2 } csv_kind;

/* A header: column names in file order, with a hash index. */
typedef struct csv_cols {
  char **names;
  size_t *lens;
  size_t n, cap;
  struct csv_slot {
    uint32_t col; /* column index + 1; 0: empty */
    uint32_t hash;
  } * slots; /* nslots is a power of two */
  size_t nslots;
} csv_cols;

typedef struct csv_file csv_file;

/* The instance's settings and the scratch buffers shared by all files (the
 * write callback is never concurrent with itself). */
typedef struct csv_out {
  tower_ctx *ctx;
  const char *dir;
  int dirfd;
  dev_t dir_dev;
  ino_t dir_ino;
  int lockfd;   /* holds the directory's lock (csv_lock.c); -1: none */
  char *owner;  /* who we are, written into the lock file */
  uint64_t rnd; /* state of the temporary-name generator */
  bool create_dir, fsync;
  char sep;
  const char *time_format, *time_column;
  mode_t file_mode;
  uint64_t rotate_size;
  int64_t rotate_files;

  tower_buf *cells; /* one row's cells */
  tower_buf *tmp;   /* a timestamp; a rewrite's output */
  tower_buf *head;  /* a header line */
  /* columns a row needed that its file lacks (collected, then added) */
  struct csv_newcol {
    char *name;
    csv_kind kind;
  } * newcols;
  size_t nnew, newcap;
} csv_out;

struct csv_file {
  char *fname;   /* "<sanitized>.csv", relative to the directory */
  char *tmpname; /* the current temporary file: "<fname>.tmp.XXXXXX" */
  csv_mode mode;
  csv_cols cols;
  size_t disk_ncols; /* columns of the header on disk; 0: none written yet */
  off_t head_len;    /* bytes of that header line */

  /* append mode: the file kept open */
  int fd;
  dev_t dev;
  ino_t ino;
  off_t size;
  bool opened_once; /* header adopted (snapshot: read once) */

  tower_buf *buf; /* the rows of one write, reused */
  size_t *cell_off, *cell_len, cell_cap;

  /* rows of the current write call */
  const tower_metric **rows;
  size_t nrows, rows_cap;
  /* snapshot: retained rows of the newest gather seen in this flush */
  const tower_metric **pend;
  size_t npend, pend_cap;
  uint64_t pend_gid;
  uint64_t view_gid;
  bool touched, seen, written; /* in this write call */
  csv_file *next_touched;
};

/* ---- columns (csv_file.c) ---- */
void csv_cols_free(csv_cols *c);
void csv_cols_reset(csv_cols *c);
/* Index of the column named key+suffix, or -1. */
ptrdiff_t csv_cols_find(const csv_cols *c, const char *key, const char *suffix);
int csv_cols_add(csv_cols *c, const char *name, size_t len);

/* ---- rows (csv_row.c) ---- */
/* Renders f->rows into f->buf, widening f->cols first when a row brings a
 * column the header lacks. 0 or -ENOMEM. */
int csv_file_render(csv_out *o, csv_file *f);
/* Appends the header line for cols to out. 0 or -ENOMEM. */
int csv_header(csv_out *o, const csv_cols *cols, tower_buf *out);

/* ---- files (csv_file.c) ---- */
csv_file *csv_file_new(const char *sanitized, csv_mode mode);
void csv_file_free(csv_file *f);
/* Appends f->buf (append mode), with the header when the file has none,
 * after rotating or widening the file as needed. 0 or -errno, logged. */
int csv_file_append(csv_out *o, csv_file *f);
/* Replaces the file with the header and f->buf (snapshot mode), adopting
 * the header of an existing file first. */
int csv_file_replace(csv_out *o, csv_file *f);

/* ---- names in the directory, never through a link (csv_fs.c) ---- */

/* What an opened (or refused) entry is. */
typedef struct csv_entry {
  struct stat st;     /* fstat of the opened file */
  bool created;       /* csv_open_at created it */
  const char *unsafe; /* with -EPERM: what is there ("a symbolic link"...) */
} csv_entry;

/* What the entry st describes when it must not be used as one of our files:
 * anything but a regular file with a single name. NULL when usable. */
const char *csv_entry_unsafe(const struct stat *st);
/* Whether `name` in dirfd is absent (0) or usable (0), or -EPERM with *what
 * saying what it is, or -errno. Does not follow a link. */
int csv_check_entry(int dirfd, const char *name, const char **what);
/* Opens `name` in dirfd with flags (O_RDONLY, O_RDWR | O_APPEND...) without
 * following a link or blocking on a FIFO, and only when it is a regular file
 * with a single name. With O_CREAT, a missing file is created exclusively
 * and given create_mode by fchmod (the umask does not narrow it). Returns
 * the fd, -EPERM with e->unsafe set, or -errno. */
int csv_open_at(int dirfd, const char *name, int flags, mode_t create_mode, csv_entry *e);
/* Creates "<prefix>.XXXXXX" (unpredictable, exclusive, not following a
 * link) into name[size], with `mode` set by fchmod. The fd or -errno. */
int csv_create_temp(int dirfd, const char *prefix, uint64_t *rnd, int flags, mode_t mode,
                    char *name, size_t size);
/* Whether name is one of our temporary files (or probe). */
bool csv_is_temp_name(const char *name);
/* A seed for csv_create_temp's generator. */
uint64_t csv_random_seed(void);

/* ---- the directory lock (csv_lock.c) ---- */
/* Takes the exclusive lock of the directory dirfd: one output per
 * directory, in this agent and across agents. Returns the lock's fd, or
 * -EBUSY / -errno with what went wrong and what to do in msg. */
int csv_lock_take(const csv_out *o, int dirfd, char *msg, size_t size);
/* Releases the lock (closing lockfd); nothing when lockfd < 0. */
void csv_lock_release(int lockfd);

/* ---- the directory (csv_dir.c) ---- */
/* Opens the directory (creating it when allowed), checks that files can
 * be created in it, takes its lock and removes temporary files an
 * interrupted run left. 0, or -EINVAL/-EBUSY after logging at the option's
 * file:line. */
int csv_dir_open(csv_out *o, const tower_config *cfg);
/* For --config-check: checks that the directory is usable (or can be
 * created), naming the path component at fault, and creates, locks and
 * writes nothing. 0 or -EINVAL (logged). */
int csv_dir_check(csv_out *o, const tower_config *cfg);
/* Before each write: reopens (and locks) the directory when it was removed
 * or replaced. 0 or -errno (logged). */
int csv_dir_reopen(csv_out *o);

/* ---- RFC 4180 reading (csv_reader.c) ---- */

/* A streaming record splitter: feed bytes, get record boundaries and cell
 * counts, without unescaping (a rewrite copies cells verbatim). */
typedef struct csv_scan {
  char sep;
  int state;    /* private */
  size_t cells; /* cells of the record so far (separators + 1) */
  size_t bytes; /* bytes of the record so far (terminator excluded) */
  bool cr;      /* an unquoted '\r' is waiting for its '\n' */
  bool crlf;    /* the record just ended with "\r\n" */
} csv_scan;

void csv_scan_init(csv_scan *s, char sep);
/* Scans data[0..len) up to the end of the current record. Returns the
 * number of bytes consumed; *end is true when a record ended there (its
 * terminator "\n" or "\r\n" consumed; s->cells/bytes describe it until the
 * next call). */
size_t csv_scan_feed(csv_scan *s, const char *data, size_t len, bool *end);
void csv_scan_next_record(csv_scan *s);

/* Parses one header record data[0..len) (terminator excluded) into cols,
 * unescaping quoted names. 0, -EINVAL (not a valid record), -ENOMEM. */
int csv_parse_header(const char *data, size_t len, char sep, csv_cols *cols);

#endif
