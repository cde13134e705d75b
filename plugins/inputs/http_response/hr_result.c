/* The outcome of one probe as Telegraf's http_response.go reports it: which
 * `result` a transfer gets, and the http_response metric with the tags and
 * fields Telegraf sets in each case (fields absent where Telegraf leaves
 * them out, so that queries written for Telegraf see the same series). */
#include <stdio.h>
#include <string.h>

#include "http_response.h"

const char *hr_result_name(hr_result r) {
  static const char *const names[] = {
      [HR_SUCCESS] = "success",
      [HR_STRING_MISMATCH] = "response_string_mismatch",
      [HR_BODY_READ_ERROR] = "body_read_error",
      [HR_CONNECTION_FAILED] = "connection_failed",
      [HR_TIMEOUT] = "timeout",
      [HR_DNS_ERROR] = "dns_error",
      [HR_STATUS_MISMATCH] = "response_status_code_mismatch",
  };
  return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "connection_failed";
}

/* Go's client.Do returns once the headers are read, so Telegraf sees a
 * failure before them as a network error (net.Error with Timeout(), a
 * *net.DNSError inside the *net.OpError, anything else) and a failure after
 * them as an error reading the body. Too many redirects is an error of
 * Do itself, whatever was read before. */
hr_result hr_classify(CURLcode rc, bool headers_done) {
  if (rc == CURLE_OK)
    return HR_SUCCESS;
  if (headers_done && rc != CURLE_TOO_MANY_REDIRECTS)
    return HR_BODY_READ_ERROR;
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
    return HR_TIMEOUT;
  case CURLE_COULDNT_RESOLVE_HOST:
    return HR_DNS_ERROR;
  default: /* refused, reset, TLS failures, a proxy's DNS failure, ... */
    return HR_CONNECTION_FAILED;
  }
}

/* Strict UTF-8 as Go's utf8.Valid: no overlong forms, no surrogates,
 * nothing above U+10FFFF. NUL is refused too: a tower string field cannot
 * hold it. */
static bool utf8_ok(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c >= 0x01 && c < 0x80) {
      i++;
      continue;
    }
    size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    if (len == 0 || i + len > n)
      return false;
    unsigned lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (c == 0xe0)
      lo = 0xa0;
    else if (c == 0xed)
      hi = 0x9f;
    else if (c == 0xf0)
      lo = 0x90;
    else if (c == 0xf4)
      hi = 0x8f;
    if (s[i + 1] < lo || s[i + 1] > hi)
      return false;
    for (size_t k = 2; k < len; k++)
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
    i += len;
  }
  return true;
}

static bool body_matches(const hr_probe *p) {
  regmatch_t span = {.rm_so = 0, .rm_eo = (regoff_t)tower_buf_len(p->body)};
  /* REG_STARTEND: the body may hold NUL bytes; they do not end it. */
  return regexec(&p->set->match, tower_buf_data(p->body), 1, &span, REG_STARTEND) == 0;
}

/* Everything Telegraf adds once a response came: its status and timing,
 * then the body checks, in Telegraf's order (a status code mismatch
 * overrides a string mismatch in `result`; both fields stay). */
static hr_result add_response(tower_metric *m, const hr_probe *p, hr_result r, int *bad) {
  const hr_settings *s = p->set;
  long code = 0;
  curl_off_t first_byte_us = 0;
  curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(p->easy, CURLINFO_STARTTRANSFER_TIME_T, &first_byte_us);
  char status[24];
  snprintf(status, sizeof status, "%ld", code);
  *bad |= tower_metric_add_tag(m, "status_code", status);
  *bad |= tower_metric_add_int(m, "http_response_code", code);
  *bad |= tower_metric_add_float(m, "response_time", (double)first_byte_us / 1e6);

  if (p->too_large)
    r = HR_BODY_READ_ERROR;
  if (r == HR_SUCCESS && s->body_field) {
    const char *text = tower_buf_data(p->body);
    size_t len = tower_buf_len(p->body);
    if (utf8_ok((const unsigned char *)text, len))
      *bad |= tower_metric_add_string_n(m, s->body_field, strlen(s->body_field), text, len);
    else
      r = HR_BODY_READ_ERROR;
  }
  *bad |= tower_metric_add_int(m, "content_length", (int64_t)p->received);
  if (r == HR_BODY_READ_ERROR) {
    if (s->has_match)
      *bad |= tower_metric_add_int(m, "response_string_match", 0);
    return r;
  }
  if (s->has_match) {
    bool match = body_matches(p);
    *bad |= tower_metric_add_int(m, "response_string_match", match);
    r = match ? r : HR_STRING_MISMATCH;
  }
  if (s->want_status) {
    bool match = code == s->want_status;
    *bad |= tower_metric_add_int(m, "response_status_code_match", match);
    r = match ? r : HR_STATUS_MISMATCH;
  }
  return r;
}

const char *hr_why(const hr_probe *p, CURLcode rc, hr_result r, char *buf, size_t size) {
  const hr_settings *s = p->set;
  long code = 0;
  switch (r) {
  case HR_SUCCESS:
    return "success";
  case HR_STRING_MISMATCH:
    return "the body does not match response_string_match";
  case HR_STATUS_MISMATCH:
    curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
    snprintf(buf, size, "status %ld, where response_status_code is %ld", code, s->want_status);
    return buf;
  case HR_BODY_READ_ERROR:
    if (p->too_large) {
      snprintf(buf, size, "the body is longer than response_body_max_size (%llu bytes)",
               (unsigned long long)s->body_max);
      return buf;
    }
    if (rc == CURLE_OK)
      return "the body is not UTF-8 text without NUL bytes, as response_body_field needs";
    break;
  default:
    break;
  }
  return p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc);
}

tower_metric *hr_probe_metric(const hr_probe *p, CURLcode rc) {
  tower_metric *m = tower_metric_new("http_response", TOWER_TIME_UNSET);
  if (!m)
    return NULL;
  int bad = tower_metric_add_tag(m, "server", p->server);
  bad |= tower_metric_add_tag(m, "method", p->set->method);
  hr_result r = hr_classify(rc, p->headers_done);
  if (r == HR_SUCCESS || r == HR_BODY_READ_ERROR)
    r = add_response(m, p, r, &bad);
  bad |= tower_metric_add_tag(m, "result", hr_result_name(r));
  bad |= tower_metric_add_int(m, "result_code", (int64_t)r);
  if (bad) {
    tower_metric_free(m);
    return NULL;
  }
  return m;
}
