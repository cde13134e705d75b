/* Shared by outputs.kafka and inputs.kafka_consumer (a static convenience
 * library linked into both .so files, not a copy): the options every Kafka
 * plugin takes and the librdkafka configuration built from them. Uses only
 * the tower SDK and librdkafka. */
#ifndef TOWER_KAFKA_COMMON_H
#define TOWER_KAFKA_COMMON_H

#include <librdkafka/rdkafka.h>

#include <tower/tower.h>

/* The common entries, spliced into a plugin's option table:
 *   static const tower_option options[] = { TOWER_KAFKA_OPTIONS, {...}, TOWER_OPTION_END }; */
#define TOWER_KAFKA_OPTIONS                                                                        \
  {.name = "brokers",                                                                              \
   .type = TOWER_OPT_STRINGS,                                                                      \
   .default_value = "localhost:9092",                                                              \
   .help = "bootstrap brokers, host:port"},                                                        \
      {.name = "client_id",                                                                        \
       .type = TOWER_OPT_STRING,                                                                   \
       .default_value = "tower",                                                                   \
       .help = "client.id sent to the brokers"},                                                   \
      {.name = "enable_tls",                                                                       \
       .type = TOWER_OPT_BOOL,                                                                     \
       .default_value = "false",                                                                   \
       .help = "connect with TLS (implied by tls_ca/tls_cert)"},                                   \
      {.name = "tls_ca", .type = TOWER_OPT_STRING, .help = "CA certificates (PEM file)"},          \
      {.name = "tls_cert", .type = TOWER_OPT_STRING, .help = "client certificate (PEM file)"},     \
      {.name = "tls_key", .type = TOWER_OPT_STRING, .help = "client key (PEM file)"},              \
      {.name = "tls_key_password",                                                                 \
       .type = TOWER_OPT_STRING,                                                                   \
       .flags = TOWER_OPT_SECRET,                                                                  \
       .help = "password of tls_key"},                                                             \
      {.name = "insecure_skip_verify",                                                             \
       .type = TOWER_OPT_BOOL,                                                                     \
       .default_value = "false",                                                                   \
       .help = "do not verify the brokers' certificates and host names (tests only)"},             \
      {.name = "sasl_mechanism",                                                                   \
       .type = TOWER_OPT_ENUM,                                                                     \
       .default_value = "none",                                                                    \
       .choices = "none|PLAIN|SCRAM-SHA-256|SCRAM-SHA-512|GSSAPI|OAUTHBEARER",                     \
       .help = "SASL authentication"},                                                             \
      {.name = "sasl_username", .type = TOWER_OPT_STRING, .help = "SASL user name"},               \
      {.name = "sasl_password",                                                                    \
       .type = TOWER_OPT_STRING,                                                                   \
       .flags = TOWER_OPT_SECRET,                                                                  \
       .help = "SASL password"},                                                                   \
  {                                                                                                \
    .name = "librdkafka", .type = TOWER_OPT_TABLE,                                                 \
    .help = "any other librdkafka property, passed through (they win over the options above); "    \
            "write dots as underscores: session_timeout_ms = \"10000\""                            \
  }

/* Sets one property; on failure reports librdkafka's reason at the option's
 * file:line (`key`, NULL: the block) and returns -EINVAL. */
int kafka_conf_set(const tower_config *cfg, rd_kafka_conf_t *conf, const char *key,
                   const char *property, const char *value);

/* A librdkafka configuration from the common options, with librdkafka's logs
 * and errors sent to tower's log for instance `ctx` (the conf's opaque is
 * ctx). NULL after reporting what is wrong. The caller owns the result
 * (rd_kafka_new() takes it over, else rd_kafka_conf_destroy()). */
rd_kafka_conf_t *kafka_conf_new(tower_ctx *ctx, const tower_config *cfg);

/* What the callbacks kafka_conf_new() installs do, for a plugin that sets
 * its own opaque (a consumer's rebalance callback needs its state) and so
 * installs log and error callbacks of its own: a librdkafka log line
 * (syslog level) or client error, to tower's log for instance `ctx`. */
void kafka_log(tower_ctx *ctx, int level, const char *fac, const char *msg);
void kafka_error(tower_ctx *ctx, int err, const char *reason);

/* The value the `librdkafka` option gives for `property` (dotted name; the
 * entry may be written with underscores for dots), or NULL. */
const char *kafka_passthrough(const tower_config *cfg, const char *property);

/* For --config-check (kafka_conf_new() calls it in check mode): the TLS
 * files librdkafka would load (tls_ca, tls_cert, tls_key, or their
 * `librdkafka` passthrough entries) are readable PEM of the right kind (a
 * CA may be a directory). 0 or -EINVAL, every bad file logged at its
 * option. */
int kafka_check_tls_files(const tower_config *cfg);

/* "a:9092,b:9092" from the brokers option, into buf. */
const char *kafka_brokers(const tower_config *cfg, char *buf, size_t size);

#endif
