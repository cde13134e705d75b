/* The previous CPU sample of each container, for usage_percent when the
 * daemon sends none (podman, and Docker with one-shot=true): an open-
 * addressing hash table keyed by container id, linear probing, rebuilt
 * when it grows or when stale entries are pruned. One fixed-size entry per
 * container, reused from gather to gather: no allocation per sample. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

/* FNV-1a: ids are hex already, any spread will do. */
static size_t hash_id(const char *id) {
  uint64_t h = 1469598103934665603ULL;
  for (const unsigned char *p = (const unsigned char *)id; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  return (size_t)h;
}

/* The entry of `id`, or the free entry where it would go. */
static docker_cpu_prev *probe(docker_cpu_prev *v, size_t cap, const char *id) {
  size_t i = hash_id(id) & (cap - 1);
  while (v[i].id[0] && strcmp(v[i].id, id) != 0)
    i = (i + 1) & (cap - 1);
  return &v[i];
}

/* Moves every entry not older than ttl_ns (all of them for ttl_ns < 0)
 * into a new table of `cap` slots. */
static int rebuild(docker_cpu_cache *c, size_t cap, int64_t now_ns, int64_t ttl_ns) {
  docker_cpu_prev *v = calloc(cap, sizeof *v);
  if (!v)
    return -ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < c->cap; i++) {
    const docker_cpu_prev *e = &c->v[i];
    if (!e->id[0] || (ttl_ns >= 0 && now_ns - e->seen_ns > ttl_ns))
      continue;
    *probe(v, cap, e->id) = *e;
    n++;
  }
  free(c->v);
  c->v = v;
  c->cap = cap;
  c->n = n;
  return 0;
}

const docker_cpu_prev *docker_cache_get(const docker_cpu_cache *c, const char *id, int64_t now_ns,
                                        int64_t ttl_ns) {
  if (!c->cap || strlen(id) >= sizeof c->v[0].id)
    return NULL;
  const docker_cpu_prev *e = probe(c->v, c->cap, id);
  if (!e->id[0] || now_ns - e->seen_ns > ttl_ns)
    return NULL;
  return e;
}

int docker_cache_put(docker_cpu_cache *c, const char *id, uint64_t total, uint64_t system,
                     int64_t read_ns, int64_t now_ns) {
  if (strlen(id) >= sizeof c->v[0].id || !id[0])
    return 0;
  if ((c->n + 1) * 2 > c->cap) {
    int rc = rebuild(c, c->cap ? c->cap * 2 : 64, now_ns, -1);
    if (rc)
      return rc;
  }
  docker_cpu_prev *e = probe(c->v, c->cap, id);
  if (!e->id[0]) {
    strcpy(e->id, id);
    c->n++;
  }
  e->total = total;
  e->system = system;
  e->read_ns = read_ns;
  e->seen_ns = now_ns;
  return 0;
}

void docker_cache_prune(docker_cpu_cache *c, int64_t now_ns, int64_t ttl_ns) {
  size_t stale = 0;
  for (size_t i = 0; i < c->cap; i++)
    stale += c->v[i].id[0] && now_ns - c->v[i].seen_ns > ttl_ns;
  /* Shrink with the container count, but not below the first size. */
  size_t cap = c->cap;
  while (cap > 64 && (c->n - stale) * 8 < cap)
    cap /= 2;
  if (stale)
    rebuild(c, cap, now_ns, ttl_ns); /* on ENOMEM the stale entries stay */
}

void docker_cache_free(docker_cpu_cache *c) {
  free(c->v);
  c->v = NULL;
  c->cap = c->n = 0;
}
