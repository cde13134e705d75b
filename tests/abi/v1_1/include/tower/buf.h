/* tower SDK: a growable byte buffer, used by the serializers.
 *
 * Thread safety: none; a buffer belongs to one thread at a time.
 */
#ifndef TOWER_BUF_H
#define TOWER_BUF_H

#include <tower/types.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Creates an empty buffer; `hint` is the initial capacity (0 for a default).
 * Returns NULL on allocation failure. The caller frees with tower_buf_free(). */
tower_buf *tower_buf_new(size_t hint);
/* Frees the buffer and its bytes. NULL is accepted. */
void tower_buf_free(tower_buf *b);

/* The bytes, borrowed until the next change to the buffer (or its free).
 * Always followed by a NUL byte that is not counted in tower_buf_len(). */
const char *tower_buf_data(const tower_buf *b);
size_t tower_buf_len(const tower_buf *b);

/* Empties the buffer, keeping its memory for reuse. */
void tower_buf_reset(tower_buf *b);
/* Shortens the buffer to `len` bytes (no-op when len >= current length). */
void tower_buf_truncate(tower_buf *b, size_t len);
/* Appends a copy of the bytes (`data` is only read during the call).
 * Returns 0 or -ENOMEM (the buffer is then unchanged). */
int tower_buf_append(tower_buf *b, const void *data, size_t len);
int tower_buf_append_str(tower_buf *b, const char *s);
int tower_buf_printf(tower_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
