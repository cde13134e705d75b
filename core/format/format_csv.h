/* The CSV serializer's options, for callers that have no config block. */
#ifndef TOWER_FORMAT_CSV_H
#define TOWER_FORMAT_CSV_H

#include <stdbool.h>

#include "format_internal.h"

typedef struct twi_csv_options {
  const char *timestamp_format; /* csv_timestamp_format; NULL: "unix" */
  const char *separator;        /* csv_separator; NULL or "": "," */
  bool header;                  /* csv_header */
  bool column_prefix;           /* csv_column_prefix */
} twi_csv_options;

/* Builds a CSV serializer with options `o` (NULL: defaults). Returns 0, or
 * -EINVAL after logging which option is wrong, or -ENOMEM. The caller frees
 * with tower_serializer_free(). */
int twi_csv_serializer_new(const tower_ctx *ctx, const twi_csv_options *o, tower_serializer **out);

#endif
