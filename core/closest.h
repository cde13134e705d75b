/* "Did you mean": how close a mistyped name is to a real one. */
#ifndef TOWER_CLOSEST_H
#define TOWER_CLOSEST_H

#include <stdbool.h>
#include <stddef.h>

/* Levenshtein distance (insertions, deletions, substitutions); names longer
 * than 64 bytes are far from everything. */
size_t twi_edit_distance(const char *a, const char *b);
/* Whether `candidate` is close enough to `typed` to be what was meant. */
bool twi_is_close(const char *typed, const char *candidate, size_t *distance);

#endif
