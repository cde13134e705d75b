/* Runs a libFuzzer target's LLVMFuzzerTestOneInput on every file of a
 * corpus, without libFuzzer, so that `make check` replays the seeds and
 * past crash reproducers on every build (with sanitizers when configured
 * with --enable-sanitizers).
 *
 * Usage: replay [dir-or-file...]; without arguments, FUZZ_CORPUS_DIR (set
 * at build time). Fails when a path cannot be read or holds no input.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *b = realloc(buf, cap *= 2);
      if (!b)
        free(buf);
      buf = b;
    }
  }
  int err = ferror(f);
  fclose(f);
  if (!buf || err) {
    fprintf(stderr, "replay: %s: read failed\n", path);
    free(buf);
    return -1;
  }
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  return 0;
}

/* Runs every regular file directly in `dir`; returns how many, or -1. */
static long run_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  long count = 0;
  struct dirent *e;
  char path[4096];
  while ((e = readdir(d))) {
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (e->d_name[0] == '.' || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
      continue;
    if (run_file(path) < 0) {
      count = -1;
      break;
    }
    count++;
  }
  closedir(d);
  return count;
}

int main(int argc, char **argv) {
#ifdef FUZZ_CORPUS_DIR
  static char *fallback[] = {NULL, FUZZ_CORPUS_DIR};
  if (argc < 2) {
    argv = fallback;
    argc = 2;
  }
#endif
  long total = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    long n = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? run_dir(argv[i])
             : run_file(argv[i]) == 0                       ? 1
                                                            : -1;
    if (n < 0)
      return EXIT_FAILURE;
    total += n;
  }
  printf("replay: %ld inputs ran cleanly\n", total);
  return total > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
