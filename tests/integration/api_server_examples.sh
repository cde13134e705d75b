#!/bin/sh
# examples/api-server-on-aws.conf's alert rules: promtool checks them and
# runs their unit tests (examples/prometheus/api-server.rules.test.yml), and
# every series they read is one the example's inputs.cloudwatch produces:
# the example itself runs once against tests/fixtures/aws/aws_fixture.py, a
# loopback CloudWatch stand-in (no CloudWatch server runs here).
. "$top_srcdir/tests/integration/lib.sh"

PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
PYTHON=${PYTHON:-python3}
[ -x "$PROMTOOL" ] || { echo "FAIL: $PROMTOOL is missing: apt-get install prometheus"; exit 1; }
ex="$top_srcdir/examples/prometheus"

"$PROMTOOL" check rules "$ex/api-server.rules.yml" > "$work/check.out" 2>&1 \
  && ok "promtool check rules api-server.rules.yml" || fail "$(cat "$work/check.out")"
(cd "$ex" && "$PROMTOOL" test rules api-server.rules.test.yml) > "$work/test.out" 2>&1 \
  && ok "promtool test rules api-server.rules.test.yml" || fail "$(cat "$work/test.out")"

m() { # m NAME VALUE: one EC2 metric of instance i-0001
  printf '{"Namespace": "AWS/EC2", "MetricName": "%s", "Dimensions": [{"Name": "InstanceId", "Value": "i-0001"}], "values": {"Average": %s, "Maximum": %s, "Minimum": 0, "SampleCount": 5, "Sum": %s}}' \
    "$1" "$2" "$2" "$2"
}
{ echo '{"region": "eu-west-1", "metrics": ['
  m CPUUtilization 93; echo ,; m NetworkIn 0; echo ,; m NetworkOut 7000; echo ,
  m StatusCheckFailed 1; echo ']}'; } > "$work/data.json"
"$PYTHON" "$top_srcdir/tests/fixtures/aws/aws_fixture.py" --port-file "$work/port" \
  --log "$work/fx.log" --data "$work/data.json" > "$work/fx.out" 2>&1 &
pids="$pids $!"
wait_for 10 test -s "$work/port" || { fail "the fixture did not start: $(cat "$work/fx.out")"; finish; }
ep="http://127.0.0.1:$(cat "$work/port")"

# DynamoDB's requests reach the same stand-in, which refuses them: the
# tables are not what these rules read.
env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=AKIDSTATIC AWS_SECRET_ACCESS_KEY=static-secret \
  AWS_REGION=eu-west-1 API_SERVER_INSTANCE_ID=i-0001 CLOUDWATCH_ENDPOINT_URL="$ep" \
  DYNAMODB_ENDPOINT_URL="$ep" TOWER_PROMETHEUS_LISTEN=127.0.0.1:0 \
  "$TOWER" --config "$top_srcdir/examples/api-server-on-aws.conf" --test > "$work/test.lp" 2> "$work/test.err"
for f in cpu_utilization_average=93 network_in_sum=0 network_out_sum=7000 \
    status_check_failed_maximum=1; do
  grep -q "^cloudwatch_aws_ec2,.*instance_id=i-0001,.*region=eu-west-1 .*\\b$f\\b" "$work/test.lp" \
    && ok "the example exposes cloudwatch_aws_ec2_${f%=*}" \
    || fail "no ${f%=*} in: $(cat "$work/test.lp" "$work/test.err")"
done
finish
