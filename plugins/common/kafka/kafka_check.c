/* The Kafka plugins under --config-check: the TLS files librdkafka would
 * load when the client is created (a check creates none), so that a wrong
 * file is named with the path component at fault or what it holds, instead
 * of librdkafka's OpenSSL error at start. The file checked is the one
 * librdkafka would use: a `librdkafka` passthrough entry (ssl_ca_location
 * ...) wins over tls_ca, tls_cert and tls_key, as in kafka_conf_new(). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../check/path_check.h"
#include "../check/pem_check.h"
#include "kafka_common.h"

static const struct {
  const char *option, *property;
  pem_want want;
  bool ca; /* may also be a directory of hashed certificates, or "probe" */
} tls_files[] = {
    {"tls_ca", "ssl.ca.location", PEM_CERTS, true},
    {"tls_cert", "ssl.certificate.location", PEM_CERTS, false},
    {"tls_key", "ssl.key.location", PEM_KEY, false},
};

/* One file; `tls`: the options' files are used (TLS is on). */
static int check_one(const tower_config *cfg, size_t i, bool tls) {
  const char *key = "librdkafka", *path = kafka_passthrough(cfg, tls_files[i].property);
  if (!path && tls) {
    key = tls_files[i].option;
    path = tower_config_string(cfg, key);
  }
  bool ca = tls_files[i].ca;
  if (!path || !*path || (ca && strcmp(path, "probe") == 0)) /* probe: librdkafka searches */
    return 0;
  char why[PATH_WHY_MAX];
  struct stat st;
  bool dir = ca && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
  int rc = dir ? path_check(path, PATH_DIR, R_OK | X_OK, why, sizeof why)
               : path_check(path, PATH_FILE, R_OK, why, sizeof why);
  if (rc == 0 && !dir)
    rc = pem_check_file(path, tls_files[i].want, why, sizeof why);
  if (rc == 0)
    return 0;
  const char *hint = rc != -EINVAL                  ? path_check_hint(rc)
                     : tls_files[i].want == PEM_KEY ? "give the PEM file of the private key"
                                                    : "give a PEM file of certificates";
  return tower_config_error(cfg, tower_config_setting(cfg, key), "%s%s%s \"%s\": %s; %s", key,
                            key == tls_files[i].option ? "" : " ",
                            key == tls_files[i].option ? "" : tls_files[i].property, path, why,
                            hint);
}

int kafka_check_tls_files(const tower_config *cfg) {
  bool tls = tower_config_bool(cfg, "enable_tls") || tower_config_string(cfg, "tls_ca") ||
             tower_config_string(cfg, "tls_cert");
  int first = 0;
  for (size_t i = 0; i < sizeof tls_files / sizeof *tls_files; i++) {
    int rc = check_one(cfg, i, tls);
    first = first ? first : rc;
  }
  return first;
}
