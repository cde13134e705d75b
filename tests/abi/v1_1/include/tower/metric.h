/* tower SDK: the metric.
 *
 * A metric is a name, a sorted set of tags (string -> string, unique keys), a
 * sorted set of fields (name -> float64, int64, uint64, bool or string), a
 * timestamp in nanoseconds since the Unix epoch and a value type.
 *
 * Memory: a metric is one heap block (header, tag and field tables, strings),
 * so building one costs a handful of allocations at most and a buffered metric
 * costs a few hundred bytes. Metrics are reference counted: the core hands the
 * same metric to every output without copying it.
 *
 * Mutability: a metric you created (or received in a processor) has one
 * reference and may be changed. A metric that is shared (an output's batch, a
 * retained reference) is read-only; the mutators return -EBUSY on it. Clone it
 * first if you need a changed copy.
 *
 * Thread safety: distinct metrics may be used from distinct threads freely. A
 * shared metric may be read from many threads at once and retained/released
 * from any thread.
 *
 * Strings returned by the getters are borrowed: valid while the metric is
 * alive and not modified.
 */
#ifndef TOWER_METRIC_H
#define TOWER_METRIC_H

#include <tower/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Timestamp placeholder: the core replaces it with the gather's time when the
 * metric is handed to an accumulator. */
#define TOWER_TIME_UNSET INT64_MIN

typedef enum tower_value_type {
  TOWER_UNTYPED = 0,
  TOWER_COUNTER = 1,
  TOWER_GAUGE = 2,
  TOWER_SUMMARY = 3,
  TOWER_HISTOGRAM = 4,
} tower_value_type;

typedef enum tower_field_type {
  TOWER_FIELD_FLOAT = 1,
  TOWER_FIELD_INT = 2,
  TOWER_FIELD_UINT = 3,
  TOWER_FIELD_BOOL = 4,
  TOWER_FIELD_STRING = 5,
} tower_field_type;

/* Creates a metric named `name` (copied; must be non-empty) with timestamp
 * `time_ns` (or TOWER_TIME_UNSET) and type TOWER_UNTYPED.
 * Returns NULL on allocation failure or an empty/NULL name.
 * The caller owns the result: give it to tower_acc_add() or free it with
 * tower_metric_free(). */
tower_metric *tower_metric_new(const char *name, int64_t time_ns);

/* Returns a new, unshared, mutable copy of `m` (NULL on allocation failure).
 * The caller owns the copy: give it to tower_acc_add() or free it with
 * tower_metric_free(). */
tower_metric *tower_metric_clone(const tower_metric *m);

/* Drops the caller's reference to a metric it owns (from tower_metric_new,
 * tower_metric_clone, or process()); the metric is freed with the last
 * reference. NULL is accepted. */
void tower_metric_free(tower_metric *m);

/* Takes one more reference on `m` and returns it, read-only. Use it to keep a
 * metric past the call that lent it to you (an output's write, say); give the
 * reference back with tower_metric_release(). */
const tower_metric *tower_metric_retain(const tower_metric *m);

/* Gives back a reference taken with tower_metric_retain(). NULL is accepted. */
void tower_metric_release(const tower_metric *m);

/* True when more than one reference exists (the metric is then read-only). */
bool tower_metric_is_shared(const tower_metric *m);

/* ---- reading ---------------------------------------------------------- */

/* The name; borrowed while `m` lives and is not changed. */
const char *tower_metric_name(const tower_metric *m);
int64_t tower_metric_time(const tower_metric *m);
tower_value_type tower_metric_type(const tower_metric *m);

/* Identifies the gather that produced the metric: equal for metrics committed
 * together by one input instance, different for different gathers. 0 before
 * the metric entered the pipeline. Outputs use it to tell collections apart
 * (the CSV output's snapshot mode keeps the latest one). */
uint64_t tower_metric_gather_id(const tower_metric *m);

/* Tags, sorted by key. i < tower_metric_tag_count(m). Keys and values are
 * borrowed while `m` lives and is not changed. */
size_t tower_metric_tag_count(const tower_metric *m);
const char *tower_metric_tag_key(const tower_metric *m, size_t i);
const char *tower_metric_tag_value(const tower_metric *m, size_t i);
/* Value of tag `key`, or NULL when absent; borrowed like the above. */
const char *tower_metric_tag(const tower_metric *m, const char *key);

/* Fields, sorted by key. i < tower_metric_field_count(m). Reading a field
 * with the getter of another type returns 0 / false / NULL. Keys and string
 * values are borrowed while `m` lives and is not changed. */
size_t tower_metric_field_count(const tower_metric *m);
const char *tower_metric_field_key(const tower_metric *m, size_t i);
tower_field_type tower_metric_field_type(const tower_metric *m, size_t i);
double tower_metric_field_float(const tower_metric *m, size_t i);
int64_t tower_metric_field_int(const tower_metric *m, size_t i);
uint64_t tower_metric_field_uint(const tower_metric *m, size_t i);
bool tower_metric_field_bool(const tower_metric *m, size_t i);
const char *tower_metric_field_string(const tower_metric *m, size_t i);
/* Index of field `key`, or -1 when absent. */
ptrdiff_t tower_metric_field_index(const tower_metric *m, const char *key);
/* Numeric value of field i as a double (bool is 0/1). Returns false for a
 * string field. */
bool tower_metric_field_number(const tower_metric *m, size_t i, double *out);

/* ---- changing (unshared metrics only) --------------------------------- *
 * Every mutator copies its string arguments and returns 0, -EINVAL for an
 * empty key or NULL argument, -EBUSY for a shared metric, -ENOMEM. Adding a
 * tag or field whose key exists replaces it. */

int tower_metric_set_name(tower_metric *m, const char *name);
int tower_metric_set_time(tower_metric *m, int64_t time_ns);
int tower_metric_set_type(tower_metric *m, tower_value_type type);

/* Empty tag values are rejected (-EINVAL) because no output can carry them. */
int tower_metric_add_tag(tower_metric *m, const char *key, const char *value);
/* Returns 0, or -ENOENT when the tag is absent. */
int tower_metric_remove_tag(tower_metric *m, const char *key);

int tower_metric_add_float(tower_metric *m, const char *key, double value);
int tower_metric_add_int(tower_metric *m, const char *key, int64_t value);
int tower_metric_add_uint(tower_metric *m, const char *key, uint64_t value);
int tower_metric_add_bool(tower_metric *m, const char *key, bool value);
int tower_metric_add_string(tower_metric *m, const char *key, const char *value);
/* Same with explicit lengths; the bytes need not be NUL-terminated and must
 * not contain NUL. */
int tower_metric_add_tag_n(tower_metric *m, const char *key, size_t key_len, const char *value,
                           size_t value_len);
int tower_metric_add_string_n(tower_metric *m, const char *key, size_t key_len, const char *value,
                              size_t value_len);
/* Returns 0, or -ENOENT when the field is absent. */
int tower_metric_remove_field(tower_metric *m, const char *key);

#ifdef __cplusplus
}
#endif

#endif
