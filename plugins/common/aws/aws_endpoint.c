/* Where an AWS plugin sends its requests: the region (the option, else
 * AWS_REGION, else AWS_DEFAULT_REGION, as the SDKs; us-east-1 for a
 * custom endpoint, which signs with it but does not care) and the endpoint
 * (endpoint_url, else the service's regional one). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"

#define REDACTED_MAX 1024

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static bool region_ok(const char *r) {
  return *r && strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(r);
}

static int pick_region(aws_http *h, const tower_config *cfg, bool custom, const char *compatible) {
  const char *r = tower_config_string(cfg, "region");
  const tower_setting *at = tower_config_setting(cfg, "region");
  if (!r || !*r)
    r = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
  if (!r && !custom)
    return tower_config_error(cfg, NULL,
                              "no region: set region (e.g. region = \"eu-west-1\";), AWS_REGION, "
                              "or endpoint_url for %s",
                              compatible);
  if (!r)
    r = "us-east-1";
  if (!region_ok(r))
    return tower_config_error(cfg, at,
                              "region \"%s\" is not an AWS region name (such as "
                              "eu-west-1)",
                              r);
  h->region = strdup(r);
  return h->region ? 0 : -ENOMEM;
}

int aws_endpoint_load(aws_http *h, const tower_config *cfg, const char *service,
                      const char *compatible) {
  const char *ep = tower_config_string(cfg, "endpoint_url");
  bool custom = ep && *ep;
  int rc = pick_region(h, cfg, custom, compatible);
  if (rc)
    return rc;
  if (custom && strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)
    return tower_config_error(cfg, tower_config_setting(cfg, "endpoint_url"),
                              "endpoint_url must start with http:// or https://, e.g. "
                              "\"http://127.0.0.1:8000\"");
  if (custom)
    h->url = strdup(ep);
  else if (asprintf(&h->url, "https://%s.%s.amazonaws.com%s", service, h->region,
                    strncmp(h->region, "cn-", 3) == 0 ? ".cn" : "") < 0)
    h->url = NULL;
  h->redacted = malloc(REDACTED_MAX);
  if (!h->url || !h->redacted)
    return -ENOMEM;
  tower_redact_url(h->url, h->redacted, REDACTED_MAX);
  snprintf(h->sigv4, sizeof h->sigv4, "aws:amz:%s:%s", h->region, service);
  return 0;
}

void aws_http_fini(aws_http *h) {
  http_client_fini(&h->client);
  free(h->region);
  free(h->url);
  free(h->redacted);
  h->region = h->url = h->redacted = NULL;
}
