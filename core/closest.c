/* "Did you mean": the distance between a mistyped name and a real one. */
#include "config.h"

#include <string.h>

#include "closest.h"

size_t twi_edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return 99;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best = diag + cost;
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

bool twi_is_close(const char *typed, const char *candidate, size_t *distance) {
  size_t d = twi_edit_distance(typed, candidate);
  if (distance)
    *distance = d;
  return d < strlen(typed) / 3 + 2; /* farther than this is not a typo */
}
