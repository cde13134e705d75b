/* Loading a configuration: one or more files given to tower (--config),
 * the drop-in files their pattern @includes name (the "*.conf" of conf.d), and the
 * *.conf files of a directory (--config-directory).
 *
 * Each file is checked and scanned (conf_scan.c), parsed by libconfig from
 * the scanned text (which reads every plain @include from the file's
 * directory), given the integers written in it, and its strings get their
 * environment variables (conf_env.c). Files stay separate trees: the
 * pipeline appends the inputs, processors and outputs of each, in order
 * (pipeline.c), and only the files given to tower may set agent. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "conf_env.h"
#include "conf_scan.h"

typedef struct conf_file {
  config_t cfg;
  char *path; /* names its settings in messages */
  char *include_dir;
  bool drop_in;
} conf_file;

struct twi_conf {
  _Atomic int refs;
  conf_file **files; /* each its own allocation: settings point at their config_t */
  size_t nfiles;
};

/* One load: the bounds shared by all its files, and the files read. */
typedef struct loader {
  twi_conf *c;
  size_t bytes;      /* against TWI_CONF_MAX_BYTES */
  unsigned includes; /* includes and drop-in files, against TWI_CONF_MAX_INCLUDES */
  struct seen {
    dev_t dev;
    ino_t ino;
    size_t file;
  } * seen;
  size_t nseen;
  char *err;
  size_t errlen;
} loader;

/* The directory to put before `file` in a message: libconfig names the
 * settings of an @include'd file by the name the @include wrote, relative to
 * the include directory, which means nothing to someone reading the log
 * from elsewhere. (The main file's settings carry the path tower was given:
 * they are not among the files libconfig opened itself.) */
static const char *include_prefix(const config_t *cfg, const char *file) {
  if (!cfg || !cfg->include_dir || !file || file[0] == '/')
    return "";
  for (unsigned i = 0; i < cfg->num_filenames; i++)
    if (strcmp(cfg->filenames[i], file) == 0)
      return cfg->include_dir;
  return "";
}

const char *twi_setting_where(const config_setting_t *s, char *buf, size_t len) {
  const char *file = s ? config_setting_source_file(s) : NULL;
  unsigned line = s ? config_setting_source_line(s) : 0;
  const char *dir = include_prefix(s ? s->config : NULL, file);
  if (file && line)
    snprintf(buf, len, "%s%s%s:%u", dir, *dir ? "/" : "", file, line);
  else if (file)
    snprintf(buf, len, "%s%s%s", dir, *dir ? "/" : "", file);
  else
    snprintf(buf, len, "<config>");
  return buf;
}

static void file_free(conf_file *f) {
  if (!f)
    return;
  config_destroy(&f->cfg);
  free(f->path);
  free(f->include_dir);
  free(f);
}

static conf_file *file_new(const char *path, const char *include_dir, bool drop_in) {
  conf_file *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  config_init(&f->cfg);
  f->path = strdup(path);
  f->include_dir = include_dir ? strdup(include_dir) : NULL;
  f->drop_in = drop_in;
  if (!f->path || (include_dir && !f->include_dir)) {
    file_free(f);
    return NULL;
  }
  if (f->include_dir)
    config_set_include_dir(&f->cfg, f->include_dir);
  return f;
}

static int add_file(loader *l, conf_file *f) {
  conf_file **files = realloc(l->c->files, (l->c->nfiles + 1) * sizeof *files);
  if (!files)
    return -ENOMEM;
  l->c->files = files;
  files[l->c->nfiles++] = f;
  return 0;
}

/* libconfig leaves the file of settings read from a string unnamed: name
 * them after the file, so that every message says where. The struct is
 * public and the name outlives the tree (both belong to the conf_file). */
static void name_settings(config_setting_t *s, const char *name) {
  if (!s->file)
    s->file = name;
  int n = config_setting_is_aggregate(s) ? config_setting_length(s) : 0;
  for (int i = 0; i < n; i++)
    name_settings(config_setting_get_elem(s, (unsigned)i), name);
}

/* Parses the scanned (and blanked) text; then the true integers and the
 * environment. A text the scan found against libconfig's grammar is not
 * given to libconfig: it would refuse it with a vaguer message, and 1.5
 * leaks the string it was reading when its parser stops (a few bytes at
 * every reload of a broken file). */
static int parse(loader *l, conf_file *f, const twi_scan *sc, const char *text) {
  const char *explained = twi_syntax_problem(sc->syntax);
  if (explained) {
    snprintf(l->err, l->errlen, "%s", explained);
    return -EINVAL;
  }
  if (!config_read_string(&f->cfg, text)) {
    const char *file = config_error_file(&f->cfg);
    const char *dir = include_prefix(&f->cfg, file);
    snprintf(l->err, l->errlen, "%s%s%s:%d: %s", dir, *dir ? "/" : "", file ? file : f->path,
             config_error_line(&f->cfg), config_error_text(&f->cfg));
    return -EINVAL;
  }
  config_setting_t *root = config_root_setting(&f->cfg);
  name_settings(root, f->path);
  if (twi_scan_fix_integers(sc, root, f->path, l->err, l->errlen) ||
      twi_env_subst_tree(root, l->err, l->errlen))
    return -EINVAL;
  return 0;
}

/* ---- files read once ---------------------------------------------------- */

/* A file already part of the configuration (a pattern that matches the
 * file holding it, a drop-in named twice) would add its plugins twice. */
static int check_once(loader *l, const char *path, const char *what) {
  struct stat st;
  if (stat(path, &st) != 0)
    return 0; /* reading it reports why */
  for (size_t i = 0; i < l->nseen; i++)
    if (l->seen[i].dev == st.st_dev && l->seen[i].ino == st.st_ino) {
      const char *as = l->c->files[l->seen[i].file]->path;
      bool same = strcmp(as, path) == 0;
      snprintf(l->err, l->errlen,
               "%s: %s is already part of the configuration%s%s%s; each file is read once: keep "
               "drop-in files in a directory of their own",
               what, path, same ? "" : " (as ", same ? "" : as, same ? "" : ")");
      return -EEXIST;
    }
  struct seen *s = realloc(l->seen, (l->nseen + 1) * sizeof *s);
  if (!s)
    return -ENOMEM;
  l->seen = s;
  l->seen[l->nseen++] = (struct seen){st.st_dev, st.st_ino, l->c->nfiles};
  return 0;
}

static int load_drop_ins(loader *l, const conf_file *from, const twi_scan *sc);

/* Loads one file, from `text` (copied) or from `path`. `what` starts the
 * messages about reading it ("main.conf:3: @include ..."). */
static int load_file(loader *l, const char *path, const char *text_in, const char *include_dir,
                     bool drop_in, const char *what) {
  char *copy = include_dir || text_in ? NULL : strdup(path);
  conf_file *f = file_new(path, include_dir ? include_dir : copy ? dirname(copy) : NULL, drop_in);
  free(copy);
  twi_scan sc = {.bytes = l->bytes,
                 .includes = l->includes,
                 .drop_in = drop_in,
                 .err = l->err,
                 .errlen = l->errlen};
  char *text = NULL;
  size_t len = 0;
  int rc = f ? 0 : -ENOMEM;
  if (rc == 0 && text_in) {
    len = strlen(text_in);
    text = len > TWI_CONF_MAX_BYTES - l->bytes ? NULL : strdup(text_in);
    rc = text ? 0 : len > TWI_CONF_MAX_BYTES - l->bytes ? -EFBIG : -ENOMEM;
    if (rc == -EFBIG)
      snprintf(l->err, l->errlen, "%s: the text is larger than %u MiB", path,
               TWI_CONF_MAX_BYTES >> 20);
    sc.bytes += len;
  } else if (rc == 0 && (rc = check_once(l, path, what)) == 0) {
    rc = twi_scan_read(&sc, path, what, &text, &len);
  }
  sc.include_dir = f ? f->include_dir : NULL;
  if (rc == 0)
    rc = twi_scan_text(&sc, path, text, len);
  if (rc == 0)
    rc = parse(l, f, &sc, text);
  free(text);
  l->bytes = sc.bytes;
  l->includes = sc.includes;
  if (rc == 0 && (rc = add_file(l, f)) == 0)
    rc = load_drop_ins(l, f, &sc);
  else if (rc)
    file_free(f);
  if (rc == -ENOMEM)
    snprintf(l->err, l->errlen, "out of memory");
  twi_scan_free(&sc);
  return rc;
}

/* ---- drop-in files ------------------------------------------------------ */

static int cmp_path(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_each(loader *l, char **paths, size_t n, const char *what) {
  qsort(paths, n, sizeof *paths, cmp_path); /* name order, whatever the locale */
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (++l->includes > TWI_CONF_MAX_INCLUDES) {
      snprintf(l->err, l->errlen,
               "%s: more than %d includes and drop-in files in one "
               "configuration",
               what, TWI_CONF_MAX_INCLUDES);
      return -E2BIG;
    }
    rc = load_file(l, paths[i], NULL, NULL, true, what);
  }
  return rc;
}

/* The files a pattern @include names, relative to the including file's
 * directory (an absolute pattern is taken as written). */
static int load_pattern(loader *l, const conf_file *from, const twi_glob_include *g) {
  char *what = NULL, *full = NULL;
  if (asprintf(&what, "%s:%u: @include \"%s\"", from->path, g->line, g->pattern) < 0)
    what = NULL;
  if (!what || (g->pattern[0] != '/' && from->include_dir
                    ? asprintf(&full, "%s/%s", from->include_dir, g->pattern) < 0
                    : !(full = strdup(g->pattern)))) {
    free(what);
    return -ENOMEM;
  }
  /* a directory that does not exist is a mistake; an empty one is not */
  char *dir = strdup(full);
  struct stat st;
  const char *d = dir ? dirname(dir) : NULL;
  glob_t gl = {0};
  int rc = d ? 0 : -ENOMEM;
  if (d && !twi_scan_is_pattern(d) && (stat(d, &st) != 0 || !S_ISDIR(st.st_mode))) {
    snprintf(l->err, l->errlen, "%s: there is no directory %s", what, d);
    rc = -ENOENT;
  } else if (d) {
    int g_rc = glob(full, GLOB_ERR | GLOB_NOSORT, NULL, &gl);
    if (g_rc == 0)
      rc = load_each(l, gl.gl_pathv, gl.gl_pathc, what);
    else if (g_rc != GLOB_NOMATCH) {
      snprintf(l->err, l->errlen, "%s: cannot list the files of %s: %s", what, d,
               g_rc == GLOB_NOSPACE ? "out of memory" : strerror(errno));
      rc = -EIO;
    }
    globfree(&gl);
  }
  free(dir);
  free(full);
  free(what);
  return rc;
}

static int load_drop_ins(loader *l, const conf_file *from, const twi_scan *sc) {
  int rc = 0;
  for (size_t i = 0; i < sc->nglobs && rc == 0; i++)
    rc = load_pattern(l, from, &sc->globs[i]);
  return rc;
}

/* Every *.conf of `dir` but hidden ones (editors' lock and backup files). */
static int load_directory(loader *l, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(l->err, l->errlen, "--config-directory %s: cannot read the directory: %s", dir,
             strerror(errno));
    return -errno;
  }
  char **paths = NULL;
  size_t n = 0;
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".conf") != 0)
      continue;
    char **p = realloc(paths, (n + 1) * sizeof *p);
    if (p)
      paths = p;
    if (!p || asprintf(&paths[n], "%s/%s", dir, e->d_name) < 0)
      rc = -ENOMEM;
    else
      n++;
  }
  closedir(d);
  char what[4200];
  snprintf(what, sizeof what, "--config-directory %s", dir);
  if (rc == 0)
    rc = load_each(l, paths, n, what);
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
  return rc;
}

/* ---- entry points ------------------------------------------------------- */

static twi_conf *conf_new(void) {
  twi_conf *c = calloc(1, sizeof *c);
  if (c)
    atomic_init(&c->refs, 1);
  return c;
}

static twi_conf *finish(loader *l, int rc) {
  free(l->seen);
  if (rc == 0 && l->c->nfiles)
    return l->c;
  if (rc == -ENOMEM)
    snprintf(l->err, l->errlen, "out of memory");
  twi_conf_unref(l->c);
  return NULL;
}

twi_conf *twi_conf_load_many(const char *main_path, const char *const *extra_files, const char *dir,
                             char *err, size_t errlen) {
  loader l = {.c = conf_new(), .err = err, .errlen = errlen};
  int rc = l.c ? load_file(&l, main_path, NULL, NULL, false, main_path) : -ENOMEM;
  for (size_t i = 0; rc == 0 && extra_files && extra_files[i]; i++)
    rc = load_file(&l, extra_files[i], NULL, NULL, false, extra_files[i]);
  if (rc == 0 && dir)
    rc = load_directory(&l, dir);
  return finish(&l, rc);
}

twi_conf *twi_conf_load(const char *path, char *err, size_t errlen) {
  return twi_conf_load_many(path, NULL, NULL, err, errlen);
}

twi_conf *twi_conf_load_string(const char *text, const char *name, const char *include_dir,
                               char *err, size_t errlen) {
  loader l = {.c = conf_new(), .err = err, .errlen = errlen};
  int rc = l.c ? load_file(&l, name ? name : "<string>", text, include_dir, false, NULL) : -ENOMEM;
  return finish(&l, rc);
}

twi_conf *twi_conf_ref(twi_conf *c) {
  atomic_fetch_add(&c->refs, 1);
  return c;
}

void twi_conf_unref(twi_conf *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
    return;
  for (size_t i = 0; i < c->nfiles; i++)
    file_free(c->files[i]);
  free(c->files);
  free(c);
}

config_setting_t *twi_conf_root(const twi_conf *c) {
  return config_root_setting(&c->files[0]->cfg);
}

const char *twi_conf_path(const twi_conf *c) {
  return c->files[0]->path;
}

size_t twi_conf_files(const twi_conf *c) {
  return c->nfiles;
}

config_setting_t *twi_conf_file_root(const twi_conf *c, size_t i) {
  return config_root_setting(&c->files[i]->cfg);
}

const char *twi_conf_file_path(const twi_conf *c, size_t i) {
  return c->files[i]->path;
}

bool twi_conf_file_is_drop_in(const twi_conf *c, size_t i) {
  return c->files[i]->drop_in;
}
