/* What a reload keeps: instances shared between the running pipeline and
 * the one replacing it.
 *
 * An input or output whose fingerprint (its block and the agent settings it
 * inherits) did not change is not rebuilt: the new pipeline lists the very
 * instance the old one runs. Outputs keep their buffers and connections
 * (the buffer settings are not in the fingerprint: a change of
 * buffer_strategy, buffer_fsync, buffer_fsync_interval, buffer_max_bytes or
 * agent.buffer_directory converts the running buffer in place);
 * inputs keep running (a Kafka consumer keeps its group membership, a
 * listener its socket, a polled input its schedule and previous sample).
 *
 * While both pipelines exist, each holds a reference on the shared
 * instances, and ctx->owner names the one that runs them: the old pipeline
 * stops only what it still owns. So the old inputs' last commits, which
 * run through the old pipeline until those inputs are stopped, still land
 * in the very buffers the new pipeline flushes, and nothing is lost or
 * touched after it is freed.
 *
 * The order in core/agent.c's reload():
 *   1. twi_pipeline_adopt(new, old): new owns the unchanged instances.
 *   2. init new (the adopted instances are initialized already).
 *   3. twi_pipeline_hand_over(new): adopted inputs commit into new from
 *      their next commit on.
 *   4. stop old: its own inputs, a drain of the commits in flight, its own
 *      outputs (final flush); then drop it.
 *   5. start new: outputs not running yet, inputs not running yet.
 * When 2 fails beside the running pipeline (a port or lock its predecessor
 * holds), the adopted inputs go back to old before old stops, and new is
 * initialized again with its own fresh instances.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log_internal.h"
#include "pipeline.h"

/* The instance of `old`'s list that `fresh` can replace: same fingerprint,
 * still run by `old`, and (for inputs) running. */
static tower_ctx *find_unchanged(twi_pipeline *old, tower_ctx **list, size_t n,
                                 const tower_ctx *fresh) {
  for (size_t j = 0; j < n; j++) {
    tower_ctx *c = list[j];
    if (!c || c->owner != old || strcmp(c->fingerprint, fresh->fingerprint) != 0)
      continue;
    if (c->kind == TOWER_INPUT && !twi_input_running(c))
      continue;
    return c;
  }
  return NULL;
}

/* Whether two outputs buffer alike (the fingerprint leaves these out). */
static bool same_buffer(const twi_buffer_conf *a, const twi_buffer_conf *b) {
  if (a->disk != b->disk)
    return false;
  return !a->disk || (strcmp(a->dir, b->dir) == 0 && a->fsync == b->fsync &&
                      a->fsync_interval == b->fsync_interval && a->max_bytes == b->max_bytes);
}

static void adopt_outputs(twi_pipeline *pl, twi_pipeline *old) {
  for (size_t i = 0; i < pl->noutputs; i++) {
    tower_ctx *o = find_unchanged(old, old->outputs, old->noutputs, pl->outputs[i]);
    if (!o)
      continue;
    /* only the buffer settings changed: the running buffer converts in
     * place, keeping what it holds (memory <-> disk, fsync, size) */
    bool rebuffer = !same_buffer(&o->buffer, &pl->outputs[i]->buffer);
    if (rebuffer)
      twi_output_rebuffer(o, &pl->outputs[i]->buffer);
    twi_instance_ref(o);
    twi_instance_unref(pl->outputs[i]); /* the fresh one, never initialized */
    o->index = (int)i;
    o->owner = pl;
    pl->outputs[i] = o;
    size_t n = twi_output_buffered(o);
    tower_log(o, TOWER_LOG_INFO, "%s by the reload; keeping its %zu buffered metric%s",
              rebuffer ? "kept (only its buffer settings changed)" : "unchanged", n, twi_s(n));
  }
}

static void adopt_inputs(twi_pipeline *pl, twi_pipeline *old) {
  if (pl->ninputs && !pl->spares && !(pl->spares = calloc(pl->ninputs, sizeof *pl->spares)))
    return; /* no room to keep the fresh instances: restart every input */
  for (size_t i = 0; i < pl->ninputs; i++) {
    tower_ctx *in = find_unchanged(old, old->inputs, old->ninputs, pl->inputs[i]);
    if (!in)
      continue;
    twi_instance_ref(in);
    pl->spares[i] = pl->inputs[i];
    in->owner = pl;
    pl->inputs[i] = in;
    tower_log(in, TOWER_LOG_INFO, "unchanged by the reload; kept running");
  }
}

void twi_pipeline_adopt(twi_pipeline *pl, twi_pipeline *old) {
  adopt_outputs(pl, old);
  if (pl->mode == TWI_RUN && old->mode == TWI_RUN)
    adopt_inputs(pl, old);
}

void twi_pipeline_hand_over(twi_pipeline *pl) {
  twi_stats_set_running(pl); /* before the old one stops: health checks see no gap */
  for (size_t i = 0; pl->spares && i < pl->ninputs; i++)
    if (pl->spares[i])
      twi_input_hand_over(pl->inputs[i], pl);
}

void twi_pipeline_give_back_inputs(twi_pipeline *pl, twi_pipeline *old) {
  for (size_t i = 0; pl->spares && i < pl->ninputs; i++) {
    if (!pl->spares[i])
      continue;
    tower_ctx *in = pl->inputs[i];
    in->owner = old;
    pl->inputs[i] = pl->spares[i];
    pl->spares[i] = NULL;
    twi_instance_unref(in);
  }
}
