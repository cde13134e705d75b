/* outputs.csv: how the output touches names in its directory.
 *
 * The directory may be writable by others (a Grafana group, a careless
 * mode), so any name in it may be a planted symbolic link, hard link or
 * FIFO. Every name is reached relative to the directory descriptor and:
 *
 * - a file is created only with O_CREAT | O_EXCL | O_NOFOLLOW, so creation
 *   never reuses what is already there, a dangling link included;
 * - an existing file is opened with O_NOFOLLOW | O_NONBLOCK (a FIFO or a
 *   device cannot block the flush thread) and used only when fstat on the
 *   descriptor shows a regular file with a single name, so a write can
 *   never reach a file elsewhere; only the descriptor is then used
 *   (fchmod, ftruncate), never the name;
 * - temporary files get unpredictable names, so nobody can squat them;
 * - renameat and unlinkat act on the name itself, never on a link's target,
 *   so renaming over (or removing) a planted link only replaces the link.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "csv.h"

#define TEMP_CHARS 6
static const char temp_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567"; /* 32 symbols */

const char *csv_entry_unsafe(const struct stat *st) {
  if (S_ISLNK(st->st_mode))
    return "a symbolic link";
  if (S_ISDIR(st->st_mode))
    return "a directory";
  if (S_ISFIFO(st->st_mode))
    return "a FIFO";
  if (S_ISSOCK(st->st_mode))
    return "a socket";
  if (!S_ISREG(st->st_mode))
    return "a device";
  if (st->st_nlink > 1)
    return "a file with other hard links";
  return NULL;
}

int csv_check_entry(int dirfd, const char *name, const char **what) {
  struct stat st;
  *what = NULL;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? 0 : -errno;
  return (*what = csv_entry_unsafe(&st)) ? -EPERM : 0;
}

/* Opens an existing entry; see the top. */
static int open_existing(int dirfd, const char *name, int flags, csv_entry *e) {
  int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    /* ELOOP (a link), EISDIR, ENXIO (a socket)...: say what is there */
    int err = errno;
    struct stat st;
    if (err != ENOENT && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (e->unsafe = csv_entry_unsafe(&st)))
      return -EPERM;
    return -err;
  }
  if (fstat(fd, &e->st) != 0 || (e->unsafe = csv_entry_unsafe(&e->st))) {
    int err = e->unsafe ? EPERM : errno;
    close(fd);
    return -err;
  }
  /* a regular file: blocking mode, as O_NONBLOCK was only for the open */
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

/* Creates `name` exclusively with `mode` (set by fchmod, so the umask does
 * not narrow it). -EEXIST when anything is there. */
static int create_new(int dirfd, const char *name, int flags, mode_t mode, csv_entry *e) {
  int fd = openat(dirfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return -errno;
  if (fchmod(fd, mode) != 0 || fstat(fd, &e->st) != 0) {
    int err = errno;
    close(fd);
    unlinkat(dirfd, name, 0);
    return -err;
  }
  e->created = true;
  return fd;
}

int csv_open_at(int dirfd, const char *name, int flags, mode_t create_mode, csv_entry *e) {
  *e = (csv_entry){0};
  bool create = flags & O_CREAT;
  flags &= ~O_CREAT;
  /* a name may come and go between the two opens: try a few times */
  for (int tries = 0; tries < 3; tries++) {
    int fd = create ? create_new(dirfd, name, flags, create_mode, e) : -EEXIST;
    if (fd != -EEXIST)
      return fd;
    fd = open_existing(dirfd, name, flags, e);
    if (fd != -ENOENT || !create)
      return fd;
  }
  return -EAGAIN;
}

/* splitmix64 seeded from the kernel: cheap, and hard enough to guess that
 * nobody can squat the next name. Not cryptographic: O_EXCL is what makes
 * a guessed name harmless. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

uint64_t csv_random_seed(void) {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
    struct timespec ts; /* early boot: no entropy yet; better than nothing */
    clock_gettime(CLOCK_REALTIME, &ts);
    seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
           (uint64_t)(uintptr_t)&seed;
  }
  return seed;
}

int csv_create_temp(int dirfd, const char *prefix, uint64_t *rnd, int flags, mode_t mode,
                    char *name, size_t size) {
  size_t len = strlen(prefix);
  if (len + 1 + TEMP_CHARS >= size)
    return -ENAMETOOLONG;
  memcpy(name, prefix, len);
  name[len] = '.';
  name[len + 1 + TEMP_CHARS] = '\0';
  int fd = -EEXIST;
  for (int tries = 0; tries < 16 && fd == -EEXIST; tries++) {
    uint64_t r = next_random(rnd);
    for (size_t i = 0; i < TEMP_CHARS; i++, r >>= 5)
      name[len + 1 + i] = temp_alphabet[r & 31];
    csv_entry e;
    fd = create_new(dirfd, name, flags, mode, &e);
  }
  return fd;
}

/* Whether name ends with "<marker>." and TEMP_CHARS symbols of the alphabet. */
static bool ends_with_temp(const char *name, size_t len, const char *marker) {
  size_t ml = strlen(marker);
  if (len < ml + 1 + TEMP_CHARS)
    return false;
  const char *p = name + len - TEMP_CHARS - 1 - ml;
  if (memcmp(p, marker, ml) != 0 || p[ml] != '.')
    return false;
  for (p += ml + 1; *p; p++)
    if (!strchr(temp_alphabet, *p))
      return false;
  return true;
}

bool csv_is_temp_name(const char *name) {
  size_t len = strlen(name);
  if (strncmp(name, CSV_PROBE_PREFIX ".", sizeof CSV_PROBE_PREFIX) == 0)
    return len == sizeof CSV_PROBE_PREFIX + TEMP_CHARS && ends_with_temp(name, len, "");
  return ends_with_temp(name, len, ".csv" CSV_TEMP_SUFFIX);
}
