/* The librdkafka configuration shared by the Kafka plugins. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "kafka_common.h"

int kafka_conf_set(const tower_config *cfg, rd_kafka_conf_t *conf, const char *key,
                   const char *property, const char *value) {
  char err[512];
  if (rd_kafka_conf_set(conf, property, value, err, sizeof err) == RD_KAFKA_CONF_OK)
    return 0;
  return tower_config_error(cfg, key ? tower_config_setting(cfg, key) : NULL,
                            "librdkafka property %s: %s", property, err);
}

const char *kafka_brokers(const tower_config *cfg, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < tower_config_strings_len(cfg, "brokers") && len + 1 < size; i++)
    len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "",
                            tower_config_strings_at(cfg, "brokers", i));
  return buf;
}

/* librdkafka logs with syslog levels. A "FAIL" line is the same event the
 * error callback reports (a broker connection failed): logged once there,
 * so here only at debug. */
void kafka_log(tower_ctx *ctx, int level, const char *fac, const char *msg) {
  tower_log_level l = level <= LOG_ERR       ? TOWER_LOG_ERROR
                      : level <= LOG_WARNING ? TOWER_LOG_WARN
                      : level <= LOG_INFO    ? TOWER_LOG_INFO
                                             : TOWER_LOG_DEBUG;
  if (strcmp(fac, "FAIL") == 0)
    l = TOWER_LOG_DEBUG;
  tower_log(ctx, l, "librdkafka %s: %s", fac, msg);
}

/* Errors librdkafka reports outside any request (a broker down...):
 * transient ones are retried by librdkafka itself. */
void kafka_error(tower_ctx *ctx, int err, const char *reason) {
  tower_log(ctx, err == RD_KAFKA_RESP_ERR__FATAL ? TOWER_LOG_ERROR : TOWER_LOG_WARN,
            "kafka: %s (%s)", reason, rd_kafka_err2name(err));
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *msg) {
  kafka_log(rd_kafka_opaque(rk), level, fac, msg);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)rk;
  kafka_error(opaque, err, reason);
}

static const char *security_protocol(bool tls, bool sasl) {
  if (tls)
    return sasl ? "sasl_ssl" : "ssl";
  return sasl ? "sasl_plaintext" : "plaintext";
}

static int set_tls(const tower_config *cfg, rd_kafka_conf_t *conf) {
  static const struct {
    const char *option, *property;
  } files[] = {{"tls_ca", "ssl.ca.location"},
               {"tls_cert", "ssl.certificate.location"},
               {"tls_key", "ssl.key.location"},
               {"tls_key_password", "ssl.key.password"}};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    const char *v = tower_config_string(cfg, files[i].option);
    if (v && kafka_conf_set(cfg, conf, files[i].option, files[i].property, v))
      return -EINVAL;
  }
  if (tower_config_bool(cfg, "insecure_skip_verify") &&
      (kafka_conf_set(cfg, conf, "insecure_skip_verify", "enable.ssl.certificate.verification",
                      "false") ||
       kafka_conf_set(cfg, conf, "insecure_skip_verify", "ssl.endpoint.identification.algorithm",
                      "none")))
    return -EINVAL;
  return 0;
}

static int set_sasl(const tower_config *cfg, rd_kafka_conf_t *conf, const char *mech) {
  const char *user = tower_config_string(cfg, "sasl_username");
  const char *pass = tower_config_string(cfg, "sasl_password");
  if (kafka_conf_set(cfg, conf, "sasl_mechanism", "sasl.mechanisms", mech) ||
      (user && kafka_conf_set(cfg, conf, "sasl_username", "sasl.username", user)) ||
      (pass && kafka_conf_set(cfg, conf, "sasl_password", "sasl.password", pass)))
    return -EINVAL;
  return 0;
}

/* librdkafka's property names have dots, which libconfig names cannot
 * have: `session_timeout_ms` in the file means session.timeout.ms. */
static void dotted(const char *key, char *buf, size_t size) {
  snprintf(buf, size, "%s", key);
  for (char *p = buf; *p; p++)
    if (*p == '_')
      *p = '.';
}

/* A `librdkafka` entry: the name as written if librdkafka knows it (a few,
 * such as log_level, have underscores), else with dots for underscores. */
static int set_passthrough(const tower_config *cfg, rd_kafka_conf_t *conf, const char *key,
                           const char *value) {
  char name[256], err[512];
  rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key, value, err, sizeof err);
  if (r == RD_KAFKA_CONF_OK)
    return 0;
  if (r != RD_KAFKA_CONF_UNKNOWN)
    return tower_config_error(cfg, tower_config_setting(cfg, "librdkafka"),
                              "librdkafka property %s: %s", key, err);
  dotted(key, name, sizeof name);
  return kafka_conf_set(cfg, conf, "librdkafka", name, value);
}

const char *kafka_passthrough(const tower_config *cfg, const char *property) {
  char name[256];
  for (size_t i = 0; i < tower_config_table_len(cfg, "librdkafka"); i++) {
    const char *key = tower_config_table_key(cfg, "librdkafka", i);
    dotted(key, name, sizeof name);
    if (strcmp(key, property) == 0 || strcmp(name, property) == 0)
      return tower_config_table_value(cfg, "librdkafka", i);
  }
  return NULL;
}

static int set_options(const tower_config *cfg, rd_kafka_conf_t *conf) {
  char brokers[4096];
  const char *mech = tower_config_string(cfg, "sasl_mechanism");
  bool sasl = strcmp(mech, "none") != 0;
  bool tls = tower_config_bool(cfg, "enable_tls") || tower_config_string(cfg, "tls_ca") ||
             tower_config_string(cfg, "tls_cert");
  if (kafka_conf_set(cfg, conf, "brokers", "bootstrap.servers",
                     kafka_brokers(cfg, brokers, sizeof brokers)) ||
      kafka_conf_set(cfg, conf, "client_id", "client.id", tower_config_string(cfg, "client_id")) ||
      kafka_conf_set(cfg, conf, NULL, "security.protocol", security_protocol(tls, sasl)) ||
      (tls && set_tls(cfg, conf)) || (sasl && set_sasl(cfg, conf, mech)))
    return -EINVAL;
  for (size_t i = 0; i < tower_config_table_len(cfg, "librdkafka"); i++)
    if (set_passthrough(cfg, conf, tower_config_table_key(cfg, "librdkafka", i),
                        tower_config_table_value(cfg, "librdkafka", i)))
      return -EINVAL;
  return 0;
}

rd_kafka_conf_t *kafka_conf_new(tower_ctx *ctx, const tower_config *cfg) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (!conf)
    return NULL;
  rd_kafka_conf_set_opaque(conf, ctx);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  /* a check creates no client, so nothing else would read the TLS files */
  if (set_options(cfg, conf) || (tower_ctx_check_only(ctx) && kafka_check_tls_files(cfg))) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  return conf;
}
