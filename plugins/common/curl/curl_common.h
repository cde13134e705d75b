/* libcurl settings shared by the HTTP plugins (inputs.docker,
 * inputs.dynamodb, outputs.influxdb). Header-only: each plugin links
 * libcurl itself and nothing here is worth a library. */
#ifndef TOWER_CURL_COMMON_H
#define TOWER_CURL_COMMON_H

#include <stdbool.h>

#include <curl/curl.h>

/* Restricts the handle to HTTP and HTTPS: a configured URL or a
 * redirect must never make it speak another protocol (file://, smb://).
 * libcurl >= 7.85 takes the list as a string; the bitmask form is
 * deprecated there. */
static inline bool curl_http_only(CURL *c) {
#if LIBCURL_VERSION_NUM >= 0x075500
  return curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
  return curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ==
         CURLE_OK;
#endif
}

#endif
