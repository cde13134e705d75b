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

/* librdkafka logs with syslog levels. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *msg) {
  tower_ctx *ctx = rd_kafka_opaque(rk);
  tower_log_level l = level <= LOG_ERR       ? TOWER_LOG_ERROR
                      : level <= LOG_WARNING ? TOWER_LOG_WARN
                      : level <= LOG_INFO    ? TOWER_LOG_INFO
                                             : TOWER_LOG_DEBUG;
  tower_log(ctx, l, "librdkafka %s: %s", fac, msg);
}

/* Errors librdkafka reports outside any request (a broker down...):
 * transient ones are retried by librdkafka itself. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)rk;
  tower_log(opaque, err == RD_KAFKA_RESP_ERR__FATAL ? TOWER_LOG_ERROR : TOWER_LOG_WARN,
            "kafka: %s (%s)", reason, rd_kafka_err2name(err));
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
    if (kafka_conf_set(cfg, conf, "librdkafka", tower_config_table_key(cfg, "librdkafka", i),
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
  if (set_options(cfg, conf)) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  return conf;
}
