/* inputs.cloudwatch and plugins/common/aws: table tests of the code
 * compiled in directly. Telegraf's names (cw_snake against the names
 * Telegraf's cloudwatch input writes for the same CloudWatch names),
 * dimension filters with wildcards, credential documents from IMDS/ECS
 * (RFC 3339 Expiration) and STS's JSON (epoch seconds), the config file's
 * [profile name] sections, and the classification of CloudWatch's error
 * answers. The plugin itself against a loopback CloudWatch, STS, ECS and
 * IMDS stand-in is tests/integration/cloudwatch.sh. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "cloudwatch.h"
#include "harness.h"

START_TEST(snake_names) {
  static const char *const cases[][2] = {
      {"CPUUtilization", "cpu_utilization"},
      {"NetworkIn", "network_in"},
      {"StatusCheckFailed_System", "status_check_failed_system"},
      {"InstanceId", "instance_id"},
      {"AutoScalingGroupName", "auto_scaling_group_name"},
      {"AWS/EC2", "aws_ec2"},
      {"AWS/ApplicationELB", "aws_application_elb"},
      {"HTTPCode_Target_5XX_Count", "http_code_target_5xx_count"},
      {"Latency", "latency"},
      {"DBInstanceIdentifier", "db_instance_identifier"},
      {"Custom Space", "custom_space"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *got = cw_snake(cases[i][0]);
    ck_assert_msg(got && !strcmp(got, cases[i][1]), "%s -> %s, want %s", cases[i][0], got,
                  cases[i][1]);
    free(got);
  }
}
END_TEST

START_TEST(dimension_filter) {
  cw_dim dims[] = {{"InstanceId", "i-*"}, {"Env", "prod"}};
  cw_filter f = {.dims = dims, .ndims = 2, .wildcard = true};
  json_t *ok = json_loads("[{\"Name\":\"Env\",\"Value\":\"prod\"},"
                          "{\"Name\":\"InstanceId\",\"Value\":\"i-0abc\"}]",
                          0, NULL);
  json_t *other = json_loads("[{\"Name\":\"Env\",\"Value\":\"prod\"},"
                             "{\"Name\":\"InstanceId\",\"Value\":\"x-0abc\"}]",
                             0, NULL);
  json_t *more = json_loads("[{\"Name\":\"Env\",\"Value\":\"prod\"},"
                            "{\"Name\":\"InstanceId\",\"Value\":\"i-1\"},"
                            "{\"Name\":\"Zone\",\"Value\":\"a\"}]",
                            0, NULL);
  json_t *fewer = json_loads("[{\"Name\":\"InstanceId\",\"Value\":\"i-1\"}]", 0, NULL);
  ck_assert(cw_dims_match(&f, ok));
  ck_assert(!cw_dims_match(&f, other));
  ck_assert(!cw_dims_match(&f, more)); /* exactly the configured dimensions */
  ck_assert(!cw_dims_match(&f, fewer));
  json_decref(ok);
  json_decref(other);
  json_decref(more);
  json_decref(fewer);
}
END_TEST

START_TEST(credential_documents) {
  char err[256];
  aws_creds c = {0};
  json_t *imds = json_loads("{\"Code\":\"Success\",\"AccessKeyId\":\"ASIA1\","
                            "\"SecretAccessKey\":\"s1\",\"Token\":\"t1\","
                            "\"Expiration\":\"2030-01-02T03:04:05Z\"}",
                            0, NULL);
  ck_assert_int_eq(aws_creds_from_json(imds, &c, err, sizeof err), 0);
  ck_assert_str_eq(c.access_key, "ASIA1");
  ck_assert_str_eq(c.token, "t1");
  ck_assert_int_eq(c.expires_ns, 1893553445LL * NS_PER_S);
  /* STS's JSON: SessionToken, Expiration in epoch seconds. */
  json_t *sts = json_loads("{\"AccessKeyId\":\"ASIA2\",\"SecretAccessKey\":\"s2\","
                           "\"SessionToken\":\"t2\",\"Expiration\":1.8935534450E9}",
                           0, NULL);
  ck_assert_int_eq(aws_creds_from_json(sts, &c, err, sizeof err), 0);
  ck_assert_str_eq(c.token, "t2");
  ck_assert_int_eq(c.expires_ns, 1893553445LL * NS_PER_S);
  json_t *half =
      json_loads("{\"AccessKeyId\":\"ASIA3\",\"Token\":\"t\",\"Expiration\":1}", 0, NULL);
  ck_assert_int_eq(aws_creds_from_json(half, &c, err, sizeof err), -EIO);
  ck_assert_msg(strstr(err, "lacks SecretAccessKey"), "%s", err);
  aws_creds_clear(&c);
  json_decref(imds);
  json_decref(sts);
  json_decref(half);
}
END_TEST

START_TEST(config_file_profiles) {
  char *dir = th_tmpdir(), *path = th_fmt("%s/config", dir), err[512];
  ck_assert_int_eq(th_write_file(path, "[default]\nregion = eu-west-1\n"
                                       "aws_access_key_id = AKIDDEF\n"
                                       "aws_secret_access_key = def\n"
                                       "[profile ops]\n"
                                       "aws_access_key_id = AKIDOPS\n"
                                       "aws_secret_access_key = ops\n"),
                   0);
  aws_creds c = {0};
  ck_assert_int_eq(aws_profile_read(path, "ops", &c, err, sizeof err), 0);
  ck_assert_str_eq(c.access_key, "AKIDOPS");
  ck_assert_int_eq(aws_profile_read(path, "default", &c, err, sizeof err), 0);
  ck_assert_str_eq(c.access_key, "AKIDDEF");
  ck_assert_int_eq(aws_profile_read(path, "profile", &c, err, sizeof err), -ESRCH);
  aws_creds_clear(&c);
  th_rmrf(dir);
  free(path);
  free(dir);
}
END_TEST

START_TEST(cloudwatch_errors) {
  static const struct {
    long status;
    const char *body;
    aws_kind kind;
    const char *type;
  } cases[] = {
      {400, "{\"__type\":\"com.amazonaws.cloudwatch#Throttling\",\"message\":\"Rate exceeded\"}",
       AWS_RETRY, "Throttling"},
      {500, "{\"__type\":\"com.amazonaws.cloudwatch#InternalServiceFault\"}", AWS_RETRY,
       "InternalServiceFault"},
      {400, "{\"__type\":\"com.amazon.coral.service#InvalidSignatureException\"}", AWS_AUTH,
       "InvalidSignatureException"},
      {403, "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\"}", AWS_FATAL,
       "AccessDeniedException"},
      {400, "{\"__type\":\"com.amazonaws.cloudwatch#InvalidParameterValue\"}", AWS_FATAL,
       "InvalidParameterValue"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    aws_result r;
    aws_classify(cases[i].status, CURLE_OK, NULL, cases[i].body, strlen(cases[i].body), &r);
    ck_assert_msg(r.kind == cases[i].kind, "case %zu: kind %d", i, (int)r.kind);
    ck_assert_str_eq(r.type, cases[i].type);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("cloudwatch");
  TCase *t = tcase_create("units");
  tcase_add_test(t, snake_names);
  tcase_add_test(t, dimension_filter);
  tcase_add_test(t, credential_documents);
  tcase_add_test(t, config_file_profiles);
  tcase_add_test(t, cloudwatch_errors);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return check_run(suite());
}
