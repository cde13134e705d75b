/* processors.converter: timestamps written in a Go reference-time layout
 * ("2006-01-02T15:04:05Z07:00"), as Telegraf's timestamp_format takes them.
 * tower's own time parsing (format.h) knows unix* and RFC 3339 only. */
#ifndef TOWER_CONVERTER_GOLAYOUT_H
#define TOWER_CONVERTER_GOLAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The layout for one of Go's named layouts ("RFC3339", "ANSIC", "Kitchen",
 * "DateTime"..., case-insensitive), else `name` itself. */
const char *golayout_named(const char *name);
/* True when `layout` holds at least one element of the reference time. */
bool golayout_valid(const char *layout);
/* Parses `value` written in `layout` into ns since the epoch, as Go's
 * time.Parse does with UTC as the default zone: an element the layout lacks
 * is zero, or one for month and day (so a layout without a year gives year
 * 0, which is out of range here), a zone abbreviation ("MST", "CET") counts
 * as UTC (Go fabricates such a zone with offset 0), and a fraction of a
 * second after the seconds is accepted even when the layout has none.
 * Returns 0, -EINVAL (the value does not match the layout, or a day, hour...
 * is out of range) or -ERANGE (outside int64 ns, years 1677 to 2262). */
int golayout_parse(const char *layout, const char *value, int64_t *out_ns);

#endif
