/* Names as Telegraf's cloudwatch input writes them: its SnakeCase (an
 * underscore before an upper-case letter that follows a lower-case one or
 * starts a lower-case run, everything lower-cased), then spaces and "/"
 * to "_" and "__" to "_". "CPUUtilization" -> "cpu_utilization",
 * "InstanceId" -> "instance_id", "AWS/EC2" -> "aws_ec2". ASCII only, as
 * CloudWatch's names are. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cloudwatch.h"

static bool upper(char c) {
  return c >= 'A' && c <= 'Z';
}

static bool lower(char c) {
  return c >= 'a' && c <= 'z';
}

char *cw_snake(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(2 * n + 1);
  if (!out)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i] == '/' || s[i] == ' ' ? '_' : s[i];
    bool boundary = i > 0 && upper(c) && ((i + 1 < n && lower(s[i + 1])) || lower(s[i - 1]));
    if (boundary && !(o > 0 && out[o - 1] == '_'))
      out[o++] = '_';
    c = (char)tolower((unsigned char)c);
    /* "__" collapses to "_". */
    if (!(c == '_' && o > 0 && out[o - 1] == '_'))
      out[o++] = c;
  }
  out[o] = '\0';
  return out;
}
