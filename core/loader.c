/* The plugin loader. dlopen(RTLD_NOW | RTLD_LOCAL) so that a missing symbol
 * fails at load time with the linker's message, not at first call, and
 * plugins cannot see each other's symbols. The checks run in the order of
 * DESIGN.md, each with its own message saying what to do. Loaded plugins are
 * never unloaded (RTLD_NODELETE): a plugin thread left behind by a hung
 * gather must not find its code gone. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "suggest.h"
#include "format_internal.h"
#include "loader.h"
#include "options.h"

/* Size of the descriptor in ABI 1.0: everything up to `write`. Later minors
 * append fields; a plugin built for 1.0 has exactly this size. */
#define DESC_SIZE_1_0 (offsetof(tower_plugin, write) + sizeof(void (*)(void)))
/* ABI 1.2 appended the aggregator callbacks, up to `reset`. */
#define DESC_SIZE_1_2 (offsetof(tower_plugin, reset) + sizeof(void (*)(void)))

static const tower_option plugin_key[] = {
    {.name = "plugin", .type = TOWER_OPT_STRING, .help = "which plugin this block configures"},
    TOWER_OPTION_END,
};

const char *twi_kind_dir(tower_plugin_kind kind) {
  switch (kind) {
  case TOWER_INPUT:
    return "inputs";
  case TOWER_PROCESSOR:
    return "processors";
  case TOWER_OUTPUT:
    return "outputs";
  case TOWER_AGGREGATOR:
    return "aggregators";
  }
  return "unknown";
}

const char *twi_kind_word(tower_plugin_kind kind) {
  switch (kind) {
  case TOWER_INPUT:
    return "input";
  case TOWER_PROCESSOR:
    return "processor";
  case TOWER_OUTPUT:
    return "output";
  case TOWER_AGGREGATOR:
    return "aggregator";
  }
  return "unknown";
}

tower_plugin_kind twi_kind_parse(const char *s) {
  for (int k = TOWER_INPUT; k <= TWI_KIND_LAST; k++)
    if (strcmp(s, twi_kind_dir((tower_plugin_kind)k)) == 0 ||
        strcmp(s, twi_kind_word((tower_plugin_kind)k)) == 0)
      return (tower_plugin_kind)k;
  return (tower_plugin_kind)0;
}

void twi_block_tables(const tower_plugin *desc, const tower_option *own,
                      const tower_option *tables[TWI_BLOCK_TABLES]) {
  size_t n = 0;
  tables[n++] = own;
  if (desc->flags & TOWER_PLUGIN_PARSER)
    tables[n++] = twi_parser_common_options();
  if (desc->flags & TOWER_PLUGIN_SERIALIZER)
    tables[n++] = twi_serializer_common_options();
  tables[n++] = twi_kind_options((tower_plugin_kind)desc->kind);
  if (desc->kind != TOWER_PROCESSOR)
    tables[n++] = twi_rename_options;
  tables[n++] = twi_common_options;
  tables[n++] = plugin_key;
  tables[n] = NULL;
}

static bool valid_plugin_name(const char *n) {
  if (!n || !*n)
    return false;
  for (; *n; n++)
    if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '_'))
      return false;
  return true;
}

#define FAIL(...)                                                                                  \
  do {                                                                                             \
    snprintf(err, errlen, __VA_ARGS__);                                                            \
    return -EINVAL;                                                                                \
  } while (0)

/* Checks 2-7 of DESIGN.md on the raw descriptor the entry returned. */
static int check_desc(const char *path, const tower_plugin *d, tower_plugin_kind expect_kind,
                      const char *expect_name, char *err, size_t errlen) {
  if (d->magic != TOWER_PLUGIN_MAGIC)
    FAIL("%s: bad magic number 0x%08x in the plugin descriptor: the file is not a tower plugin or "
         "is corrupt; reinstall or rebuild it",
         path, d->magic);
  if (d->abi_major != TOWER_ABI_MAJOR)
    FAIL("%s: built for tower plugin ABI %u.%u, but this tower provides ABI %u.%u: rebuild the "
         "plugin against this tower's SDK (pkg-config --modversion tower)",
         path, d->abi_major, d->abi_minor, TOWER_ABI_MAJOR, TOWER_ABI_MINOR);
  if (d->abi_minor > TOWER_ABI_MINOR)
    FAIL("%s: needs tower plugin ABI %u.%u, newer than this tower's %u.%u: upgrade tower, or "
         "rebuild the plugin against this tower's SDK",
         path, d->abi_major, d->abi_minor, TOWER_ABI_MAJOR, TOWER_ABI_MINOR);
  if (d->struct_size < DESC_SIZE_1_0)
    FAIL("%s: descriptor is truncated: struct_size %u is below the %zu bytes of ABI %u.0; build "
         "the descriptor with TOWER_PLUGIN_HEAD() from an unmodified <tower/plugin.h>",
         path, d->struct_size, DESC_SIZE_1_0, TOWER_ABI_MAJOR);
  if (d->kind < TOWER_INPUT || d->kind > TWI_KIND_LAST)
    FAIL("%s: unknown plugin kind %u (expected input, processor, aggregator or output)", path,
         d->kind);
  if (expect_kind && d->kind != (uint32_t)expect_kind)
    FAIL("%s: the plugin is an %s but lies in the %s directory; move it to %s/", path,
         twi_kind_word((tower_plugin_kind)d->kind), twi_kind_dir(expect_kind),
         twi_kind_dir((tower_plugin_kind)d->kind));
  if (!valid_plugin_name(d->name))
    FAIL("%s: plugin name \"%s\" is not made of [a-z0-9_]", path, d->name ? d->name : "(null)");
  if (expect_name && strcmp(d->name, expect_name) != 0)
    FAIL("%s: the plugin calls itself \"%s\" but the file is named %s.so; rename the file to %s.so",
         path, d->name, expect_name, d->name);
  return 0;
}

static int check_callbacks(const char *path, const tower_plugin *d, char *err, size_t errlen) {
  switch (d->kind) {
  case TOWER_INPUT:
    if (!d->gather && !(d->start && d->stop))
      FAIL("%s: input plugin \"%s\" has neither gather nor start and stop", path, d->name);
    break;
  case TOWER_PROCESSOR:
    if (!d->process)
      FAIL("%s: processor plugin \"%s\" has no process callback", path, d->name);
    break;
  case TOWER_OUTPUT:
    if (!d->write)
      FAIL("%s: output plugin \"%s\" has no write callback", path, d->name);
    break;
  case TOWER_AGGREGATOR:
    /* The callbacks came with ABI 1.2: an older descriptor cannot have them. */
    if (d->abi_minor < 2 || d->struct_size < DESC_SIZE_1_2)
      FAIL("%s: aggregator plugin \"%s\" is built for ABI %u.%u, but aggregators need ABI 1.2: "
           "rebuild it against this tower's SDK",
           path, d->name, d->abi_major, d->abi_minor);
    if (!d->add || !d->push)
      FAIL("%s: aggregator plugin \"%s\" needs both add and push callbacks", path, d->name);
    break;
  }
  return 0;
}

static int check_options(twi_plugin *p, const tower_plugin *raw, char *err, size_t errlen) {
  if (raw->options && raw->option_size < offsetof(tower_option, default_value))
    FAIL("%s: option_size %u is too small for an option table; build the descriptor with "
         "TOWER_PLUGIN_HEAD()",
         p->path, raw->option_size);
  p->options = twi_options_normalize(raw->options, raw->option_size);
  if (!p->options)
    FAIL("%s: out of memory copying the option table", p->path);
  const tower_option *tables[TWI_BLOCK_TABLES];
  twi_block_tables(&p->desc, p->options, tables);
  char why[512];
  if (twi_options_check(p->options, tables + 1, why, sizeof why))
    FAIL("%s: invalid option table: %s", p->path, why);
  return 0;
}

void twi_plugin_close(twi_plugin *p) {
  if (!p)
    return;
  twi_options_free(p->options);
  if (p->handle)
    dlclose(p->handle);
  free(p->path);
  free(p);
}

int twi_plugin_open(const char *path, tower_plugin_kind expect_kind, const char *expect_name,
                    twi_plugin **out, char *err, size_t errlen) {
  twi_plugin *p = calloc(1, sizeof *p);
  if (!p || !(p->path = strdup(path))) {
    free(p);
    FAIL("%s: out of memory", path);
  }
  int rc = -EINVAL;
  /* RTLD_NODELETE: a plugin's code stays mapped even after dlclose, so a
   * leak report (LeakSanitizer, valgrind) at exit can still name its
   * frames, and a thread left behind can never run unmapped code. */
  p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!p->handle) {
    snprintf(
        err, errlen,
        "cannot load %s: %s. If a shared library is missing, `ldd %s` shows which one: install "
        "its package or rebuild the plugin",
        path, dlerror(), path);
    goto fail;
  }
  const tower_plugin *(*entry)(void);
  *(void **)(&entry) = dlsym(p->handle, TOWER_PLUGIN_ENTRY_SYMBOL);
  if (!entry) {
    snprintf(err, errlen,
             "%s is not a tower plugin: it does not export " TOWER_PLUGIN_ENTRY_SYMBOL
             "(); define it with TOWER_PLUGIN_ENTRY() from <tower/plugin.h>",
             path);
    goto fail;
  }
  const tower_plugin *raw = entry();
  if (!raw) {
    snprintf(err, errlen, "%s: " TOWER_PLUGIN_ENTRY_SYMBOL "() returned no descriptor", path);
    goto fail;
  }
  if ((rc = check_desc(path, raw, expect_kind, expect_name, err, errlen)))
    goto fail;
  rc = -EINVAL;
  /* Fields past the plugin's struct_size (a plugin of an older minor) read
   * as zero. */
  memcpy(&p->desc, raw, raw->struct_size < sizeof p->desc ? raw->struct_size : sizeof p->desc);
  if ((rc = check_callbacks(path, &p->desc, err, errlen)) ||
      (rc = check_options(p, raw, err, errlen)))
    goto fail;
  *out = p;
  return 0;
fail:
  twi_plugin_close(p);
  return rc;
}

/* ---- registry ----------------------------------------------------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static twi_plugin *registry;

/* Finds and loads <dir>/<kind>s/<name>.so with the registry lock held. */
static int get_one(const char *dir, tower_plugin_kind kind, const char *name,
                   const twi_plugin **out, char *err, size_t errlen) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s/%s.so", dir, twi_kind_dir(kind), name) >= (int)sizeof path)
    FAIL("plugin path %s/%s/%s.so is too long", dir, twi_kind_dir(kind), name);
  for (twi_plugin *p = registry; p; p = p->next)
    if (strcmp(p->path, path) == 0) {
      *out = p;
      return 0;
    }
  struct stat st;
  if (stat(path, &st) != 0)
    return -ENOENT;
  twi_plugin *p;
  int rc = twi_plugin_open(path, kind, name, &p, err, errlen);
  if (rc == 0) {
    p->next = registry;
    registry = p;
    *out = p;
  }
  return rc;
}

int twi_plugin_get(const char *dirs, tower_plugin_kind kind, const char *name,
                   const twi_plugin **out, char *err, size_t errlen) {
  if (!valid_plugin_name(name))
    FAIL("\"%s\" is not a plugin name (letters a-z, digits and _)", name);
  /* dirs is a ':'-separated search path; the first directory holding the
   * file wins, as with PATH. */
  int rc = -ENOENT;
  pthread_mutex_lock(&registry_lock);
  for (const char *p = dirs; rc == -ENOENT && *p;) {
    size_t n = strcspn(p, ":");
    char dir[PATH_MAX];
    if (n && n < sizeof dir) {
      memcpy(dir, p, n);
      dir[n] = '\0';
      rc = get_one(dir, kind, name, out, err, errlen);
    }
    p += n + (p[n] == ':');
  }
  pthread_mutex_unlock(&registry_lock);
  if (rc == -ENOENT)
    twi_suggest_plugin(dirs, kind, name, err, errlen);
  return rc;
}

void twi_plugins_unload(void) {
  pthread_mutex_lock(&registry_lock);
  while (registry) {
    twi_plugin *next = registry->next;
    twi_plugin_close(registry);
    registry = next;
  }
  pthread_mutex_unlock(&registry_lock);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the *.so files in <dir>/<kind>s; *out is malloc'd
 * (free each name and the array). */
static size_t list_kind(const char *dir, tower_plugin_kind kind, char ***out) {
  char kdir[PATH_MAX];
  *out = NULL;
  if (snprintf(kdir, sizeof kdir, "%s/%s", dir, twi_kind_dir(kind)) >= (int)sizeof kdir)
    return 0;
  DIR *d = opendir(kdir);
  if (!d)
    return 0;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
      continue;
    if (n == cap) {
      char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *names);
      if (!nn)
        break;
      names = nn;
    }
    if ((names[n] = strndup(e->d_name, len - 3)))
      n++;
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof *names, cmp_str);
  *out = names;
  return n;
}

static void scan_kind(const char *dir, tower_plugin_kind kind, twi_plugin_visit fn, void *ud) {
  char **names;
  size_t n = list_kind(dir, kind, &names);
  for (size_t i = 0; i < n; i++) {
    char err[1024], path[PATH_MAX];
    const twi_plugin *p = NULL;
    if (snprintf(path, sizeof path, "%s/%s/%s.so", dir, twi_kind_dir(kind), names[i]) >=
        (int)sizeof path)
      fn(ud, kind, names[i], NULL, "path too long");
    else if (twi_plugin_get(dir, kind, names[i], &p, err, sizeof err))
      fn(ud, kind, path, NULL, err);
    else
      fn(ud, kind, path, p, NULL);
    free(names[i]);
  }
  free(names);
}

void twi_plugin_names(const char *dirs, tower_plugin_kind kind,
                      void (*fn)(void *ud, const char *name), void *ud) {
  for (const char *p = dirs; *p;) {
    size_t n = strcspn(p, ":");
    char dir[PATH_MAX], **names;
    if (n && n < sizeof dir) {
      memcpy(dir, p, n);
      dir[n] = '\0';
      size_t count = list_kind(dir, kind, &names);
      for (size_t i = 0; i < count; i++) {
        fn(ud, names[i]);
        free(names[i]);
      }
      free(names);
    }
    p += n + (p[n] == ':');
  }
}

int twi_plugins_scan(const char *dirs, twi_plugin_visit fn, void *ud) {
  int found = 0;
  for (int k = TOWER_INPUT; k <= TWI_KIND_LAST; k++)
    for (const char *p = dirs; *p;) {
      size_t n = strcspn(p, ":");
      char dir[PATH_MAX];
      struct stat st;
      if (n && n < sizeof dir) {
        memcpy(dir, p, n);
        dir[n] = '\0';
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
          found = 1;
          scan_kind(dir, (tower_plugin_kind)k, fn, ud);
        }
      }
      p += n + (p[n] == ':');
    }
  return found ? 0 : -ENOENT;
}
