/* The metric: sorted tags and fields, replacement, removal, growth, sharing,
 * clone and pack. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "metric_internal.h"
#include "metric_shape.h"
#include "check_run.h"

START_TEST(new_and_basic_getters) {
  tower_metric *m = tower_metric_new("cpu", 42);
  ck_assert_ptr_nonnull(m);
  ck_assert_str_eq(tower_metric_name(m), "cpu");
  ck_assert_int_eq(tower_metric_time(m), 42);
  ck_assert_int_eq(tower_metric_type(m), TOWER_UNTYPED);
  ck_assert_uint_eq(tower_metric_tag_count(m), 0);
  ck_assert_uint_eq(tower_metric_field_count(m), 0);
  ck_assert_uint_eq(tower_metric_gather_id(m), 0);
  ck_assert_ptr_null(tower_metric_new("", 0));
  ck_assert_ptr_null(tower_metric_new(NULL, 0));
  tower_metric_free(m);
  tower_metric_free(NULL);
}
END_TEST

START_TEST(tags_sorted_unique_replaced) {
  tower_metric *m = tower_metric_new("m", 0);
  ck_assert_int_eq(tower_metric_add_tag(m, "zone", "z1"), 0);
  ck_assert_int_eq(tower_metric_add_tag(m, "host", "a"), 0);
  ck_assert_int_eq(tower_metric_add_tag(m, "cpu", "cpu0"), 0);
  ck_assert_int_eq(tower_metric_add_tag(m, "host", "b"), 0); /* replaces */
  ck_assert_uint_eq(tower_metric_tag_count(m), 3);
  ck_assert_str_eq(tower_metric_tag_key(m, 0), "cpu");
  ck_assert_str_eq(tower_metric_tag_key(m, 1), "host");
  ck_assert_str_eq(tower_metric_tag_key(m, 2), "zone");
  ck_assert_str_eq(tower_metric_tag_value(m, 1), "b");
  ck_assert_str_eq(tower_metric_tag(m, "zone"), "z1");
  ck_assert_ptr_null(tower_metric_tag(m, "zon"));
  ck_assert_ptr_null(tower_metric_tag(m, "zonex"));
  ck_assert_ptr_null(tower_metric_tag_key(m, 3));
  ck_assert_int_eq(tower_metric_add_tag(m, "empty", ""), -EINVAL);
  ck_assert_int_eq(tower_metric_add_tag(m, "", "v"), -EINVAL);
  ck_assert_int_eq(tower_metric_remove_tag(m, "host"), 0);
  ck_assert_int_eq(tower_metric_remove_tag(m, "host"), -ENOENT);
  ck_assert_uint_eq(tower_metric_tag_count(m), 2);
  ck_assert_str_eq(tower_metric_tag_key(m, 1), "zone");
  tower_metric_free(m);
}
END_TEST

START_TEST(field_types) {
  tower_metric *m = tower_metric_new("m", 0);
  ck_assert_int_eq(tower_metric_add_float(m, "f", 1.5), 0);
  ck_assert_int_eq(tower_metric_add_int(m, "i", -7), 0);
  ck_assert_int_eq(tower_metric_add_uint(m, "u", UINT64_MAX), 0);
  ck_assert_int_eq(tower_metric_add_bool(m, "b", true), 0);
  ck_assert_int_eq(tower_metric_add_string(m, "s", "hello \"world\""), 0);
  ck_assert_uint_eq(tower_metric_field_count(m), 5);
  const char *order[] = {"b", "f", "i", "s", "u"};
  for (size_t i = 0; i < 5; i++)
    ck_assert_str_eq(tower_metric_field_key(m, i), order[i]);
  ck_assert_int_eq(tower_metric_field_type(m, 0), TOWER_FIELD_BOOL);
  ck_assert(tower_metric_field_bool(m, 0));
  ck_assert_double_eq(tower_metric_field_float(m, 1), 1.5);
  ck_assert_int_eq(tower_metric_field_int(m, 2), -7);
  ck_assert_str_eq(tower_metric_field_string(m, 3), "hello \"world\"");
  ck_assert_uint_eq(tower_metric_field_uint(m, 4), UINT64_MAX);
  /* the getter of another type reads as zero */
  ck_assert_int_eq(tower_metric_field_int(m, 1), 0);
  ck_assert_ptr_null(tower_metric_field_string(m, 1));
  double d;
  ck_assert(tower_metric_field_number(m, 0, &d) && d == 1.0);
  ck_assert(tower_metric_field_number(m, 2, &d) && d == -7.0);
  ck_assert(!tower_metric_field_number(m, 3, &d));
  ck_assert_int_eq(tower_metric_field_index(m, "s"), 3);
  ck_assert_int_eq(tower_metric_field_index(m, "nope"), -1);
  /* replacing changes type and value */
  ck_assert_int_eq(tower_metric_add_string(m, "f", "now a string"), 0);
  ck_assert_int_eq(tower_metric_field_type(m, 1), TOWER_FIELD_STRING);
  ck_assert_str_eq(tower_metric_field_string(m, 1), "now a string");
  ck_assert_uint_eq(tower_metric_field_count(m), 5);
  ck_assert_int_eq(tower_metric_remove_field(m, "b"), 0);
  ck_assert_int_eq(tower_metric_remove_field(m, "b"), -ENOENT);
  ck_assert_str_eq(tower_metric_field_key(m, 0), "f");
  ck_assert_int_eq(tower_metric_add_float(m, "nan", NAN), 0);
  ck_assert(isnan(tower_metric_field_float(m, (size_t)tower_metric_field_index(m, "nan"))));
  tower_metric_free(m);
}
END_TEST

/* Far past the initial capacities: many fields and tags, long strings,
 * inserted in reverse order so every insert shifts the tables. */
START_TEST(growth) {
  tower_metric *m = tower_metric_new("grow", 1);
  char key[32], val[64];
  for (int i = 499; i >= 0; i--) {
    snprintf(key, sizeof key, "f%04d", i);
    ck_assert_int_eq(tower_metric_add_int(m, key, i), 0);
    snprintf(key, sizeof key, "t%04d", i);
    snprintf(val, sizeof val, "value-%d-%s", i, "padding-padding-padding");
    ck_assert_int_eq(tower_metric_add_tag(m, key, val), 0);
  }
  char *big = malloc(100000);
  memset(big, 'x', 99999);
  big[99999] = '\0';
  ck_assert_int_eq(tower_metric_add_string(m, "zbig", big), 0);
  ck_assert_uint_eq(tower_metric_field_count(m), 501);
  ck_assert_uint_eq(tower_metric_tag_count(m), 500);
  for (int i = 0; i < 500; i++) {
    snprintf(key, sizeof key, "f%04d", i);
    ck_assert_str_eq(tower_metric_field_key(m, (size_t)i), key);
    ck_assert_int_eq(tower_metric_field_int(m, (size_t)i), i);
    snprintf(val, sizeof val, "value-%d-%s", i, "padding-padding-padding");
    ck_assert_str_eq(tower_metric_tag_value(m, (size_t)i), val);
  }
  ck_assert_str_eq(tower_metric_field_string(m, 500), big);
  ck_assert_str_eq(tower_metric_name(m), "grow");
  free(big);
  tower_metric_free(m);
}
END_TEST

START_TEST(shared_is_read_only) {
  tower_metric *m = tower_metric_new("m", 0);
  tower_metric_add_int(m, "v", 1);
  ck_assert(!tower_metric_is_shared(m));
  const tower_metric *r = tower_metric_retain(m);
  ck_assert(tower_metric_is_shared(m));
  ck_assert_int_eq(tower_metric_add_int(m, "w", 2), -EBUSY);
  ck_assert_int_eq(tower_metric_add_tag(m, "k", "v"), -EBUSY);
  ck_assert_int_eq(tower_metric_set_name(m, "n"), -EBUSY);
  ck_assert_int_eq(tower_metric_remove_field(m, "v"), -EBUSY);
  tower_metric *c = tower_metric_clone(r);
  ck_assert(!tower_metric_is_shared(c));
  ck_assert_int_eq(tower_metric_add_int(c, "w", 2), 0);
  ck_assert_uint_eq(tower_metric_field_count(m), 1);
  ck_assert_uint_eq(tower_metric_field_count(c), 2);
  tower_metric_release(r);
  ck_assert(!tower_metric_is_shared(m));
  ck_assert_int_eq(tower_metric_add_int(m, "w", 3), 0);
  tower_metric_free(c);
  tower_metric_free(m);
}
END_TEST

static bool same(const tower_metric *a, const tower_metric *b) {
  if (strcmp(tower_metric_name(a), tower_metric_name(b)) ||
      tower_metric_time(a) != tower_metric_time(b) ||
      tower_metric_type(a) != tower_metric_type(b) ||
      tower_metric_tag_count(a) != tower_metric_tag_count(b) ||
      tower_metric_field_count(a) != tower_metric_field_count(b))
    return false;
  for (size_t i = 0; i < tower_metric_tag_count(a); i++)
    if (strcmp(tower_metric_tag_key(a, i), tower_metric_tag_key(b, i)) ||
        strcmp(tower_metric_tag_value(a, i), tower_metric_tag_value(b, i)))
      return false;
  for (size_t i = 0; i < tower_metric_field_count(a); i++) {
    if (strcmp(tower_metric_field_key(a, i), tower_metric_field_key(b, i)) ||
        tower_metric_field_type(a, i) != tower_metric_field_type(b, i))
      return false;
    const char *sa = tower_metric_field_string(a, i), *sb = tower_metric_field_string(b, i);
    double da = 0, db = 0;
    if (sa ? strcmp(sa, sb) != 0
           : (tower_metric_field_number(a, i, &da), tower_metric_field_number(b, i, &db), da != db))
      return false;
  }
  return true;
}

START_TEST(pack_and_clone_keep_content) {
  tower_metric *m = tower_metric_new("before", 99);
  tower_metric_set_type(m, TOWER_COUNTER);
  for (int i = 0; i < 20; i++) {
    char k[16];
    snprintf(k, sizeof k, "k%d", i);
    tower_metric_add_tag(m, k, "first value that will be replaced");
    tower_metric_add_tag(m, k, "v");
    tower_metric_add_string(m, k, "garbage garbage garbage garbage");
    tower_metric_add_float(m, k, i * 0.5);
  }
  tower_metric_set_name(m, "after");
  tower_metric *c = tower_metric_clone(m);
  size_t before = twi_metric_bytes(m);
  ck_assert_int_eq(twi_metric_pack(&m), 0);
  ck_assert_uint_lt(twi_metric_bytes(m), before);
  ck_assert(same(m, c));
  ck_assert_str_eq(tower_metric_name(m), "after");
  ck_assert_int_eq(tower_metric_type(m), TOWER_COUNTER);
  /* a packed metric stays fully usable */
  ck_assert_int_eq(tower_metric_add_tag(m, "new", "tag"), 0);
  ck_assert_str_eq(tower_metric_tag(m, "new"), "tag");
  tower_metric_free(c);
  tower_metric_free(m);
}
END_TEST

/* The memory figure the design promises: a typical buffered metric stays a
 * few hundred bytes. */
START_TEST(packed_size_is_small) {
  tower_metric *m = tower_metric_new("cpu", 1700000000000000000);
  tower_metric_add_tag(m, "cpu", "cpu0");
  tower_metric_add_tag(m, "host", "web01.example.com");
  const char *f[] = {"usage_user", "usage_system", "usage_idle", "usage_iowait", "usage_steal"};
  for (int i = 0; i < 5; i++)
    tower_metric_add_float(m, f[i], i * 1.25);
  ck_assert_int_eq(twi_metric_pack(&m), 0);
  size_t bytes = twi_metric_bytes(m);
  ck_assert_msg(bytes <= 240, "packed cpu metric takes %zu bytes", bytes);
  tower_metric_free(m);
}
END_TEST

START_TEST(sized_constructor) {
  tower_metric *m = twi_metric_new_sized("abcdef", 3, 5, 2, 2, 64);
  ck_assert_str_eq(tower_metric_name(m), "abc");
  ck_assert_int_eq(tower_metric_add_tag_n(m, "hostXX", 4, "a,b", 1), 0);
  ck_assert_str_eq(tower_metric_tag(m, "host"), "a");
  ck_assert_int_eq(twi_metric_add_field_n(m, "v1", 1, TOWER_FIELD_INT, 12), 0);
  ck_assert_int_eq(tower_metric_field_int(m, 0), 12);
  ck_assert_int_eq(tower_metric_add_string_n(m, "str", 3, "xyz", 2), 0);
  ck_assert_str_eq(tower_metric_field_string(m, 0), "xy");
  tower_metric_free(m);
}
END_TEST

/* A buffered metric of the usual kind: numbers only, the keys of a series
 * that repeats. */
static tower_metric *series_metric(int series, int64_t t, double v) {
  char host[32];
  snprintf(host, sizeof host, "web%02d", series);
  tower_metric *m = tower_metric_new("mem", t);
  tower_metric_add_tag(m, "host", host);
  tower_metric_add_int(m, "used", (int64_t)v);
  tower_metric_add_float(m, "used_percent", v / 3);
  tower_metric_add_bool(m, "ok", true);
  return m;
}

/* Packing shares the keys of one series: one shape for many metrics, each
 * keeping only its header and values, and every reader sees what it saw. */
START_TEST(pack_shares_the_keys_of_a_series) {
  size_t shapes = twi_shape_count();
  tower_metric *a = series_metric(1, 10, 30), *b = series_metric(1, 20, 60);
  tower_metric *ca = tower_metric_clone(a), *cb = tower_metric_clone(b);
  ck_assert_int_eq(twi_metric_pack(&a), 0);
  ck_assert_int_eq(twi_metric_pack(&b), 0);
  ck_assert_uint_eq(twi_shape_count(), shapes + 1);
  ck_assert(same(a, ca));
  ck_assert(same(b, cb));
  ck_assert_uint_le(twi_metric_bytes(a), 32 + 3 * 8);
  ck_assert_int_eq(tower_metric_field_int(b, tower_metric_field_index(b, "used")), 60);
  ck_assert_str_eq(tower_metric_tag(a, "host"), "web01");
  tower_metric *c = series_metric(2, 30, 90);
  ck_assert_int_eq(twi_metric_pack(&c), 0);
  ck_assert_uint_eq(twi_shape_count(), shapes + 2); /* another series */
  tower_metric_free(a);
  ck_assert_uint_eq(twi_shape_count(), shapes + 2);
  tower_metric_free(b);
  tower_metric_free(c);
  ck_assert_uint_eq(twi_shape_count(), shapes);
  tower_metric_free(ca);
  tower_metric_free(cb);
}
END_TEST

/* A change to a packed metric never reaches the other metrics of its
 * series: the metric takes its own keys first. */
START_TEST(changing_a_packed_metric_leaves_its_series_alone) {
  tower_metric *a = series_metric(3, 10, 30), *b = series_metric(3, 20, 60);
  tower_metric *cb = tower_metric_clone(b);
  twi_metric_pack(&a);
  twi_metric_pack(&b);
  ck_assert_int_eq(tower_metric_set_time(a, 11), 0);
  ck_assert_int_eq(tower_metric_add_tag(a, "host", "db01"), 0);
  ck_assert_int_eq(tower_metric_remove_field(a, "ok"), 0);
  ck_assert_int_eq(tower_metric_add_float(a, "used", 1.5), 0); /* int -> float */
  ck_assert_int_eq(tower_metric_set_name(a, "memory"), 0);
  ck_assert_int_eq(tower_metric_add_string(a, "note", "changed"), 0);
  ck_assert(same(b, cb));
  ck_assert_str_eq(tower_metric_name(a), "memory");
  ck_assert_str_eq(tower_metric_tag(a, "host"), "db01");
  ck_assert_int_eq(tower_metric_time(a), 11);
  ck_assert_int_eq(tower_metric_field_count(a), 3);
  ck_assert_double_eq(tower_metric_field_float(a, tower_metric_field_index(a, "used")), 1.5);
  ck_assert_str_eq(tower_metric_field_string(a, tower_metric_field_index(a, "note")), "changed");
  /* one field only: the smallest shaped block still takes its own keys */
  tower_metric *one = tower_metric_new("x", 1);
  tower_metric_add_int(one, "v", 7);
  twi_metric_pack(&one);
  ck_assert_int_eq(tower_metric_add_tag(one, "t", "u"), 0);
  ck_assert_int_eq(tower_metric_field_int(one, 0), 7);
  ck_assert_str_eq(tower_metric_tag(one, "t"), "u");
  tower_metric_free(one);
  tower_metric_free(a);
  tower_metric_free(b);
  tower_metric_free(cb);
}
END_TEST

/* The disk encodings of a and b are byte for byte the same; returns a's
 * (malloc'd, *n bytes). */
static unsigned char *same_encoding(const tower_metric *a, const tower_metric *b, size_t *n) {
  *n = twi_metric_encoded_size(a);
  ck_assert_uint_eq(*n, twi_metric_encoded_size(b));
  unsigned char *ea = malloc(*n), *eb = malloc(*n);
  ck_assert_uint_eq(twi_metric_encode(a, ea, *n), *n);
  ck_assert_uint_eq(twi_metric_encode(b, eb, *n), *n);
  ck_assert_int_eq(memcmp(ea, eb, *n), 0);
  free(eb);
  return ea;
}

/* String values differ metric to metric: such metrics keep their own
 * keys. A shaped metric encodes (disk buffers) exactly like its copy. */
START_TEST(string_fields_stay_unshared_and_shapes_encode) {
  size_t shapes = twi_shape_count();
  tower_metric *s = tower_metric_new("log", 5);
  tower_metric_add_string(s, "message", "hello");
  twi_metric_pack(&s);
  ck_assert_uint_eq(twi_shape_count(), shapes);
  tower_metric *a = series_metric(4, 10, 30);
  tower_metric *own = tower_metric_clone(a);
  twi_metric_pack(&a);
  size_t n;
  unsigned char *ea = same_encoding(a, own, &n);
  tower_metric *d = NULL;
  ck_assert_int_eq(twi_metric_decode(ea, n, &d, NULL), 0);
  ck_assert(same(d, own));
  free(ea);
  tower_metric_free(d);
  tower_metric_free(own);
  tower_metric_free(a);
  tower_metric_free(s);
}
END_TEST

/* Inputs pack and outputs free at the same time: the table's counts stay
 * exact (run under the sanitizers and valgrind by the suite). */
static void *pack_and_free(void *arg) {
  int id = (int)(intptr_t)arg;
  tower_metric *keep[64];
  for (int round = 0; round < 200; round++) {
    for (int i = 0; i < 64; i++) {
      keep[i] = series_metric((i + id) % 16, round, i);
      twi_metric_pack(&keep[i]);
    }
    for (int i = 0; i < 64; i++) {
      ck_assert_int_eq(tower_metric_field_int(keep[i], 1), i); /* "used" */
      tower_metric_free(keep[i]);
    }
  }
  return NULL;
}

START_TEST(shapes_under_concurrent_pack_and_free) {
  size_t shapes = twi_shape_count();
  pthread_t th[4];
  for (intptr_t i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, pack_and_free, (void *)i);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  ck_assert_uint_eq(twi_shape_count(), shapes);
}
END_TEST

/* Many series at once (a large scrape) grow the table; once they are
 * gone, nothing of them is left. */
START_TEST(many_series_come_and_go) {
  size_t shapes = twi_shape_count();
  enum { N = 20000 };
  tower_metric **v = malloc(N * sizeof *v);
  for (int i = 0; i < N; i++) {
    v[i] = series_metric(i % 100, i, i);
    twi_metric_pack(&v[i]);
  }
  ck_assert_uint_eq(twi_shape_count(), shapes + 100); /* "web%02d": 100 hosts */
  for (int i = 0; i < N; i++) {
    char id[16];
    snprintf(id, sizeof id, "%d", i);
    tower_metric_free(v[i]);
    v[i] = tower_metric_new("req", i);
    tower_metric_add_tag(v[i], "id", id);
    tower_metric_add_int(v[i], "n", i);
    twi_metric_pack(&v[i]);
  }
  ck_assert_uint_eq(twi_shape_count(), shapes + N);
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(tower_metric_field_int(v[i], 0), i);
    tower_metric_free(v[i]);
  }
  ck_assert_uint_eq(twi_shape_count(), shapes);
  free(v);
}
END_TEST

/* A line's head copied in one go builds the same string area, byte for
 * byte, as the name and the tags appended one by one. */
START_TEST(head_copy_equals_appends) {
  const char head[] = "cpu,host=web01,region=eu-west";
  tower_metric *a = twi_metric_new_head(head, strlen(head), 3, 7, 2, 1, 64);
  twi_metric_append_tag_at(a, 4, 4, 9, 5);
  twi_metric_append_tag_at(a, 15, 6, 22, 7);
  tower_metric *b = twi_metric_new_sized("cpu", 3, 7, 2, 1, 64);
  twi_metric_append_tag(b, "host", 4, "web01", 5);
  twi_metric_append_tag(b, "region", 6, "eu-west", 7);
  twi_metric_append_field(a, "v", 1, TOWER_FIELD_INT, 5, NULL, 0);
  twi_metric_append_field(b, "v", 1, TOWER_FIELD_INT, 5, NULL, 0);
  ck_assert_str_eq(tower_metric_name(a), "cpu");
  ck_assert_str_eq(tower_metric_tag(a, "region"), "eu-west");
  size_t n;
  free(same_encoding(a, b, &n));
  /* no tags: the head is the name */
  tower_metric *c = twi_metric_new_head("mem", 3, 3, 1, 0, 1, 8);
  ck_assert_str_eq(tower_metric_name(c), "mem");
  ck_assert_ptr_null(twi_metric_new_head(head, strlen(head), 3, 1, 2, 0, 4)); /* too small */
  tower_metric_free(a);
  tower_metric_free(b);
  tower_metric_free(c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("metric");
  TCase *t = tcase_create("metric");
  tcase_add_test(t, new_and_basic_getters);
  tcase_add_test(t, tags_sorted_unique_replaced);
  tcase_add_test(t, field_types);
  tcase_add_test(t, growth);
  tcase_add_test(t, shared_is_read_only);
  tcase_add_test(t, pack_and_clone_keep_content);
  tcase_add_test(t, packed_size_is_small);
  tcase_add_test(t, sized_constructor);
  tcase_add_test(t, pack_shares_the_keys_of_a_series);
  tcase_add_test(t, changing_a_packed_metric_leaves_its_series_alone);
  tcase_add_test(t, string_fields_stay_unshared_and_shapes_encode);
  tcase_add_test(t, shapes_under_concurrent_pack_and_free);
  tcase_add_test(t, many_series_come_and_go);
  tcase_add_test(t, head_copy_equals_appends);
  suite_add_tcase(s, t);
  return check_run(s);
}
