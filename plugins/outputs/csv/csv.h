/* outputs.csv internals, shared by csv.c (options, batches, modes),
 * csv_file.c (one file per measurement) and csv_reader.c (RFC 4180 input).
 * See README.md for the behaviour. */
#ifndef TOWER_OUTPUTS_CSV_H
#define TOWER_OUTPUTS_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <tower/tower.h>

/* The longest sanitized measurement name: room for ".csv.tmp" and ".csv.NNNN"
 * within NAME_MAX (255). */
#define CSV_NAME_MAX 240

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
  char *fname; /* "<sanitized>.csv", relative to the directory */
  char *tmpname;
  csv_mode mode;
  csv_cols cols;
  size_t disk_ncols; /* columns of the header on disk; 0: none written yet */
  off_t head_len;    /* bytes of that header line */

  /* append mode: the file kept open */
  int fd;
  dev_t dev;
  ino_t ino;
  off_t size;
  bool regular;     /* a regular file (not /dev/null, a FIFO...) */
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
/* Replaces the file with the header and f->buf (snapshot mode). */
int csv_file_replace(csv_out *o, csv_file *f);
/* Snapshot mode: reads the header of an existing file once. */
int csv_file_adopt_snapshot(csv_out *o, csv_file *f);

/* ---- the directory (csv_dir.c) ---- */
/* Opens the directory (creating it when allowed) and checks that files can
 * be created in it. 0, or -EINVAL after logging at the option's file:line. */
int csv_dir_open(csv_out *o, const tower_config *cfg);
/* Before each write: reopens the directory when it was removed or replaced.
 * 0 or -errno (logged). */
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
