/* Collected configuration errors. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "diag.h"

static void add(twi_diag *d, const char *kind, const config_setting_t *at, const char *fmt,
                va_list ap) {
  char msg[2048], where[512], line[2600];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (at)
    snprintf(line, sizeof line, "%s: %s%s\n", twi_setting_where(at, where, sizeof where), kind,
             msg);
  else
    snprintf(line, sizeof line, "%s%s\n", kind, msg);
  size_t n = strlen(line);
  if (d->len + n + 1 > d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 1024;
    while (cap < d->len + n + 1)
      cap *= 2;
    char *t = realloc(d->text, cap);
    if (!t)
      return; /* an error we cannot record is still counted */
    d->text = t;
    d->cap = cap;
  }
  memcpy(d->text + d->len, line, n + 1);
  d->len += n;
}

void twi_diag_error(twi_diag *d, const config_setting_t *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add(d, "", at, fmt, ap);
  va_end(ap);
  d->errors++;
}

void twi_diag_warn(twi_diag *d, const config_setting_t *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add(d, "warning: ", at, fmt, ap);
  va_end(ap);
  d->warnings++;
}

void twi_diag_free(twi_diag *d) {
  free(d->text);
  memset(d, 0, sizeof *d);
}

void twi_one_line(char *text) {
  for (char *p = text; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = ' ';
}
