/* Timestamp formats by id, for serializers that format many rows (the public
 * tower_format_time() looks the name up on every call). */
#ifndef TOWER_TIMEFMT_H
#define TOWER_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/buf.h>

typedef enum twi_time_format {
  TWI_TIME_UNIX = 0,
  TWI_TIME_UNIX_MS,
  TWI_TIME_UNIX_US,
  TWI_TIME_UNIX_NS,
  TWI_TIME_RFC3339,
  TWI_TIME_RFC3339NANO,
} twi_time_format;

/* Longest formatted time, NUL included ("-9223372036854775808",
 * "2262-04-11T23:47:16.854775807Z"). */
#define TWI_FMT_TIME_SIZE 40

/* Proleptic Gregorian calendar arithmetic (Howard Hinnant's algorithms),
 * independent of TZ and of the libc's time_t range. Months are 1..12. */
int64_t twi_days_from_civil(int64_t y, unsigned m, unsigned d);
/* a / b rounded toward minus infinity (b > 0): the day or unit an instant
 * before 1970 falls in. */
int64_t twi_floor_div(int64_t a, int64_t b);
void twi_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
bool twi_is_leap(int64_t y);
unsigned twi_days_in_month(int64_t y, unsigned m);

/* The id of format `name`, or -1 when unknown. */
int twi_time_format_id(const char *name);
/* Writes time_ns in format `id` and a NUL into buf; returns the length. */
size_t twi_fmt_time(char buf[TWI_FMT_TIME_SIZE], int64_t time_ns, twi_time_format id);

#endif
