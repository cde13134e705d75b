#!/bin/sh
# outputs.health end to end: the real tower daemon writes to a file output
# while curl asks the health output. Removing the file's directory makes
# every write fail: /health must turn 503 with the failed checks (and the
# output) in its JSON body, then 200 again once the directory is back and a
# write succeeds. Also /ready, basic auth, 404 and 405. Nothing is skipped:
# a missing curl is a failure.
. "$top_srcdir/tests/integration/lib.sh"

command -v curl >/dev/null 2>&1 || {
  echo "FAIL: curl is missing: apt-get install curl (scripts/test installs it)"
  exit 1
}

mkdir "$work/out"
cat > "$work/tower.conf" <<EOF
agent = { interval = "100ms"; flush_interval = "100ms"; omit_hostname = true; };
inputs = ( { plugin = "lines"; lines = ["m v=1i"]; } );
outputs = (
  { plugin = "file"; files = ["$work/out/m.out"]; },
  { plugin = "health"; service_address = "http://127.0.0.1:0"; namepass = ["none"];
    max_failed_writes = 2; max_write_age = "1s"; max_buffer_fill = 0.9; },
  { plugin = "health"; alias = "auth"; service_address = "127.0.0.1:0"; namepass = ["none"];
    basic_username = "probe"; basic_password = "s3cret"; },
  { plugin = "health"; alias = "cmp"; service_address = "127.0.0.1:0"; namepass = ["m"];
    compares = ( { field = "v"; lt = 0.5; } ); contains = ( { field = "absent"; } ); },
  { plugin = "health"; alias = "cmpok"; service_address = "127.0.0.1:0"; namepass = ["m"];
    compares = ( { field = "v"; ge = 1.0; le = 1.0; } ); contains = ( { field = "v"; } ); }
);
EOF
start_tower "$work/tower.conf" "$work/tower.log"
port_of() {
  sed -n "s/.*\[outputs.health$1\] serving \/health and \/ready on .* (port \([0-9]*\)).*/\1/p" \
    "$work/tower.log"
}
port=$(port_of ""); aport=$(port_of ":auth"); cport=$(port_of ":cmp"); okport=$(port_of ":cmpok")
[ -n "$port" ] && [ -n "$aport" ] && [ -n "$cport" ] && [ -n "$okport" ] &&
  ok "health serves on ports $port, $aport, $cport and $okport" \
  || { fail "no health port in the log: $(cat "$work/tower.log")"; finish; }

# status PATH [CURL-ARGS...]: prints the HTTP status, the body goes to $work/body
status() { p=$1; shift; curl -s -o "$work/body" -w '%{http_code}' "$@" "http://127.0.0.1:$port$p"; }
is() { [ "$(status "$@")" = "$want" ]; }
body_has() { grep -q "$1" "$work/body"; }

want=200
check "/ready answers 200 once every plugin started" wait_for 5 is /ready
check "/ready says pass" body_has '"status":"pass","check":"ready","inputs":1,"outputs":5'
check "/health answers 200 while the file output writes" is /health
check "/health body says pass" body_has '"status":"pass","check":"health".*"failures":\[\]'
check "/ answers as /health (Telegraf answers on any path)" is /
want=404; check "another path is 404" is /metrics
want=405; check "POST is 405" is /health -X POST

# The directory goes: every write of the file output fails.
wait_for 5 has_lines "$work/out/m.out" 2
rm -rf "$work/out"
want=503
check "/health turns 503 when the output fails" wait_for 10 is /health
check "the body says fail" body_has '"status":"fail"'
# health_has PATTERN: a fresh /health body matches
health_has() { status /health >/dev/null; body_has "$1"; }
check "the body names the check, the output and what happened" wait_for 10 health_has \
  '"check":"max_failed_writes","plugin":"outputs.file","message":"its last [0-9]* writes failed'
check "max_write_age fails too once the output has not written for 1s" wait_for 10 health_has \
  '"check":"max_write_age","plugin":"outputs.file","message":"no successful write for'
echo "the 503 body: $(cat "$work/body")"
want=200
check "/ready stays 200 (everything runs)" is /ready

# The directory comes back: the next retry writes, and health recovers.
mkdir "$work/out"
check "/health recovers to 200 after a good write" wait_for 20 is /health
check "the kept metrics were written" has_lines "$work/out/m.out" 1

# basic auth on the second instance
astatus() { curl -s -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$aport/health"; }
check "basic auth: no credentials is 401" [ "$(astatus)" = 401 ]
check "basic auth: wrong password is 401" [ "$(astatus -u probe:wrong)" = 401 ]
check "basic auth: right credentials is 200" [ "$(astatus -u probe:s3cret)" = 200 ]

# Telegraf's compares and contains, on the metrics given to the output
# cbody PORT: the /health body and status of one instance
cbody() { curl -s -w ' %{http_code}' "http://127.0.0.1:$1/health"; }
cmp_fails() {
  cbody "$cport" | grep -q '"check":"compares","field":"v","message":"m: v = 1 is not < 0.5"},{"check":"contains","field":"absent","message":"no metric of the last batch has the field absent"}\]} 503'
}
cmp_passes() { cbody "$okport" | grep -q '"failures":\[\]} 200'; }
check "compares and contains that fail give 503 with both failures" wait_for 5 cmp_fails
check "compares and contains that hold give 200" wait_for 5 cmp_passes
echo "compares body: $(cbody "$cport")"

stop_tower TERM
check "tower exits 0 on SIGTERM" [ "$trc" = 0 ]

# /ready: a service input that fails to start keeps the agent unready (it
# runs again only after a reload), while /health stays 200.
cat > "$work/unready.conf" <<EOF
agent = { interval = "100ms"; flush_interval = "100ms"; omit_hostname = true; };
inputs = ( { plugin = "lines"; lines = ["m v=1i"]; },
           { plugin = "ticker"; start_fail = "quiet"; } );
outputs = ( { plugin = "health"; service_address = "127.0.0.1:0"; } );
EOF
: > "$work/tower.log"
start_tower "$work/unready.conf" "$work/tower.log"
port=$(port_of "")
want=503
check "/ready is 503 while an input did not start" is /ready
check "the body names the input" body_has \
  '"check":"started","plugin":"inputs.ticker","message":"the input has not started'
echo "the /ready body: $(cat "$work/body")"
want=200
check "/health stays 200" is /health
stop_tower TERM
finish
