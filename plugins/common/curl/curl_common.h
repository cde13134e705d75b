/* The HTTP client options every libcurl plugin takes (inputs.docker,
 * inputs.dynamodb, outputs.influxdb and the HTTP plugins to come), with
 * Telegraf's names and meanings: a static convenience library linked into
 * each plugin .so (not installed, not a copy). README.md next to this file
 * is the operator's page for the options.
 *
 * A plugin
 *   1. splices the option groups it takes into its own option table:
 *        static const tower_option options[] = {
 *            {.name = "urls", ...},
 *            HTTP_CLIENT_TLS_OPTIONS,
 *            HTTP_CLIENT_PROXY_OPTIONS("false"),
 *            TOWER_OPTION_END,
 *        };
 *   2. reads and checks them in init with http_client_load(), naming the
 *      same groups (HTTP_CLIENT_TLS | HTTP_CLIENT_PROXY);
 *   3. configures each CURL handle once with http_client_apply();
 *   4. starts each request with http_client_request() instead of setting
 *      CURLOPT_URL itself (tls_server_name and a bearer token file need it);
 *   5. frees with http_client_fini() in destroy.
 * Uses only the tower SDK and libcurl (>= 7.62). */
#ifndef TOWER_CURL_COMMON_H
#define TOWER_CURL_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>

#include <tower/tower.h>

/* ---- the option groups ---------------------------------------------------------------- */

/* Which groups a plugin's table holds (the `groups` of http_client_load):
 *   TIMEOUT           timeout
 *   RESPONSE_TIMEOUT  response_timeout (Telegraf's name in inputs.prometheus)
 *   TLS               tls_ca, tls_cert, tls_key, tls_key_pwd, tls_server_name,
 *                     insecure_skip_verify
 *   PROXY             use_system_proxy, http_proxy_url
 *   PROXY_ALIAS       http_proxy (Telegraf's name in outputs.influxdb)
 *   HEADERS           http_headers
 *   BASIC_AUTH        username, password
 *   BEARER            bearer_token, bearer_token_string */
#define HTTP_CLIENT_TIMEOUT 0x01u
#define HTTP_CLIENT_RESPONSE_TIMEOUT 0x02u
#define HTTP_CLIENT_TLS 0x04u
#define HTTP_CLIENT_PROXY 0x08u
#define HTTP_CLIENT_PROXY_ALIAS 0x10u
#define HTTP_CLIENT_HEADERS 0x20u
#define HTTP_CLIENT_BASIC_AUTH 0x40u
#define HTTP_CLIENT_BEARER 0x80u

/* One request, connection included: the limit of each transfer. */
#define HTTP_CLIENT_TIMEOUT_HELP "limit for connecting plus one request and its response"
#define HTTP_CLIENT_TIMEOUT_OPTION(dflt)                                                           \
  {                                                                                                \
    .name = "timeout", .type = TOWER_OPT_DURATION, .default_value = dflt, .min = "1ms",            \
    .max = "1h", .help = HTTP_CLIENT_TIMEOUT_HELP                                                  \
  }
#define HTTP_CLIENT_RESPONSE_TIMEOUT_OPTION(dflt)                                                  \
  {                                                                                                \
    .name = "response_timeout", .type = TOWER_OPT_DURATION, .default_value = dflt, .min = "1ms",   \
    .max = "1h", .help = HTTP_CLIENT_TIMEOUT_HELP                                                  \
  }

#define HTTP_CLIENT_TLS_OPTIONS                                                                    \
  {.name = "tls_ca",                                                                               \
   .type = TOWER_OPT_STRING,                                                                       \
   .help = "PEM file of the CAs that sign the server's certificate (default: the system's)"},      \
      {.name = "tls_cert",                                                                         \
       .type = TOWER_OPT_STRING,                                                                   \
       .help = "PEM client certificate file, for mutual TLS (with tls_key)"},                      \
      {.name = "tls_key", .type = TOWER_OPT_STRING, .help = "PEM private key file of tls_cert"},   \
      {.name = "tls_key_pwd",                                                                      \
       .type = TOWER_OPT_STRING,                                                                   \
       .flags = TOWER_OPT_SECRET,                                                                  \
       .help = "password of an encrypted tls_key"},                                                \
      {.name = "tls_server_name",                                                                  \
       .type = TOWER_OPT_STRING,                                                                   \
       .help = "name sent via SNI and checked in the server's certificate, instead of the URL's "  \
               "host"},                                                                            \
  {                                                                                                \
    .name = "insecure_skip_verify", .type = TOWER_OPT_BOOL, .default_value = "false",              \
    .help = "use TLS but do not verify the server's certificate and host name (tests only)"        \
  }

/* use_system_proxy's default is the plugin's (Telegraf's for that plugin). */
#define HTTP_CLIENT_PROXY_OPTIONS(system_default)                                                  \
  {.name = "use_system_proxy",                                                                     \
   .type = TOWER_OPT_BOOL,                                                                         \
   .default_value = system_default,                                                                \
   .help = "use the proxy of the environment (http_proxy, https_proxy, no_proxy); false: none"},   \
  {                                                                                                \
    .name = "http_proxy_url", .type = TOWER_OPT_STRING,                                            \
    .help = "proxy for every request, e.g. \"http://proxy.example:3128\" (also https://, "         \
            "socks5://, socks5h://)"                                                               \
  }
#define HTTP_CLIENT_PROXY_ALIAS_OPTION                                                             \
  {                                                                                                \
    .name = "http_proxy", .type = TOWER_OPT_STRING,                                                \
    .help = "the same as http_proxy_url (Telegraf's name in this plugin)"                          \
  }

/* Secret: operators put credentials there (Authorization, X-Api-Key). */
#define HTTP_CLIENT_HEADERS_OPTION                                                                 \
  {                                                                                                \
    .name = "http_headers", .type = TOWER_OPT_TABLE, .flags = TOWER_OPT_SECRET,                    \
    .help = "extra request headers, { X-Tenant = \"a\"; }; they replace the plugin's own of the "  \
            "same name"                                                                            \
  }

#define HTTP_CLIENT_BASIC_AUTH_OPTIONS                                                             \
  {.name = "username", .type = TOWER_OPT_STRING, .help = "user for HTTP basic authentication"}, {  \
    .name = "password", .type = TOWER_OPT_STRING, .flags = TOWER_OPT_SECRET,                       \
    .help = "password of username"                                                                 \
  }

#define HTTP_CLIENT_BEARER_OPTIONS                                                                 \
  {.name = "bearer_token",                                                                         \
   .type = TOWER_OPT_STRING,                                                                       \
   .help = "file holding a token sent as Authorization: Bearer; read again when it changes"},      \
  {                                                                                                \
    .name = "bearer_token_string", .type = TOWER_OPT_STRING, .flags = TOWER_OPT_SECRET,            \
    .help = "the token itself, sent as Authorization: Bearer (bearer_token is safer)"              \
  }

/* ---- the parsed options ------------------------------------------------------------------ */

/* A bearer token file: the token read last and what the file was then. */
typedef struct http_token_file {
  const char *path;
  char *token; /* owned, wiped when replaced */
  dev_t dev;
  ino_t ino;
  off_t size;
  int64_t mtime_ns;
} http_token_file;

/* A host reached under tls_server_name: CURLOPT_CONNECT_TO's list for it. */
typedef struct http_route {
  char *key; /* "host:port" of the URL */
  struct curl_slist *connect_to;
} http_route;

typedef struct http_client {
  /* What http_client_apply() sets. Strings are borrowed from the config
   * (valid until the plugin's destroy) unless a plugin points them at its
   * own storage between load and apply (inputs.docker does, for
   * DOCKER_CERT_PATH). NULL: not set. */
  unsigned groups;
  int64_t timeout_ns; /* 0: none */
  const char *tls_ca, *tls_cert, *tls_key, *tls_key_pwd, *tls_server_name;
  bool insecure_skip_verify;
  bool use_system_proxy;
  const char *proxy_url;
  struct curl_slist *headers; /* "Name: value" lines, owned */
  const char *username, *password;
  const char *bearer_string;

  /* Private: per-request state shared by the handles of the instance,
   * which may run on several threads. */
  tower_ctx *ctx;
  pthread_mutex_t lock;
  bool lock_ready;
  http_token_file bearer_file; /* path NULL: none */
  http_route *routes;
  size_t nroutes;
} http_client;

/* Reads and checks the options of `groups` (the groups the plugin's table
 * holds) from cfg. A mistake is a configuration error naming the option and
 * its file:line (-EINVAL); -ENOMEM. Warns about insecure_skip_verify and
 * about credentials that are not sent. Call http_client_fini() afterwards
 * in every case. */
int http_client_load(http_client *hc, tower_ctx *ctx, const tower_config *cfg, unsigned groups);
void http_client_fini(http_client *hc);

/* Configures handle `c`: http and https only, no signals, the timeout,
 * TLS (peer and host verification on unless insecure_skip_verify), the
 * proxy, the header list (hc keeps it: c must not outlive hc), basic or
 * bearer authentication. 0, or -EINVAL after logging which option libcurl
 * refused. A plugin sets its own options (callbacks, method) after this. */
int http_client_apply(http_client *hc, CURL *c);

/* Appends the http_headers lines to *list (for a plugin that sends its own
 * headers: they come last, so that a configured header replaces the
 * plugin's). 0 or -ENOMEM (*list then holds what was appended). */
int http_client_append_headers(const http_client *hc, struct curl_slist **list);

/* Starts a request on `c` (configured with http_client_apply): sets the URL
 * (with tls_server_name on https:// URLs: the name goes into the URL and the
 * connection still goes to the URL's host) and sends the current bearer
 * token (the file read again when it changed). Thread-safe. 0, -EINVAL
 * (not a URL libcurl can parse) or -ENOMEM. */
int http_client_request(http_client *hc, CURL *c, const char *url);

#endif
