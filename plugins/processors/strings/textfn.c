/* textfn: Go's strings functions as Telegraf's processors.strings uses
 * them, on NUL-terminated UTF-8 (textfn.h). */
#include "textfn.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static int put(tower_buf *out, const char *s, size_t n) {
  tower_buf_reset(out);
  return tower_buf_append(out, s, n);
}

/* Length of the valid UTF-8 character at s (Go's rules: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 when the bytes are not one. */
static size_t utf8_len(const unsigned char *s) {
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  size_t n = c >= 0xc2 && c <= 0xdf   ? 2
             : c >= 0xe0 && c <= 0xef ? 3
             : c >= 0xf0 && c <= 0xf4 ? 4
                                      : 0;
  if (n == 0)
    return 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c == 0xe0)
    lo = 0xa0;
  else if (c == 0xed)
    hi = 0x9f;
  else if (c == 0xf0)
    lo = 0x90;
  else if (c == 0xf4)
    hi = 0x8f;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  return n;
}

static size_t char_len(const char *s) {
  size_t n = utf8_len((const unsigned char *)s);
  return n ? n : 1; /* an invalid byte is one character, as Go's RuneError */
}

static int map_case(const char *in, tower_buf *out, int lower) {
  int rc = put(out, in, strlen(in));
  char *p = (char *)tower_buf_data(out); /* our own copy, changed in place */
  for (; rc == 0 && *p; p++)
    if (lower && *p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
    else if (!lower && *p >= 'a' && *p <= 'z')
      *p = (char)(*p - 'a' + 'A');
  return rc;
}

int textfn_lowercase(const textfn_args *a, const char *in, tower_buf *out) {
  (void)a;
  return map_case(in, out, 1);
}

int textfn_uppercase(const textfn_args *a, const char *in, tower_buf *out) {
  (void)a;
  return map_case(in, out, 0);
}

/* Go's strings.Title: a letter after a separator (anything but ASCII
 * letters, digits, '_' and non-ASCII characters) goes to upper case. */
int textfn_titlecase(const textfn_args *a, const char *in, tower_buf *out) {
  (void)a;
  int rc = put(out, in, strlen(in));
  char *p = (char *)tower_buf_data(out);
  bool after_separator = true;
  for (; rc == 0 && *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (after_separator && c >= 'a' && c <= 'z')
      *p = (char)(c - 'a' + 'A');
    after_separator = !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                        (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80);
  }
  return rc;
}

/* Whether the character at s (n bytes) is in the cutset (NULL: ASCII white
 * space). */
static bool in_set(const char *set, const char *s, size_t n) {
  if (!set)
    return n == 1 && strchr(" \t\n\v\f\r", *s) && *s;
  for (const char *p = set; *p; p += char_len(p))
    if (char_len(p) == n && memcmp(p, s, n) == 0)
      return true;
  return false;
}

static int trim(const textfn_args *a, const char *in, tower_buf *out, bool left, bool right) {
  const char *start = in, *end = in + strlen(in);
  while (left && start < end && in_set(a->set, start, char_len(start)))
    start += char_len(start);
  while (right && end > start) {
    const char *last = end - 1; /* back to the start of the last character */
    while (last > start && ((unsigned char)*last & 0xc0) == 0x80 && end - last < 4)
      last--;
    if (last + char_len(last) != end)
      last = end - 1; /* a stray continuation byte is one character */
    if (!in_set(a->set, last, (size_t)(end - last)))
      break;
    end = last;
  }
  return put(out, start, (size_t)(end - start));
}

int textfn_trim(const textfn_args *a, const char *in, tower_buf *out) {
  return trim(a, in, out, true, true);
}

int textfn_trim_left(const textfn_args *a, const char *in, tower_buf *out) {
  return trim(a, in, out, true, false);
}

int textfn_trim_right(const textfn_args *a, const char *in, tower_buf *out) {
  return trim(a, in, out, false, true);
}

int textfn_trim_prefix(const textfn_args *a, const char *in, tower_buf *out) {
  size_t n = strlen(a->text);
  return strncmp(in, a->text, n) == 0 ? put(out, in + n, strlen(in) - n) : put(out, in, strlen(in));
}

int textfn_trim_suffix(const textfn_args *a, const char *in, tower_buf *out) {
  size_t n = strlen(a->text), len = strlen(in);
  bool has = len >= n && memcmp(in + len - n, a->text, n) == 0;
  return put(out, in, has ? len - n : len);
}

/* Every occurrence of a->text (non-empty, checked at init) by a->with. */
int textfn_replace(const textfn_args *a, const char *in, tower_buf *out) {
  tower_buf_reset(out);
  size_t n = strlen(a->text);
  int rc = 0;
  const char *p = in;
  for (const char *hit; rc == 0 && (hit = strstr(p, a->text)); p = hit + n) {
    rc = tower_buf_append(out, p, (size_t)(hit - p));
    if (rc == 0)
      rc = tower_buf_append_str(out, a->with);
  }
  return rc ? rc : tower_buf_append_str(out, p);
}

/* The first a->width bytes, backing off to the start of a UTF-8 character
 * rather than cutting it. */
int textfn_left(const textfn_args *a, const char *in, tower_buf *out) {
  size_t len = strlen(in);
  if (len <= a->width)
    return put(out, in, len);
  size_t n = a->width;
  while (n > 0 && ((unsigned char)in[n] & 0xc0) == 0x80)
    n--;
  return put(out, in, n);
}

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static bool valid_utf8(const char *s, size_t n) {
  for (size_t i = 0, k; i < n; i += k)
    if (!(k = utf8_len((const unsigned char *)s + i)) || i + k > n)
      return false;
  return true;
}

/* Go's base64.StdEncoding.DecodeString (padding required, \r and \n
 * ignored); the value stays when it is not base64, or the bytes are not
 * UTF-8 (Telegraf) or hold a NUL (no tower string can). */
int textfn_base64decode(const textfn_args *a, const char *in, tower_buf *out) {
  (void)a;
  tower_buf_reset(out);
  unsigned acc = 0;
  int bits = 0, rc = 0;
  size_t count = 0, pad = 0, first_pad = 0; /* characters, '='s, where the first '=' was */
  bool ok = true;
  for (const char *p = in; ok && rc == 0 && *p; p++) {
    if (*p == '\r' || *p == '\n')
      continue;
    if (*p == '=') {
      first_pad = pad++ ? first_pad : count % 4;
      count++;
      continue;
    }
    int v = b64_value(*p);
    ok = v >= 0 && pad == 0;
    count++;
    acc = (acc << 6) | (unsigned)(v & 63);
    bits += 6;
    if (ok && bits >= 8) {
      bits -= 8;
      char byte = (char)((acc >> bits) & 0xff);
      ok = byte != '\0';
      rc = tower_buf_append(out, &byte, 1);
    }
  }
  /* padding completes the last quantum: "xx==" or "xxx=" */
  ok = ok && count % 4 == 0 &&
       (pad == 0 || (pad == 1 && first_pad == 3) || (pad == 2 && first_pad == 2));
  if (rc)
    return rc;
  if (ok && valid_utf8(tower_buf_data(out), tower_buf_len(out)))
    return 0;
  return put(out, in, strlen(in));
}

/* Go's strings.ToValidUTF8: each run of invalid bytes becomes a->text. */
int textfn_valid_utf8(const textfn_args *a, const char *in, tower_buf *out) {
  tower_buf_reset(out);
  int rc = 0;
  bool in_run = false;
  for (const char *p = in; rc == 0 && *p;) {
    size_t n = utf8_len((const unsigned char *)p);
    if (n) {
      rc = tower_buf_append(out, p, n);
      p += n;
      in_run = false;
    } else {
      if (!in_run)
        rc = tower_buf_append_str(out, a->text);
      in_run = true;
      p++;
    }
  }
  return rc;
}
