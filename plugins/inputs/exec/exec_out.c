/* inputs.exec: the stdout buffer of one command.
 *
 * The buffer is an anonymous mapping, grown with mremap(2) and trimmed back
 * after every gather to at most EXEC_OUT_KEEP bytes. One gather of a huge
 * output (a million lines: ~84 MB) so no longer pins that memory for the
 * agent's lifetime, and an ordinary command (a few KiB) keeps its buffer
 * and makes no system call for it per run.
 *
 * Why a mapping rather than malloc: memory freed to glibc's malloc goes
 * back to the system only when it was mmap'd by malloc itself, and glibc
 * raises its mmap threshold (up to 32 MiB) each time such a chunk is
 * freed, so the next big output would land in the heap, where free() keeps
 * it (malloc_trim() would help, but trims every arena of the process, on
 * the gather's thread). With our own mapping the release is exact and
 * immediate, and growing moves page-table entries instead of copying the
 * data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec.h"

/* The first buffer of a command; it doubles up to max_output + 1. */
#define OUT_INITIAL 16384

static size_t page_round(size_t n) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return (n + page - 1) / page * page;
}

/* Makes the buffer `cap` bytes (a page multiple); the first out_len bytes
 * are kept. 0 or -ENOMEM. */
static int out_resize(exec_cmd *c, size_t cap) {
  void *b = c->out ? mremap(c->out, c->out_cap, cap, MREMAP_MAYMOVE)
                   : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b == MAP_FAILED)
    return -ENOMEM;
  c->out = b;
  c->out_cap = cap;
  return 0;
}

int exec_out_room(exec_cmd *c, size_t limit, size_t want) {
  if (c->out_cap - c->out_len >= want || c->out_cap >= limit)
    return 0;
  size_t cap = c->out_cap ? 2 * c->out_cap : OUT_INITIAL;
  if (cap > limit)
    cap = limit;
  return out_resize(c, page_round(cap));
}

void exec_out_trim(exec_cmd *c) {
  c->out_len = 0;
  if (c->out_cap <= EXEC_OUT_KEEP)
    return;
  /* Shrinking in place cannot fail on Linux; if it ever did, letting the
   * whole buffer go is as good. */
  if (out_resize(c, EXEC_OUT_KEEP) < 0)
    exec_out_free(c);
}

void exec_out_free(exec_cmd *c) {
  if (c->out)
    munmap(c->out, c->out_cap);
  c->out = NULL;
  c->out_cap = c->out_len = 0;
}
