/* inputs.dynamodb internals, shared by
 *   dynamodb.c    the descriptor, options, init/destroy and the gather;
 *   ddb_config.c  options that need more than a getter (tables, expression attribute values and
 * names); (plugins/common/aws: the credential chain, SigV4 signing, the HTTP handles, what a
 * response means, the backoff); ddb_scan.c    one table's scan: segments, pages, retries, backoff;
 *   ddb_item.c    a DynamoDB item into a tower metric.
 * README.md documents the behaviour. */
#ifndef TOWER_INPUTS_DYNAMODB_H
#define TOWER_INPUTS_DYNAMODB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include <tower/tower.h>

#include "../../common/aws/aws.h"

/* ---- items into metrics (ddb_item.c) -------------------------------------- */

typedef struct ddb_convert {
  const char *const *tag_keys; /* sorted (strcmp), may be NULL */
  size_t ntag_keys;
  const char *timestamp_key; /* NULL: every metric gets default_time */
  const char *timestamp_format;
  const char *separator; /* between the names of nested map keys */
} ddb_convert;

/* Scratch buffers reused from item to item (one set per thread). */
typedef struct ddb_scratch {
  tower_buf *key;  /* the flattened attribute name being built */
  tower_buf *text; /* a value rendered as text (JSON, tag values) */
} ddb_scratch;

int ddb_scratch_init(ddb_scratch *sc);
void ddb_scratch_fini(ddb_scratch *sc);

/* Deepest map nesting that is flattened; deeper maps become JSON text.
 * DynamoDB allows 32 levels. */
#define DDB_MAX_DEPTH 32

/* Builds the metric for one item (a JSON object of attribute name ->
 * AttributeValue) named `name`, timestamped default_time unless
 * cv->timestamp_key says otherwise. Returns 0 with *out set; -EINVAL when
 * the item gives no metric (no fields, no usable timestamp: the reason is
 * in err); -ENOMEM. */
int ddb_item_metric(const ddb_convert *cv, const char *name, json_t *item, int64_t default_time,
                    ddb_scratch *sc, tower_metric **out, char *err, size_t err_size);

/* Appends AttributeValue `av` as plain JSON: S and B as strings, N as the
 * number exactly as DynamoDB wrote it, BOOL, NULL, M as an object, L as an
 * array, SS/NS/BS as arrays. 0, -EINVAL (not an AttributeValue), -ENOMEM. */
int ddb_plain_json(const json_t *av, tower_buf *out);

/* ---- the instance ------------------------------------------------------------ */

typedef struct ddb_table {
  const char *name;        /* TableName as configured (a name or an ARN) */
  const char *measurement; /* the name (the part after "table/" of an ARN) */
} ddb_table;

typedef struct ddb_state {
  tower_ctx *ctx;
  ddb_table *tables;
  size_t ntables;
  json_t *request; /* the Scan request without TableName, Limit, segment and start key */
  int64_t page_size, max_items, max_retries, timeout_ns;
  unsigned segments;
  ddb_convert cv;
  const char **tag_keys;
  aws_http http;
  aws_conn *conns; /* one per segment */
  aws_chain chain;
  int64_t backoff_base_ns, backoff_cap_ns;
} ddb_state;

/* ddb_config.c: tables and the request template. 0 or a
 * negative errno after logging why. */
int ddb_config_tables(ddb_state *s, const tower_config *cfg);
int ddb_config_request(ddb_state *s, const tower_config *cfg);
/* One expression attribute value as written in the config (string, number,
 * boolean, or DynamoDB JSON text) into an AttributeValue. NULL with err set
 * when it cannot be one. */
json_t *ddb_attribute_value(const tower_setting *v, char *err, size_t err_size);

/* ddb_scan.c */

/* What one table's scan came to. */
typedef struct ddb_table_result {
  aws_result fail;  /* kind AWS_OK when the scan completed */
  unsigned pages;   /* pages received */
  unsigned retries; /* requests retried */
  size_t items, skipped;
  bool truncated;    /* stopped at max_items */
  unsigned attempts; /* of the request that failed */
  bool budget_out;   /* a retry would have outlasted the time budget */
  char skip_reason[256];
} ddb_table_result;

/* Scans table t completely (every segment) and adds its metrics to acc,
 * or adds nothing when any part fails. */
void ddb_scan_table(ddb_state *s, const ddb_table *t, const aws_creds *cr, tower_acc *acc,
                    int64_t deadline, ddb_table_result *res);

#endif
