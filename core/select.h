/* Selectors and modifiers every plugin accepts, with Telegraf's meaning:
 * namepass/namedrop/tagpass/tagdrop decide whether a metric is handled;
 * fieldinclude/fieldexclude/taginclude/tagexclude remove fields and tags
 * from the metrics that are. */
#ifndef TOWER_SELECT_H
#define TOWER_SELECT_H

#include <stdbool.h>

#include <tower/config.h>
#include <tower/metric.h>

#include "diag.h"
#include "globs.h"

typedef struct twi_tagfilter {
  char *key;
  twi_globs *values;
} twi_tagfilter;

typedef struct twi_selector {
  twi_globs *namepass, *namedrop;
  twi_tagfilter *tagpass, *tagdrop;
  size_t ntagpass, ntagdrop;
  twi_globs *fieldinclude, *fieldexclude, *taginclude, *tagexclude;
} twi_selector;

/* Compiles the selector options of a validated block. Problems (bad globs,
 * malformed tagpass) go to d. 0 or -EINVAL. */
int twi_selector_init(twi_selector *s, const tower_config *cfg, twi_diag *d);
void twi_selector_free(twi_selector *s);

/* True when the metric passes namepass, namedrop, tagpass and tagdrop. */
bool twi_selector_select(const twi_selector *s, const tower_metric *m);
/* True when any of the modifiers is set. */
bool twi_selector_modifies(const twi_selector *s);
/* True when applying the modifiers would change `m`. */
bool twi_selector_would_modify(const twi_selector *s, const tower_metric *m);
/* Applies the modifiers to an unshared metric. Returns false when no field
 * is left (the metric is then to be dropped). */
bool twi_selector_modify(const twi_selector *s, tower_metric *m);

#endif
