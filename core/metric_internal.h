/* Metric functions for the core and the built-in formats (not in the SDK). */
#ifndef TOWER_METRIC_INTERNAL_H
#define TOWER_METRIC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <tower/metric.h>

/* A metric sized up front for `ntags` tags, `nfields` fields and `str_bytes`
 * bytes of strings (keys, values, each plus a NUL), so that a parser that
 * knows the line builds it with one allocation. name need not be
 * NUL-terminated. */
tower_metric *twi_metric_new_sized(const char *name, size_t name_len, int64_t time_ns, size_t ntags,
                                   size_t nfields, size_t str_bytes);

/* Adds a numeric/bool field from its raw 64-bit representation (the bits of
 * a double for FLOAT). Key need not be NUL-terminated. */
int twi_metric_add_field_n(tower_metric *m, const char *key, size_t klen, tower_field_type type,
                           uint64_t raw);

/* Appends a tag or field to a metric made by twi_metric_new_sized() and not
 * shared yet, without the search and growth of tower_metric_add_*: the
 * caller counted the room in, and its keys come in strictly ascending
 * order of their bytes (strcmp's), tags and fields each, so the sorted
 * arrays stay sorted. A parser that checked the order of a line takes this
 * path. Keys and values need not be NUL-terminated; `raw` is the value's
 * bits, except for TOWER_FIELD_STRING, whose value is s[0..slen). */
void twi_metric_append_tag(tower_metric *m, const char *key, size_t klen, const char *value,
                           size_t vlen);
void twi_metric_append_field(tower_metric *m, const char *key, size_t klen, tower_field_type type,
                             uint64_t raw, const char *s, size_t slen);

/* The same start for a line's head, `name,k1=v1,...,kn=vn` (head_len bytes,
 * nothing escaped): the head is copied into the string area in one go and
 * each tag is then declared by its offsets in it with
 * twi_metric_append_tag_at(), in ascending key order, which turns the
 * separators after its key and value into their NULs. The area ends up
 * byte for byte as name and twi_metric_append_tag() would build it.
 * str_bytes counts what follows the name, as for twi_metric_new_sized(). */
tower_metric *twi_metric_new_head(const char *head, size_t head_len, size_t name_len,
                                  int64_t time_ns, size_t ntags, size_t nfields, size_t str_bytes);
void twi_metric_append_tag_at(tower_metric *m, size_t key, size_t klen, size_t value, size_t vlen);

/* Repacks an unshared metric into one exact-size block when that saves
 * memory; *pm may change. Called when a metric enters the output buffers. */
int twi_metric_pack(tower_metric **pm);

/* Bytes the metric occupies on the heap (without allocator overhead). */
size_t twi_metric_bytes(const tower_metric *m);

void twi_metric_set_gather_id(tower_metric *m, uint64_t id);

/* The on-disk form of a metric (disk buffers, buffer_disk.c): a header of
 * TWI_METRIC_ENC_HEADER bytes (encoding version, value type, tag and field
 * counts, name offset, string bytes, gather id, time) followed by the
 * packed block's areas as they are (values, field keys, tags, strings),
 * little-endian whatever the host. Offsets need no fix-up on either side. */
#define TWI_METRIC_ENC_VERSION 1
#define TWI_METRIC_ENC_HEADER 28

/* Bytes twi_metric_encode() writes for m. */
size_t twi_metric_encoded_size(const tower_metric *m);

/* Writes the encoding of m (twi_metric_encoded_size(m) bytes) to out.
 * Returns the bytes written: 0 when cap is too small, or on ENOMEM (a
 * metric with garbage strings, unshared so never packed, is compacted
 * through a copy first). */
size_t twi_metric_encode(const tower_metric *m, void *out, size_t cap);

/* Decodes `len` bytes written by twi_metric_encode, validating every count,
 * offset, type and the order of keys, so that bytes that passed a
 * checksum but are malformed never reach a reader. out NULL: validates
 * only. Returns 0 (*out: a new metric, one reference), -EBADMSG with the
 * reason in *why (static text), or -ENOMEM. */
int twi_metric_decode(const void *in, size_t len, tower_metric **out, const char **why);

#endif
