/* Durations and sizes as text (the parsers are SDK functions, format.h). */
#ifndef TOWER_UNITS_H
#define TOWER_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Formats ns the way Go prints a time.Duration, shortened: "1h30m", "10s",
 * "1.5s", "250ms" (what the configuration accepts back). */
void twi_fmt_duration(char *buf, size_t len, int64_t ns);

#endif
