/* Prometheus text exposition serializer: one metric at a time, through the
 * same mapping as the prometheus output (tower_prom_map, Telegraf's
 * prometheus_client metric_version 1), so that what the "prometheus"
 * parser reads comes back out as the same series.
 *
 * Each series gets its own "# HELP" (unless prometheus_compact_encoding)
 * and "# TYPE" lines. The HELP text is Telegraf's, "Telegraf collected
 * metric", so that tools and diffs made against Telegraf's output keep
 * working. A serializer sees one metric at a time, so a batch that holds a
 * family twice repeats its HELP/TYPE lines, as Telegraf's serializer does
 * without batch format; strict readers (promtool, expfmt) reject such a
 * concatenation, while tower's parser reads each repetition as a new group
 * of the family.
 *
 * Differences from Telegraf's prometheus serializer, which maps fields the
 * way prometheus_client's metric_version 2 does: fields map as in
 * metric_version 1 (a "value" field, and "counter"/"gauge" of counters and
 * gauges, is the bare measurement name; histograms and summaries are
 * rebuilt from their bound/quantile fields and "sum"/"count", the layout
 * the parser produces), booleans are skipped rather than written as 1/0,
 * and numbers are written in their shortest exact form.
 *
 * A metric that yields no series (only string or boolean fields, a name
 * that cannot be sanitized, a reserved or invalid label) is -EINVAL with
 * nothing appended, as the tower_serialize() contract says.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "format_prometheus.h"

#define HELP_TEXT "Telegraf collected metric"

typedef struct prom_writer {
  unsigned map_flags;   /* TOWER_PROM_STRING_AS_LABEL */
  unsigned write_flags; /* TOWER_PROM_TIMESTAMP */
  bool help;
} prom_writer;

typedef struct write_ctx {
  const prom_writer *w;
  tower_buf *out;
} write_ctx;

int twi_prom_serializer_init(tower_serializer *s, const tower_config *cfg) {
  prom_writer *w = calloc(1, sizeof *w);
  if (!w)
    return -ENOMEM;
  w->help = true;
  if (cfg && tower_config_bool(cfg, "prometheus_export_timestamp"))
    w->write_flags |= TOWER_PROM_TIMESTAMP;
  if (cfg && tower_config_bool(cfg, "prometheus_string_as_label"))
    w->map_flags |= TOWER_PROM_STRING_AS_LABEL;
  if (cfg && tower_config_bool(cfg, "prometheus_compact_encoding"))
    w->help = false;
  s->state = w;
  return 0;
}

void twi_prom_serializer_fini(tower_serializer *s) {
  free(s->state);
  s->state = NULL;
}

static int write_series(void *ud, const tower_prom_series *s) {
  const write_ctx *c = ud;
  int rc = tower_prom_write_header(c->out, s->name, s->type, c->w->help ? HELP_TEXT : NULL);
  return rc ? rc : tower_prom_write_series(c->out, s, c->w->write_flags);
}

int twi_prom_serialize(tower_serializer *s, const tower_metric *m, tower_buf *out) {
  write_ctx c = {s->state, out};
  size_t start = tower_buf_len(out);
  int n = tower_prom_map(m, c.w->map_flags, write_series, &c);
  if (n <= 0)
    tower_buf_truncate(out, start);
  return n < 0 ? n : n == 0 ? -EINVAL : 0;
}
