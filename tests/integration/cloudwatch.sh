#!/bin/sh
# inputs.cloudwatch and plugins/common/aws, through the real tower binary,
# against tests/fixtures/aws/aws_fixture.py: no CloudWatch, STS, ECS or EC2
# metadata server runs here, so that loopback stand-in implements them as
# AWS documents them and verifies the SigV4 signature of every signed
# request (its verifier is first checked against the published
# aws-sig-v4-test-suite vectors). Covered: wildcards through paged
# ListMetrics, GetMetricData batches and PartialData pages, throttling
# retried, Telegraf's names, a wrong secret refused, and every temporary
# credential source of the chain (web identity, AssumeRole on static keys,
# ECS, IMDSv2), also under inputs.dynamodb; then the daemon, whose windows
# write each datapoint once.
. "$top_srcdir/tests/integration/lib.sh"

PYTHON=${PYTHON:-python3}
FX="$top_srcdir/tests/fixtures/aws/aws_fixture.py"
command -v "$PYTHON" >/dev/null || { echo "FAIL: $PYTHON is missing: apt-get install python3"; exit 1; }

"$PYTHON" "$FX" --self-test > "$work/self.out" 2>&1 \
  && ok "the fixture's SigV4 verifier passes get-vanilla and post-vanilla" \
  || fail "SigV4 verifier: $(cat "$work/self.out")"

# No credential from the machine running the tests leaks in.
for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION \
    AWS_DEFAULT_REGION AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_SESSION_NAME \
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
    AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \
    AWS_EC2_METADATA_SERVICE_ENDPOINT AWS_ENDPOINT_URL_STS; do unset "$v"; done
export AWS_SHARED_CREDENTIALS_FILE="$work/none" AWS_CONFIG_FILE="$work/none"
export AWS_EC2_METADATA_DISABLED=true

cat > "$work/data.json" <<'JSON'
{"region": "us-east-1", "list_page_size": 1, "data_page_size": 2, "throttle": 2, "sts_ttl": 120,
 "metrics": [
  {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
   "Dimensions": [{"Name": "InstanceId", "Value": "i-0001"}],
   "values": {"Average": 42.5, "Maximum": 97, "Minimum": 3, "SampleCount": 5, "Sum": 212.5}},
  {"Namespace": "AWS/EC2", "MetricName": "NetworkIn",
   "Dimensions": [{"Name": "InstanceId", "Value": "i-0001"}],
   "values": {"Average": 1000, "Maximum": 2000, "Minimum": 0, "SampleCount": 5, "Sum": 5000}},
  {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
   "Dimensions": [{"Name": "InstanceId", "Value": "i-0002"}],
   "values": {"Average": 7.25, "Maximum": 9, "Minimum": 1, "SampleCount": 5, "Sum": 36.25}},
  {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
   "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "api"}],
   "values": {"Average": 1, "Maximum": 1, "Minimum": 1, "SampleCount": 1, "Sum": 1}},
  {"Namespace": "AWS/EC2", "MetricName": "StatusCheckFailed",
   "Dimensions": [{"Name": "InstanceId", "Value": "x-0003"}],
   "values": {"Average": 0, "Maximum": 1, "Minimum": 0, "SampleCount": 5, "Sum": 1}}
 ]}
JSON

"$PYTHON" "$FX" --port-file "$work/port" --log "$work/fx.log" --data "$work/data.json" \
  > "$work/fx.out" 2>&1 &
pids="$pids $!"
wait_for 10 test -s "$work/port" || { fail "the fixture did not start: $(cat "$work/fx.out")"; finish; }
port=$(cat "$work/port")
EP="http://127.0.0.1:$port"
KEYS='access_key = "AKIDSTATIC"; secret_key = "static-secret";'
WILD='metrics = ( { names = ["CPUUtilization", "NetworkIn"];
                    dimensions = ( { name = "InstanceId"; value = "i-*"; } ); } );'

# run NAME OPTIONS: one gather (tower --test) into $work/NAME.lp and .err;
# the fixture's log of that run in $work/NAME.fx.
run() {
  : > "$work/fx.log"
  cat > "$work/$1.conf" <<CONF
agent = { interval = "60s"; };
inputs = ( { plugin = "cloudwatch"; region = "us-east-1"; endpoint_url = "$EP";
             namespaces = ["AWS/EC2"]; period = "60s"; delay = "0s"; $2 } );
outputs = ( { plugin = "file"; files = ["stdout"]; } );
CONF
  "$TOWER" --config "$work/$1.conf" --test > "$work/$1.lp" 2> "$work/$1.err"
  cp "$work/fx.log" "$work/$1.fx"
}
count() { grep -c "$2" "$work/$1.fx"; }

# ---- wildcards, pages, batches, throttling, names ----
run wild "$KEYS batch_size = 3; statistic_include = [\"average\", \"maximum\"]; $WILD"
grep -q '^cloudwatch_aws_ec2,.*instance_id=i-0001,region=us-east-1 cpu_utilization_average=42.5,cpu_utilization_maximum=97,network_in_average=1000,network_in_maximum=2000 ' \
  "$work/wild.lp" && ok "i-0001: CPU and network fields in one metric, Telegraf's names" \
  || fail "no i-0001 metric: $(cat "$work/wild.lp" "$work/wild.err")"
grep -q 'instance_id=i-0002,region=us-east-1 cpu_utilization_average=7.25,cpu_utilization_maximum=9 ' \
  "$work/wild.lp" && ok "i-0002 found through the wildcard" || fail "no i-0002: $(cat "$work/wild.lp")"
[ "$(lines "$work/wild.lp")" -eq 2 ] && ok "x-0003 and the AutoScalingGroupName metric left out" \
  || fail "want 2 metrics: $(cat "$work/wild.lp")"
ts=$(awk '{print $NF}' "$work/wild.lp" | sort -u)
[ "$(echo "$ts" | wc -l)" -eq 1 ] && [ $((ts % 60000000000)) -eq 0 ] \
  && ok "one timestamp, on a period boundary" || fail "timestamps: $ts"
[ "$(count wild '"op": "ListMetrics"')" -ge 3 ] && ok "ListMetrics followed NextToken pages" \
  || fail "ListMetrics: $(cat "$work/wild.fx")"
[ "$(count wild '"throttled": true')" -eq 2 ] && grep -q '"op": "GetMetricData".*"status": 200' "$work/wild.fx" \
  && ok "two Throttling answers retried" || fail "throttling: $(cat "$work/wild.fx")"
grep '"op": "GetMetricData"' "$work/wild.fx" | grep -q '"queries": [4-9]' \
  && fail "a batch over batch_size = 3" || ok "no GetMetricData batch over batch_size"
[ "$(grep '"op": "GetMetricData"' "$work/wild.fx" | grep -c '"page": "')" -ge 1 ] \
  && ok "PartialData results continued on NextToken pages" || fail "no paging: $(cat "$work/wild.fx")"
grep -v '"sig": "ok"' "$work/wild.fx" | grep -q . \
  && fail "a request failed signature checks: $(cat "$work/wild.fx")" \
  || ok "every request's SigV4 signature verified"

# ---- a whole namespace, one statistic ----
run all "$KEYS statistic_include = [\"sum\"];"
grep -q 'auto_scaling_group_name=api,.*cpu_utilization_sum=1 ' "$work/all.lp" \
  && grep -q 'instance_id=x-0003,.*status_check_failed_sum=1 ' "$work/all.lp" \
  && [ "$(lines "$work/all.lp")" -eq 4 ] && ok "every metric of the namespace, sum only" \
  || fail "namespace: $(cat "$work/all.lp" "$work/all.err")"

# ---- linked accounts, every metric listed (recently_active off) ----
run linked "$KEYS include_linked_accounts = true; recently_active = \"\"; statistic_include = [\"sum\"]; $WILD"
grep -q '"IncludeLinkedAccounts": true' "$work/linked.fx" && ! grep -q RecentlyActive "$work/linked.fx" \
  && grep -q '^cloudwatch_aws_ec2,account=111122223333,.*instance_id=i-0001,' "$work/linked.lp" \
  && ok "include_linked_accounts: the owning account as a tag; recently_active = \"\" lists all" \
  || fail "linked accounts: $(cat "$work/linked.lp" "$work/linked.err" "$work/linked.fx")"

# ---- a profile of the config file, under Telegraf's option names ----
printf '[default]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = x\n' > "$work/creds"
printf '[profile ops]\naws_access_key_id = AKIDSTATIC\naws_secret_access_key = static-secret\n' \
  > "$work/config"
AWS_CONFIG_FILE="$work/config" run prof "profile = \"ops\"; shared_credential_file = \"$work/creds\"; $WILD"
grep -q "AWS credentials: the shared credentials file $work/config, profile \[ops\]" "$work/prof.err" \
  && [ "$(lines "$work/prof.lp")" -eq 2 ] && ok "profile found in the config file's [profile ops]" \
  || fail "profile: $(cat "$work/prof.err" "$work/prof.lp")"

# ---- a wrong secret ----
run bad "access_key = \"AKIDSTATIC\"; secret_key = \"wrong\"; $WILD"
grep -q "refused the credentials from the configuration (access_key).*InvalidSignatureException" \
  "$work/bad.err" && [ "$(lines "$work/bad.lp")" -eq 0 ] \
  && ok "a wrong secret is refused by the verifier and reported" \
  || fail "wrong secret: $(cat "$work/bad.err" "$work/bad.lp")"

# ---- temporary credentials ----
# key_used NAME PREFIX: every CloudWatch request was signed by PREFIX* keys.
key_used() {
  grep -E '"op": "(ListMetrics|GetMetricData)"' "$work/$1.fx" | grep -v "\"key\": \"$2" | grep -q . \
    && return 1
  grep -q "\"key\": \"$2" "$work/$1.fx" && [ "$(lines "$work/$1.lp")" -eq 2 ]
}
echo fixture-oidc-token > "$work/oidc"
AWS_WEB_IDENTITY_TOKEN_FILE="$work/oidc" AWS_ROLE_ARN=arn:aws:iam::111122223333:role/reader \
  AWS_ENDPOINT_URL_STS="$EP" run web "$WILD"
grep -q '"json": true, "key": null, "op": "sts:AssumeRoleWithWebIdentity", "session": "tower-' "$work/web.fx" && key_used web ASIASTS \
  && ok "web identity token exchanged through STS; its keys sign CloudWatch" \
  || fail "web identity: $(cat "$work/web.err" "$work/web.lp" "$work/web.fx")"
echo wrong-token > "$work/oidc"
AWS_WEB_IDENTITY_TOKEN_FILE="$work/oidc" AWS_ROLE_ARN=arn:aws:iam::111122223333:role/reader \
  AWS_ENDPOINT_URL_STS="$EP" run webbad "$WILD"
grep -q "STS AssumeRoleWithWebIdentity for role arn:aws:iam::111122223333:role/reader at .* failed: HTTP 400 InvalidIdentityToken" \
  "$work/webbad.err" && ok "a refused web identity token is reported" \
  || fail "bad token: $(cat "$work/webbad.err")"

AWS_ENDPOINT_URL_STS="$EP" run role "$KEYS role_arn = \"arn:aws:iam::111122223333:role/reader\"; role_session_name = \"it\"; $WILD"
grep -q '"key": "AKIDSTATIC", "op": "sts:AssumeRole", "session": "it", "sig": "ok"' "$work/role.fx" \
  && key_used role ASIASTS && ok "role_arn: AssumeRole signed by the static keys, the role's keys sign CloudWatch" \
  || fail "role_arn: $(cat "$work/role.err" "$work/role.fx")"

AWS_CONTAINER_CREDENTIALS_FULL_URI="$EP/ecs/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN=fixture-ecs-auth \
  run ecs "$WILD"
key_used ecs ASIAECS && ok "ECS container endpoint credentials (with the authorization token)" \
  || fail "ECS: $(cat "$work/ecs.err" "$work/ecs.fx")"

AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$EP" run imds "$WILD"
grep -q '"op": "imds-token"' "$work/imds.fx" && key_used imds ASIAIMDS \
  && ok "IMDSv2: session token, role, instance profile credentials" \
  || fail "IMDS: $(cat "$work/imds.err" "$work/imds.fx")"

# inputs.dynamodb shares the chain: a web identity token signs its scans.
echo fixture-oidc-token > "$work/oidc"
cat > "$work/ddb.conf" <<CONF
inputs = ( { plugin = "dynamodb"; region = "us-east-1"; endpoint_url = "$EP"; tables = ["items"];
             role_arn = "arn:aws:iam::111122223333:role/reader";
             web_identity_token_file = "$work/oidc"; } );
outputs = ( { plugin = "file"; files = ["stdout"]; } );
CONF
: > "$work/fx.log"
AWS_ENDPOINT_URL_STS="$EP" "$TOWER" --config "$work/ddb.conf" --test > "$work/ddb.lp" 2> "$work/ddb.err"
grep -q '"key": "ASIASTS[^"]*", "op": "Scan", "sig": "ok"' "$work/fx.log" && grep -q '^items,.*[ ,]n=1i ' "$work/ddb.lp" \
  && ok "inputs.dynamodb: web_identity_token_file + role_arn, the role's keys sign the scan" \
  || fail "dynamodb web identity: $(cat "$work/ddb.err" "$work/ddb.lp" "$work/fx.log")"

# ---- the daemon: windows on period boundaries, each datapoint once ----
# STS's credentials last 2 minutes here, under the 5 minutes of margin:
# every gather assumes the role again and signs with the new keys.
: > "$work/fx.log"
cat > "$work/daemon.conf" <<CONF
agent = { interval = "1s"; flush_interval = "1s"; };
inputs = ( { plugin = "cloudwatch"; region = "us-east-1"; endpoint_url = "$EP"; $KEYS
             role_arn = "arn:aws:iam::111122223333:role/reader";
             namespaces = ["AWS/EC2"]; period = "1s"; delay = "0s"; ratelimit = 0;
             statistic_include = ["average"]; $WILD } );
outputs = ( { plugin = "file"; files = ["$work/daemon.lp"]; } );
CONF
AWS_ENDPOINT_URL_STS="$EP" start_tower "$work/daemon.conf" "$work/daemon.log"
wait_for 20 has_lines "$work/daemon.lp" 8 || fail "the daemon wrote $(lines "$work/daemon.lp") lines"
stop_tower TERM
keys=$(grep '"op": "GetMetricData"' "$work/fx.log" | grep -o '"key": "ASIASTS[^"]*"' | sort -u | wc -l)
[ "$(grep -c '"op": "sts:AssumeRole"' "$work/fx.log")" -ge 3 ] && [ "$keys" -ge 3 ] \
  && ok "credentials near their expiry are refreshed before the gather ($keys role keys)" \
  || fail "refresh: $keys keys; $(grep sts "$work/fx.log" | head -3)"
[ "$(grep -c '"op": "ListMetrics"' "$work/fx.log")" -eq "$(count wild '"op": "ListMetrics"')" ] \
  && ok "the metric list is listed once and reused (cache_ttl)" \
  || fail "ListMetrics calls in the daemon: $(grep -c ListMetrics "$work/fx.log")"
dups=$(awk '{print $1, $NF}' "$work/daemon.lp" | sort | uniq -d | head -3)
[ -z "$dups" ] && ok "no datapoint written twice over $(lines "$work/daemon.lp") lines" \
  || fail "written twice: $dups"
gaps=$(grep 'i-0002' "$work/daemon.lp" | awk '{print $NF / 1000000000}' | sort -n \
  | awk 'NR > 1 && $1 != prev + 1 {print prev " -> " $1} {prev = $1}')
[ -z "$gaps" ] && ok "consecutive windows leave no gap" || fail "gaps: $gaps"
finish
