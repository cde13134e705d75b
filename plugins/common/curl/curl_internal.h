/* Private to plugins/common/curl: the bearer token file (curl_token.c),
 * used by curl_config.c (the first read) and curl_apply.c (the reads before
 * requests). */
#ifndef TOWER_CURL_INTERNAL_H
#define TOWER_CURL_INTERNAL_H

#include <stddef.h>

#include "curl_common.h"

/* Largest token file read: JWTs of Kubernetes service accounts are ~1 KB. */
#define HTTP_TOKEN_MAX (64u << 10)

/* Reads t->path when it is not the file read last (device, inode, size or
 * modification time differ): the token is its content without surrounding
 * white space. 0 (read or unchanged); a negative errno with `err` saying
 * why (the previous token is then kept). */
int http_token_read(http_token_file *t, char *err, size_t errlen);
/* Wipes and frees the token. */
void http_token_clear(http_token_file *t);

#endif
