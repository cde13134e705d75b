/* outputs.csv: one CSV file per measurement, for Grafana's CSV data source
 * and for people with spreadsheets. See README.md for the behaviour; this
 * file holds the options, the directory, and how batches become rows:
 *
 * - append mode writes each batch at once: the rows of every file it touches.
 *   When one file fails and others succeeded, the metrics already in their
 *   files are remembered (retained, by address) and skipped when the core
 *   hands the same batch back, so a retry never duplicates a row.
 * - snapshot mode keeps (retains) the rows of the newest gather of each
 *   measurement across the batches of one flush, and replaces the files when
 *   the flush's last batch arrives. Until every file of that last batch is
 *   written, the kept rows stay as they were, so a retry starts from the
 *   same state (a snapshot rewrite is idempotent anyway).
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/plural.h"
#include "csv.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "directory",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "directory that receives one <measurement>.csv per measurement"},
    {.name = "mode",
     .type = TOWER_OPT_ENUM,
     .default_value = "append",
     .choices = "append|snapshot",
     .help = "append: rows accumulate; snapshot: each flush replaces the file with the newest "
             "gather's rows"},
    {.name = "snapshot",
     .type = TOWER_OPT_STRINGS,
     .help = "measurements (globs) written in snapshot mode, whatever mode says"},
    {.name = "append",
     .type = TOWER_OPT_STRINGS,
     .help =
         "measurements (globs) written in append mode, whatever mode says (wins over snapshot)"},
    {.name = "timestamp_format",
     .type = TOWER_OPT_ENUM,
     .default_value = "rfc3339",
     .choices = "unix|unix_ms|unix_us|unix_ns|rfc3339|rfc3339nano",
     .help = "how the timestamp column is written (rfc3339: UTC, whole seconds)"},
    {.name = "timestamp_column",
     .type = TOWER_OPT_STRING,
     .default_value = "timestamp",
     .help = "name of the timestamp column"},
    {.name = "separator",
     .type = TOWER_OPT_STRING,
     .default_value = ",",
     .help = "cell separator: one byte, not a quote, CR or LF (\"\\t\" for TSV)"},
    {.name = "create_directory",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "create directory (and its parents, mode 0755) when it is missing"},
    {.name = "file_mode",
     .type = TOWER_OPT_STRING,
     .default_value = "0644",
     .help = "permissions of the files created, in octal"},
    {.name = "fsync",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "fsync files and the directory after every write (survives power loss; slower)"},
    {.name = "rotate_max_size",
     .type = TOWER_OPT_SIZE,
     .default_value = "0",
     .help = "append mode: rotate a file before it grows past this size (0: never)"},
    {.name = "rotate_max_files",
     .type = TOWER_OPT_INT,
     .default_value = "5",
     .min = "0",
     .max = "1000",
     .help = "append mode: rotated files kept, <m>.csv.1 (newest) to <m>.csv.N"},
    TOWER_OPTION_END,
};

/* Metric addresses whose rows are already in their file (see the top). */
typedef struct done_set {
  const tower_metric **slots;
  size_t n, cap; /* cap: 0 or a power of two */
} done_set;

typedef struct name_ent {
  char *name;
  csv_file *file;
} name_ent;

typedef struct csv_state {
  csv_out o;
  csv_mode mode;
  tower_globs *snapshot_globs, *append_globs;
  name_ent *names; /* measurement -> file, open addressing */
  size_t nnames, names_cap;
  name_ent *last; /* batches come in runs of one measurement */
  csv_file **files;
  size_t nfiles, files_cap;
  csv_file *touched; /* files of the current write, linked */
  csv_file **mfile;  /* file of each metric of the batch */
  size_t mfile_cap;
  done_set done;
} csv_state;

/* ---- the done set -------------------------------------------------------- */

static size_t ptr_hash(const void *p) {
  return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15u);
}

static bool done_has(const done_set *d, const tower_metric *m) {
  if (!d->n)
    return false;
  for (size_t i = ptr_hash(m) & (d->cap - 1);; i = (i + 1) & (d->cap - 1)) {
    if (d->slots[i] == m)
      return true;
    if (!d->slots[i])
      return false;
  }
}

static void done_put(done_set *d, const tower_metric *m) {
  size_t i = ptr_hash(m) & (d->cap - 1);
  while (d->slots[i])
    i = (i + 1) & (d->cap - 1);
  d->slots[i] = m;
  d->n++;
}

/* Makes room for `more` entries, so that adding them cannot fail later. */
static int done_reserve(done_set *d, size_t more) {
  if (2 * (d->n + more) <= d->cap)
    return 0;
  size_t cap = d->cap ? d->cap : 64;
  while (cap < 2 * (d->n + more))
    cap *= 2;
  const tower_metric **old = d->slots;
  size_t oldcap = d->cap;
  if (!(d->slots = calloc(cap, sizeof *d->slots))) {
    d->slots = old;
    return -ENOMEM;
  }
  d->cap = cap;
  d->n = 0;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i])
      done_put(d, old[i]);
  free(old);
  return 0;
}

static void done_clear(done_set *d) {
  for (size_t i = 0; i < d->cap && d->n; i++)
    if (d->slots[i]) {
      tower_metric_release(d->slots[i]);
      d->slots[i] = NULL;
      d->n--;
    }
}

/* ---- measurement -> file ------------------------------------------------- */

static size_t str_hash(const char *s) {
  size_t h = 1469598103934665603u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

/* '/' and a leading '.' become '_' (a name cannot hold NUL). */
static int sanitize(const char *name, char *out) {
  size_t n = strlen(name);
  if (n > CSV_NAME_MAX)
    return -ENAMETOOLONG;
  for (size_t i = 0; i <= n; i++)
    out[i] = name[i] == '/' || (i == 0 && name[i] == '.') ? '_' : name[i];
  return 0;
}

static csv_mode mode_of(const csv_state *s, const char *name) {
  if (s->append_globs && tower_globs_match(s->append_globs, name))
    return CSV_APPEND;
  if (s->snapshot_globs && tower_globs_match(s->snapshot_globs, name))
    return CSV_SNAPSHOT;
  return s->mode;
}

static name_ent *names_slot(name_ent *v, size_t cap, const char *name) {
  for (size_t i = str_hash(name) & (cap - 1);; i = (i + 1) & (cap - 1))
    if (!v[i].name || strcmp(v[i].name, name) == 0)
      return &v[i];
}

static int names_grow(csv_state *s) {
  size_t cap = s->names_cap ? s->names_cap * 2 : 64;
  name_ent *v = calloc(cap, sizeof *v);
  if (!v)
    return -ENOMEM;
  for (size_t i = 0; i < s->names_cap; i++)
    if (s->names[i].name)
      *names_slot(v, cap, s->names[i].name) = s->names[i];
  free(s->names);
  s->names = v;
  s->names_cap = cap;
  s->last = NULL;
  return 0;
}

/* The file for a new sanitized name; measurements whose names sanitize
 * alike ("a/b", "a_b") share it. */
static csv_file *file_named(csv_state *s, const char *sanitized, const char *name) {
  size_t len = strlen(sanitized);
  csv_mode mode = mode_of(s, name);
  for (size_t i = 0; i < s->nfiles; i++) {
    csv_file *f = s->files[i];
    if (strncmp(f->fname, sanitized, len) == 0 && strcmp(f->fname + len, ".csv") == 0) {
      if (f->mode != mode)
        tower_warn(s->o.ctx,
                   "measurement %s shares %s/%s with another one; it is written in that "
                   "one's mode",
                   name, s->o.dir, f->fname);
      return f;
    }
  }
  if (s->nfiles == s->files_cap) {
    size_t cap = s->files_cap ? s->files_cap * 2 : 16;
    csv_file **v = realloc(s->files, cap * sizeof *v);
    if (!v)
      return NULL;
    s->files = v;
    s->files_cap = cap;
  }
  csv_file *f = csv_file_new(sanitized, mode);
  if (f)
    s->files[s->nfiles++] = f;
  return f;
}

/* The file of measurement `name`. NULL with -ENAMETOOLONG or -ENOMEM. */
static csv_file *file_for(csv_state *s, const char *name, int *err) {
  if (s->last && strcmp(s->last->name, name) == 0)
    return s->last->file;
  if (2 * (s->nnames + 1) > s->names_cap && (*err = names_grow(s)))
    return NULL;
  name_ent *e = names_slot(s->names, s->names_cap, name);
  if (!e->name) {
    char sanitized[CSV_NAME_MAX + 1];
    if ((*err = sanitize(name, sanitized)))
      return NULL;
    csv_file *f = file_named(s, sanitized, name);
    char *copy = f ? strdup(name) : NULL;
    if (!copy) {
      *err = -ENOMEM;
      return NULL;
    }
    *e = (name_ent){.name = copy, .file = f};
    s->nnames++;
  }
  s->last = e;
  return e->file;
}

/* ---- collecting a batch -------------------------------------------------- */

static int push_row(csv_file *f, const tower_metric *m) {
  if (f->nrows == f->rows_cap) {
    size_t cap = f->rows_cap ? f->rows_cap * 2 : 256;
    const tower_metric **v = realloc(f->rows, cap * sizeof *v);
    if (!v)
      return -ENOMEM;
    f->rows = v;
    f->rows_cap = cap;
  }
  f->rows[f->nrows++] = m;
  return 0;
}

static void touch(csv_state *s, csv_file *f) {
  if (f->touched)
    return;
  f->touched = true;
  f->next_touched = s->touched;
  s->touched = f;
}

static void untouch_all(csv_state *s) {
  for (csv_file *f = s->touched, *next; f; f = next) {
    next = f->next_touched;
    f->touched = f->seen = f->written = false;
    f->nrows = 0;
    f->next_touched = NULL;
  }
  s->touched = NULL;
}

/* Pass 1: the file of each metric; append rows; the newest gather of each
 * snapshot file (the last one in buffer order, since the metrics of one
 * gather enter the buffer together). Returns the names rejected. */
static int collect_pass1(csv_state *s, const tower_batch *b, size_t *rejected) {
  size_t n = tower_batch_len(b);
  for (size_t i = 0; i < n; i++) {
    const tower_metric *m = tower_batch_at(b, i);
    int err = 0;
    csv_file *f = s->mfile[i] = file_for(s, tower_metric_name(m), &err);
    if (err == -ENAMETOOLONG) {
      tower_error(s->o.ctx,
                  "measurement name of %zu bytes is too long for a file name (at most %d); "
                  "shorten it with name_override or a processor",
                  strlen(tower_metric_name(m)), CSV_NAME_MAX);
      (*rejected)++;
      continue;
    }
    if (!f)
      return -ENOMEM;
    touch(s, f);
    if (f->mode == CSV_SNAPSHOT)
      f->view_gid = tower_metric_gather_id(m);
    else if (!done_has(&s->done, m) && push_row(f, m))
      return -ENOMEM;
  }
  return 0;
}

/* Pass 2: the rows of each snapshot file: the kept rows when they belong to
 * the same gather, then the batch's rows of that gather. */
static int collect_pass2(csv_state *s, const tower_batch *b) {
  for (size_t i = 0, n = tower_batch_len(b); i < n; i++) {
    const tower_metric *m = tower_batch_at(b, i);
    csv_file *f = s->mfile[i];
    if (!f || f->mode != CSV_SNAPSHOT)
      continue;
    if (!f->seen) {
      f->seen = true;
      for (size_t k = 0; f->npend && f->pend_gid == f->view_gid && k < f->npend; k++)
        if (push_row(f, f->pend[k]))
          return -ENOMEM;
    }
    if (tower_metric_gather_id(m) == f->view_gid && push_row(f, m))
      return -ENOMEM;
  }
  return 0;
}

/* The flush's last batch: snapshot files it does not touch get their kept
 * rows written too. */
static int collect_kept(csv_state *s) {
  for (size_t i = 0; i < s->nfiles; i++) {
    csv_file *f = s->files[i];
    if (f->mode != CSV_SNAPSHOT || f->touched || !f->npend)
      continue;
    touch(s, f);
    f->seen = true;
    for (size_t k = 0; k < f->npend; k++)
      if (push_row(f, f->pend[k]))
        return -ENOMEM;
  }
  return 0;
}

static int collect(csv_state *s, const tower_batch *b, size_t *rejected) {
  size_t n = tower_batch_len(b);
  if (n > s->mfile_cap) {
    csv_file **v = realloc(s->mfile, n * sizeof *v);
    if (!v)
      return -ENOMEM;
    s->mfile = v;
    s->mfile_cap = n;
  }
  int rc = collect_pass1(s, b, rejected);
  if (!rc)
    rc = collect_pass2(s, b);
  if (!rc && tower_batch_ends_flush(b))
    rc = collect_kept(s);
  return rc ? rc : done_reserve(&s->done, n);
}

/* Not the flush's last batch: the rows of each snapshot file become the kept
 * rows (retained past this call). */
static int keep_rows(csv_state *s) {
  for (csv_file *f = s->touched; f; f = f->next_touched) {
    if (f->mode != CSV_SNAPSHOT)
      continue;
    if (f->nrows > f->pend_cap) {
      const tower_metric **v = realloc(f->pend, f->nrows * sizeof *v);
      if (!v)
        return -ENOMEM;
      f->pend = v;
      f->pend_cap = f->nrows;
    }
  }
  for (csv_file *f = s->touched; f; f = f->next_touched) {
    if (f->mode != CSV_SNAPSHOT)
      continue;
    for (size_t k = 0; k < f->nrows; k++)
      tower_metric_retain(f->rows[k]);
    for (size_t k = 0; k < f->npend; k++)
      tower_metric_release(f->pend[k]);
    if (f->nrows)
      memcpy(f->pend, f->rows, f->nrows * sizeof *f->rows);
    f->npend = f->nrows;
    f->pend_gid = f->view_gid;
  }
  return 0;
}

static void release_kept(csv_file *f) {
  for (size_t k = 0; k < f->npend; k++)
    tower_metric_release(f->pend[k]);
  f->npend = 0;
}

/* ---- writing ------------------------------------------------------------- */

static bool write_files(csv_state *s, csv_mode mode) {
  bool ok = true;
  for (csv_file *f = s->touched; f; f = f->next_touched) {
    if (f->mode != mode || !f->nrows)
      continue;
    int rc = mode == CSV_APPEND ? csv_file_append(&s->o, f) : csv_file_replace(&s->o, f);
    f->written = rc == 0;
    ok = ok && rc == 0;
  }
  return ok;
}

/* A retry is coming: remember the metrics already appended (room was
 * reserved by collect, so this cannot fail). */
static void remember_done(csv_state *s) {
  for (csv_file *f = s->touched; f; f = f->next_touched) {
    if (f->mode != CSV_APPEND || !f->written)
      continue;
    for (size_t k = 0; k < f->nrows; k++)
      done_put(&s->done, tower_metric_retain(f->rows[k]));
  }
}

static tower_write_result csv_write(void *state, const tower_batch *b) {
  csv_state *s = state;
  bool ends = tower_batch_ends_flush(b);
  size_t rejected = 0;
  if (csv_dir_reopen(&s->o))
    return TOWER_WRITE_RETRY;
  int rc = collect(s, b, &rejected);
  bool ok = rc == 0;
  if (rc)
    tower_error(s->o.ctx, "out of memory while sorting %zu metric%s into files", tower_batch_len(b),
                plural_s(tower_batch_len(b)));
  if (ok)
    ok = write_files(s, CSV_APPEND);
  if (ok && !ends && keep_rows(s)) {
    tower_error(s->o.ctx, "out of memory while keeping the rows of snapshot files");
    ok = false;
  }
  if (rc == 0 && ends)
    ok = write_files(s, CSV_SNAPSHOT) && ok;
  if (ok && ends)
    for (size_t i = 0; i < s->nfiles; i++)
      release_kept(s->files[i]);
  if (ok) {
    done_clear(&s->done); /* the batch they came back in is through */
    if (rejected)
      tower_ctx_count_rejected(s->o.ctx, rejected);
  } else if (rc == 0) {
    remember_done(s);
  }
  untouch_all(s);
  return ok ? TOWER_WRITE_OK : TOWER_WRITE_RETRY;
}

/* ---- lifecycle ----------------------------------------------------------- */

static int read_options(csv_state *s, const tower_config *cfg) {
  csv_out *o = &s->o;
  o->dir = tower_config_string(cfg, "directory");
  s->mode = strcmp(tower_config_string(cfg, "mode"), "snapshot") == 0 ? CSV_SNAPSHOT : CSV_APPEND;
  o->time_format = tower_config_string(cfg, "timestamp_format");
  o->time_column = tower_config_string(cfg, "timestamp_column");
  o->create_dir = tower_config_bool(cfg, "create_directory");
  o->fsync = tower_config_bool(cfg, "fsync");
  o->rotate_size = tower_config_size(cfg, "rotate_max_size");
  o->rotate_files = tower_config_int(cfg, "rotate_max_files");
  if (!o->dir || !*o->dir)
    return tower_config_error(cfg, tower_config_setting(cfg, "directory"), "directory is empty");
  if (!tower_time_format_valid(o->time_format))
    return tower_config_error(cfg, tower_config_setting(cfg, "timestamp_format"),
                              "unknown timestamp_format \"%s\"", o->time_format);
  if (!o->time_column || !*o->time_column)
    return tower_config_error(cfg, tower_config_setting(cfg, "timestamp_column"),
                              "timestamp_column must not be empty");
  const char *sep = tower_config_string(cfg, "separator");
  if (!sep || strlen(sep) != 1 || strchr("\"\r\n", sep[0]))
    return tower_config_error(
        cfg, tower_config_setting(cfg, "separator"),
        "separator must be one byte other than a quote, CR or LF (got \"%s\")", sep ? sep : "");
  o->sep = sep[0];
  const char *mode = tower_config_string(cfg, "file_mode");
  char *end = NULL;
  unsigned long fm = mode && *mode ? strtoul(mode, &end, 8) : 0;
  if (!end || *end || fm > 07777)
    return tower_config_error(cfg, tower_config_setting(cfg, "file_mode"),
                              "file_mode must be octal permissions such as \"0644\" (got \"%s\")",
                              mode ? mode : "");
  o->file_mode = (mode_t)fm;
  int rc = tower_globs_from_config(cfg, "snapshot", &s->snapshot_globs);
  return rc ? rc : tower_globs_from_config(cfg, "append", &s->append_globs);
}

static void csv_destroy(void *state) {
  csv_state *s = state;
  /* a flush cut short (shutdown deadline) may have left kept snapshot rows:
   * write them rather than lose them */
  for (size_t i = 0; s->o.dirfd >= 0 && i < s->nfiles; i++) {
    csv_file *f = s->files[i];
    if (f->mode != CSV_SNAPSHOT || !f->npend)
      continue;
    for (size_t k = 0; k < f->npend && !push_row(f, f->pend[k]); k++)
      ;
    csv_file_replace(&s->o, f);
    f->nrows = 0;
  }
  done_clear(&s->done);
  free(s->done.slots);
  for (size_t i = 0; i < s->names_cap; i++)
    free(s->names[i].name);
  free(s->names);
  for (size_t i = 0; i < s->nfiles; i++)
    csv_file_free(s->files[i]);
  free(s->files);
  free(s->mfile);
  for (size_t i = 0; i < s->o.nnew; i++)
    free(s->o.newcols[i].name);
  free(s->o.newcols);
  tower_buf_free(s->o.cells);
  tower_buf_free(s->o.tmp);
  tower_buf_free(s->o.head);
  tower_globs_free(s->snapshot_globs);
  tower_globs_free(s->append_globs);
  csv_lock_release(s->o.lockfd); /* last: no file of ours is written after this */
  if (s->o.dirfd >= 0)
    close(s->o.dirfd);
  free(s->o.owner);
  free(s);
}

/* Who this instance is, for the lock file: "outputs.csv:x (file:line)". */
static char *owner_of(tower_ctx *ctx, const tower_config *cfg) {
  const tower_setting *at = tower_config_setting(cfg, "directory");
  const char *file = at ? tower_setting_file(at) : NULL;
  char *s = NULL;
  int n = file && tower_setting_line(at)
              ? asprintf(&s, "%s (%s:%u)", tower_ctx_id(ctx), file, tower_setting_line(at))
              : asprintf(&s, "%s", tower_ctx_id(ctx));
  return n < 0 ? NULL : s;
}

static int csv_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  csv_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->o.ctx = ctx;
  s->o.dirfd = -1;
  s->o.lockfd = -1;
  s->o.rnd = csv_random_seed();
  int rc = read_options(s, cfg);
  if (!rc && (!(s->o.cells = tower_buf_new(0)) || !(s->o.tmp = tower_buf_new(0)) ||
              !(s->o.head = tower_buf_new(0)) || !(s->o.owner = owner_of(ctx, cfg))))
    rc = -ENOMEM;
  /* A config check creates no directory, takes no lock, leaves no file. */
  if (!rc)
    rc = tower_ctx_check_only(ctx) ? csv_dir_check(&s->o, cfg) : csv_dir_open(&s->o, cfg);
  if (rc) {
    csv_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_OUTPUT),
    .name = "csv",
    .description =
        "one CSV file per measurement (append or snapshot), for Grafana's CSV data source",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = csv_init,
    .destroy = csv_destroy,
    .write = csv_write,
};

TOWER_PLUGIN_ENTRY(plugin)
