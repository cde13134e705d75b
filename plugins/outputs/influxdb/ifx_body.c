/* Request bodies: line protocol for a run of metrics, with the routing tag
 * cut out (exclude_database_tag / exclude_bucket_tag), gzip-compressed.
 * Buffers and the zlib stream are kept across writes, so the write path
 * allocates nothing once they have grown to the largest request. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "influxdb.h"

/* The routing tag as tower_lp_write writes a tag key (Telegraf's rules:
 * ',', '=' and ' ' get a backslash, a newline becomes "\n", trailing
 * backslashes are dropped), then '='. Lines are matched against it to find
 * the tag. */
static char *escaped_key(const char *key, size_t *len) {
  size_t n = strlen(key);
  while (n > 0 && key[n - 1] == '\\')
    n--;
  char *out = malloc(2 * n + 2), *o = out;
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (c == ',' || c == '=' || c == ' ' || c == '\n')
      *o++ = '\\';
    *o++ = c == '\n' ? 'n' : c;
  }
  *o++ = '=';
  *o = '\0';
  *len = (size_t)(o - out);
  return out;
}

int ifx_body_init(ifx_body *b, unsigned lp_flags, int64_t precision_ns, const char *cut_tag,
                  bool gzip) {
  memset(b, 0, sizeof *b);
  b->lp_flags = lp_flags;
  b->precision_ns = precision_ns;
  if (!(b->lp = tower_buf_new(64 * 1024)) || !(b->line = tower_buf_new(1024)))
    return -ENOMEM;
  if (cut_tag && !(b->cut_key = escaped_key(cut_tag, &b->cut_key_len)))
    return -ENOMEM;
  if (gzip) {
    /* windowBits 15 + 16: a gzip header and trailer, as Content-Encoding:
     * gzip requires (plain deflate would be "deflate"). */
    if (deflateInit2(&b->z, IFX_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return -ENOMEM;
    b->z_ready = true;
  }
  return 0;
}

void ifx_body_fini(ifx_body *b) {
  if (b->z_ready)
    deflateEnd(&b->z);
  tower_buf_free(b->lp);
  tower_buf_free(b->line);
  free(b->gz);
  free(b->cut_key);
  memset(b, 0, sizeof *b);
}

/* Index just past the name or tag segment starting at i: up to the next
 * unescaped ',' or ' ' (a backslash escapes the byte after it, as
 * InfluxDB's parser reads it). */
static size_t segment_end(const char *s, size_t i, size_t len) {
  while (i < len && s[i] != ',' && s[i] != ' ')
    i += s[i] == '\\' ? 2 : 1;
  return i < len ? i : len;
}

/* Finds ",key=value" of the routing tag in one line; false when the line
 * does not carry it. */
static bool find_tag(const ifx_body *b, const char *s, size_t len, size_t *from, size_t *to) {
  size_t i = segment_end(s, 0, len); /* the measurement */
  while (i < len && s[i] == ',') {
    size_t end = segment_end(s, i + 1, len);
    if (end - (i + 1) > b->cut_key_len && memcmp(s + i + 1, b->cut_key, b->cut_key_len) == 0) {
      *from = i;
      *to = end;
      return true;
    }
    i = end;
  }
  return false;
}

/* Serializes one metric into b->lp, without the routing tag. Returns 0,
 * -EINVAL (nothing line protocol can carry) or -ENOMEM. */
static int put_metric(ifx_body *b, const tower_metric *m) {
  if (!b->cut_key || !tower_metric_tag_count(m))
    return tower_lp_write(m, b->lp, b->lp_flags, b->precision_ns);
  tower_buf_reset(b->line);
  int rc = tower_lp_write(m, b->line, b->lp_flags, b->precision_ns);
  if (rc)
    return rc;
  const char *s = tower_buf_data(b->line);
  size_t len = tower_buf_len(b->line), from, to;
  if (!find_tag(b, s, len, &from, &to))
    return tower_buf_append(b->lp, s, len);
  size_t mark = tower_buf_len(b->lp);
  if (tower_buf_append(b->lp, s, from) || tower_buf_append(b->lp, s + to, len - to)) {
    tower_buf_truncate(b->lp, mark);
    return -ENOMEM;
  }
  return 0;
}

int ifx_body_build(ifx_body *b, const tower_batch *batch, const uint32_t *idx, size_t n,
                   size_t *lines, size_t *skipped) {
  tower_buf_reset(b->lp);
  *lines = *skipped = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = put_metric(b, tower_batch_at(batch, idx[i]));
    if (rc == -EINVAL)
      ++*skipped;
    else if (rc)
      return rc;
    else
      ++*lines;
  }
  return 0;
}

int ifx_body_gzip(ifx_body *b) {
  size_t len = tower_buf_len(b->lp);
  if (deflateReset(&b->z) != Z_OK)
    return -EIO;
  size_t need = deflateBound(&b->z, (uLong)len);
  if (need > b->gz_cap) {
    unsigned char *p = realloc(b->gz, need);
    if (!p)
      return -ENOMEM;
    b->gz = p;
    b->gz_cap = need;
  }
  b->z.next_in = (Bytef *)(uintptr_t)tower_buf_data(b->lp);
  b->z.avail_in = (uInt)len;
  b->z.next_out = b->gz;
  b->z.avail_out = (uInt)b->gz_cap;
  /* deflateBound() room makes one Z_FINISH call enough. */
  if (deflate(&b->z, Z_FINISH) != Z_STREAM_END)
    return -EIO;
  b->gz_len = b->gz_cap - b->z.avail_out;
  return 0;
}

/* ---- URLs and InfluxQL ------------------------------------------------------- */

int ifx_url_escape(tower_buf *out, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~';
    char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
    if (tower_buf_append(out, plain ? (const char *)s : enc, plain ? 1 : 3))
      return -ENOMEM;
  }
  return 0;
}

int ifx_influxql_ident(tower_buf *out, const char *name) {
  if (tower_buf_append(out, "\"", 1))
    return -ENOMEM;
  for (; *name; name++) {
    const char *piece = *name == '"'    ? "\\\""
                        : *name == '\\' ? "\\\\"
                        : *name == '\n' ? "\\n"
                                        : NULL;
    if (piece ? tower_buf_append_str(out, piece) : tower_buf_append(out, name, 1))
      return -ENOMEM;
  }
  return tower_buf_append(out, "\"", 1);
}
