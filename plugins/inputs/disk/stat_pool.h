/* statfs(2) with a deadline, for inputs.disk.
 *
 * A hung NFS server, a FUSE daemon that stopped answering or a dead CIFS
 * share makes statfs() block, often in an uninterruptible sleep: no signal
 * and no timeout gets the calling thread back. So the gather never calls it
 * itself. It hands its list of paths to a worker thread and waits for the
 * answers, at most `timeout` per path. A path that does not answer in time
 * is given up (-ETIMEDOUT): its worker is left behind, stuck in the kernel,
 * and the rest of the list goes to another worker.
 *
 * Bounds: at most STAT_POOL_MAX_STUCK workers are ever stuck at once; when
 * that many are, the remaining paths are skipped (-EBUSY) instead of
 * starting more threads. A path whose call from an earlier gather is still
 * stuck is not tried again (-EINPROGRESS): a mount that stays hung costs one
 * thread, not one per gather. A stuck worker that finally returns becomes a
 * normal idle worker again.
 *
 * One pool per plugin instance; stat_pool_run is called from one thread at
 * a time (the input's gather). Threads are started on first use, so an
 * instance built by `tower --config-check` starts none. */
#ifndef TOWER_DISK_STAT_POOL_H
#define TOWER_DISK_STAT_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/statfs.h>

/* Workers that may be stuck at the same time. */
#define STAT_POOL_MAX_STUCK 4

/* The call the workers make: 0 or a negative errno. The plugin passes
 * stat_pool_statfs; the pool's unit test passes one that blocks, standing
 * in for a hung NFS server. */
typedef int (*stat_pool_fn)(const char *path, struct statfs *out);

/* statfs(2) as a stat_pool_fn. */
int stat_pool_statfs(const char *path, struct statfs *out);

typedef struct stat_req {
  const char *path; /* borrowed; the workers copy it */
  struct statfs st; /* the answer when err is 0 */
  /* 0; the call's negative errno; -ETIMEDOUT (no answer within the
   * timeout: given up); -EINPROGRESS (a call on this path from an earlier
   * gather is still stuck: not tried); -EBUSY (not tried: every worker
   * the pool may have is stuck); pthread_create's error, negated (not
   * tried: no thread could be started). */
  int err;
} stat_req;

typedef struct stat_pool stat_pool;

/* NULL when out of memory. timeout_ns > 0. */
stat_pool *stat_pool_new(stat_pool_fn fn, int64_t timeout_ns);

/* Answers every request of reqs[0, n), in order, one at a time: it returns
 * after at most about timeout_ns per path that hangs, plus the time the
 * others take. */
void stat_pool_run(stat_pool *p, stat_req *reqs, size_t n);

/* Workers stuck in a call right now; stat_pool_stuck_path() gives the path
 * of the i-th of them (copied into buf, "" when there is no such worker)
 * and how long it has been stuck, in ns. */
unsigned stat_pool_stuck(stat_pool *p);
int64_t stat_pool_stuck_path(stat_pool *p, unsigned i, char *buf, size_t len);

/* Stops the idle workers and waits for them. Stuck workers are detached:
 * each frees what it still uses when its call returns (never, maybe), so
 * nothing it touches is freed under it. */
void stat_pool_free(stat_pool *p);

#endif
