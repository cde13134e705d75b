/* textfn: the string functions of processors.strings. Each writes its
 * result for `in` into `out` (reset first) and returns 0 or -ENOMEM; a
 * function that does not apply (invalid base64, say) copies `in`. Case
 * mapping and white space are ASCII (see README). */
#ifndef TOWER_PROCESSORS_STRINGS_TEXTFN_H
#define TOWER_PROCESSORS_STRINGS_TEXTFN_H

#include <stddef.h>

#include <tower/buf.h>

typedef struct {
  const char *set;  /* trim*: characters (UTF-8) to remove; NULL: white space */
  const char *text; /* trim_prefix/suffix, replace (old), valid_utf8 (replacement) */
  const char *with; /* replace (new) */
  size_t width;     /* left */
} textfn_args;

typedef int (*textfn)(const textfn_args *a, const char *in, tower_buf *out);

int textfn_lowercase(const textfn_args *a, const char *in, tower_buf *out);
int textfn_uppercase(const textfn_args *a, const char *in, tower_buf *out);
int textfn_titlecase(const textfn_args *a, const char *in, tower_buf *out);
int textfn_trim(const textfn_args *a, const char *in, tower_buf *out);
int textfn_trim_left(const textfn_args *a, const char *in, tower_buf *out);
int textfn_trim_right(const textfn_args *a, const char *in, tower_buf *out);
int textfn_trim_prefix(const textfn_args *a, const char *in, tower_buf *out);
int textfn_trim_suffix(const textfn_args *a, const char *in, tower_buf *out);
int textfn_replace(const textfn_args *a, const char *in, tower_buf *out);
int textfn_left(const textfn_args *a, const char *in, tower_buf *out);
int textfn_base64decode(const textfn_args *a, const char *in, tower_buf *out);
int textfn_valid_utf8(const textfn_args *a, const char *in, tower_buf *out);

#endif
