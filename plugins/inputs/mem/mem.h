/* inputs.mem: the instance and the values of one /proc/meminfo (mem.c), and
 * the estimate of available memory for kernels without MemAvailable
 * (mem_avail.c). */
#ifndef TOWER_INPUTS_MEM_H
#define TOWER_INPUTS_MEM_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <tower/tower.h>

#include "../../common/host/host.h"

/* The /proc/meminfo keys the plugin reads, in the order of mem.c's table. */
enum mem_slot {
  MEM_TOTAL,
  MEM_FREE,
  MEM_AVAILABLE,
  MEM_BUFFERS,
  MEM_CACHED,
  MEM_SRECLAIMABLE,
  MEM_ACTIVE_FILE,
  MEM_INACTIVE_FILE,
  MEM_ACTIVE,
  MEM_INACTIVE,
  MEM_ACTIVE_ANON,
  MEM_INACTIVE_ANON,
  MEM_UNEVICTABLE,
  MEM_PERCPU,
  MEM_WRITEBACK,
  MEM_WRITEBACK_TMP,
  MEM_DIRTY,
  MEM_SHMEM,
  MEM_SLAB,
  MEM_SUNRECLAIM,
  MEM_PAGE_TABLES,
  MEM_SWAP_CACHED,
  MEM_COMMIT_LIMIT,
  MEM_COMMITTED_AS,
  MEM_HIGH_TOTAL,
  MEM_HIGH_FREE,
  MEM_LOW_TOTAL,
  MEM_LOW_FREE,
  MEM_SWAP_TOTAL,
  MEM_SWAP_FREE,
  MEM_MAPPED,
  MEM_VMALLOC_TOTAL,
  MEM_VMALLOC_USED,
  MEM_VMALLOC_CHUNK,
  MEM_HUGE_TOTAL,
  MEM_HUGE_FREE,
  MEM_HUGE_SIZE,
  MEM_NKEYS
};

/* One reading: v in bytes (counts for the huge page numbers), have[k] when
 * the file had key k. */
typedef struct {
  uint64_t v[MEM_NKEYS];
  bool have[MEM_NKEYS];
} mem_values;

typedef struct {
  tower_ctx *ctx;
  bool extended;
  char path[PATH_MAX], zoneinfo_path[PATH_MAX];
  host_buf buf, zoneinfo; /* reused at every gather */
  long page_size;
  /* The first line of a known key whose value did not parse (in buf). */
  const char *bad;
  size_t bad_len;
} mem_state;

/* Available memory in bytes: MemAvailable, else gopsutil's estimate for
 * kernels before 3.14. */
uint64_t mem_available(mem_state *s, const mem_values *v);

#endif
