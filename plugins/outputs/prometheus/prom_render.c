/* Scrape bodies: gzip compression and Accept-Encoding negotiation. The
 * exposition text itself comes from prom_store_render(). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "prometheus.h"

int prom_gzip(const char *data, size_t len, int level, unsigned char **out, size_t *out_len) {
  z_stream z = {0};
  /* windowBits 15 + 16: a gzip wrapper rather than zlib's. */
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return -ENOMEM;
  size_t cap = deflateBound(&z, (uLong)len);
  unsigned char *buf = malloc(cap);
  if (!buf) {
    deflateEnd(&z);
    return -ENOMEM;
  }
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)len;
  z.next_out = buf;
  z.avail_out = (uInt)cap;
  /* deflateBound() is enough for a single Z_FINISH call. */
  int zr = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  if (zr != Z_STREAM_END) {
    free(buf);
    return -EIO;
  }
  *out = buf;
  *out_len = cap - z.avail_out;
  return 0;
}

/* The q value of one coding's parameters ("q=0.5"); 1 when absent. */
static double qvalue(const char *params, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (params[i] != 'q' && params[i] != 'Q')
      continue;
    size_t j = i + 1;
    while (j < len && params[j] == ' ')
      j++;
    if (j < len && params[j] == '=' && (i == 0 || params[i - 1] == ';' || params[i - 1] == ' '))
      return strtod(params + j + 1, NULL);
  }
  return 1;
}

bool prom_accepts_gzip(const char *ae) {
  if (!ae)
    return false;
  while (*ae) {
    size_t len = strcspn(ae, ",");
    const char *tok = ae, *end = ae + len;
    while (tok < end && isspace((unsigned char)*tok))
      tok++;
    size_t name = strcspn(tok, ";, \t");
    if (name > (size_t)(end - tok))
      name = (size_t)(end - tok);
    bool match = (name == 4 && strncasecmp(tok, "gzip", 4) == 0) || (name == 1 && *tok == '*');
    if (match && qvalue(tok + name, (size_t)(end - tok - (ptrdiff_t)name)) > 0)
      return true;
    ae = *end ? end + 1 : end;
  }
  return false;
}
