#!/bin/sh
# tower --config-check with the real binary against a table of broken
# configurations: each must exit 1 and print its exact reason (the plugin
# instance, file:line, the option, the path component at fault, what to
# do); a good configuration must pass and acquire nothing (no directory
# made, no command run). Permissions are judged by the kernel for the user
# running the check: the cases that need an unprivileged user run as uid
# 65534 through setpriv when the test runs as root (root may search and
# write anything), else as the user running the test. Also the texts of
# errors that used to lie: "Invalid argument" after a permission error,
# "Success" for a file that cannot be read.
. "$top_srcdir/tests/integration/lib.sh"

chmod 755 "$work" # the unprivileged runs read their configuration here
if [ "$(id -u)" = 0 ]; then
  command -v setpriv >/dev/null 2>&1 || { echo "FAIL: setpriv is missing (util-linux)"; exit 1; }
  as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
  uid=65534
else
  as_user=""
  uid=$(id -u)
fi

built() { "$TOWER" plugins 2>/dev/null | grep -q "^$1  *$2 "; }

# expect NAME RC FRAGMENT [RUNNER...]: tower --config-check on NAME.conf
# (as RUNNER, e.g. setpriv) exits RC and prints FRAGMENT.
expect() {
  name=$1 want=$2 frag=$3
  shift 3
  "$@" "$TOWER" --config "$work/$name.conf" --config-check >"$work/$name.out" 2>&1
  rc=$?
  if [ "$rc" = "$want" ] && { [ -z "$frag" ] || grep -qF -- "$frag" "$work/$name.out"; }; then
    ok "$name"
  else
    fail "$name: exit $rc (want $want), want \"$frag\" in: $(cat "$work/$name.out")"
  fi
}

# conf NAME BLOCK...: NAME.conf with the given input/output blocks (an
# output that is always fine, and an input, are added when missing)
conf() {
  name=$1
  shift
  {
    echo 'agent = { omit_hostname = true; };'
    case "$*" in *inputs*) ;; *) echo 'inputs = ( { plugin = "lines"; lines = ["m v=1i"]; } );' ;; esac
    for b in "$@"; do echo "$b"; done
    case "$*" in *outputs*) ;; *) echo 'outputs = ( { plugin = "record"; path = "/dev/null"; } );' ;; esac
  } >"$work/$name.conf"
}

w=$work

# ---- inputs.exec ------------------------------------------------------------
if built input exec; then
  mkdir -p "$w/app/bin" "$w/locked"
  printf '#!/bin/sh\necho m v=1i\n' >"$w/app/bin/ok.sh"
  chmod 755 "$w/app/bin/ok.sh"
  printf '#!/bin/sh\necho m v=1i\n' >"$w/app/bin/plain.sh" # no x bit
  printf '#!/bin/sh\r\necho m v=1i\r\n' >"$w/app/bin/dos.sh"
  chmod 755 "$w/app/bin/dos.sh"
  cp "$w/app/bin/ok.sh" "$w/locked/ok.sh"
  chmod 000 "$w/locked"
  echo file >"$w/afile"

  conf exec_missing "inputs = ( { plugin = \"exec\"; commands = ([\"$w/opt/app/check.sh\"]); } );"
  expect exec_missing 1 "[inputs.exec] $w/exec_missing.conf:2: commands[0] \"$w/opt/app/check.sh\": $w/opt does not exist; fix the path in commands, or install the program there"
  conf exec_notdir "inputs = ( { plugin = \"exec\"; commands = ([\"$w/afile/bin/check.sh\"]); } );"
  expect exec_notdir 1 "$w/afile is not a directory (it is a regular file)"
  conf exec_plain "inputs = ( { plugin = \"exec\"; commands = ([\"$w/app/bin/plain.sh\"]); } );"
  expect exec_plain 1 "$w/app/bin/plain.sh is not executable by uid $(id -u) (mode 0644, owner "
  grep -qF "make it executable (chmod +x)" "$w/exec_plain.out" && ok "exec_plain says chmod +x" \
    || fail "exec_plain: no chmod hint: $(cat "$w/exec_plain.out")"
  conf exec_path "inputs = ( { plugin = \"exec\"; commands = (\"tower-no-such-command --x\"); } );"
  expect exec_path 1 "commands[0]: 'tower-no-such-command' is not in PATH (/usr/bin:/bin); give the full path" \
    env PATH=/usr/bin:/bin
  conf exec_dos "inputs = ( { plugin = \"exec\"; commands = ([\"$w/app/bin/dos.sh\"]); } );"
  expect exec_dos 1 "the #! line of $w/app/bin/dos.sh ends in a carriage return (Windows line endings)"
  conf exec_locked "inputs = ( { plugin = \"exec\"; commands = ([\"$w/locked/ok.sh\"]); } );"
  expect exec_locked 1 "commands[0] \"$w/locked/ok.sh\": $w/locked is not searchable by uid $uid (mode 0000, owner " $as_user
  if [ "$(id -u)" = 0 ]; then # the kernel lets root search it: so does the check
    expect exec_locked 0 ""
  fi
else
  ok "inputs.exec is not built: its cases are left out"
fi

# ---- outputs.csv ------------------------------------------------------------
if built output csv; then
  mkdir -p "$w/shared"
  chmod 755 "$w/shared" # writable by root only
  conf csv_create "outputs = ( { plugin = \"csv\"; directory = \"$w/shared/csv\"; } );"
  expect csv_create 1 "[outputs.csv] $w/csv_create.conf:3: directory $w/shared/csv cannot be created: $w/shared is not writable by uid $uid (mode 0755, owner " $as_user
  mkdir -p "$w/shared/out"
  chmod 555 "$w/shared/out"
  conf csv_use "outputs = ( { plugin = \"csv\"; directory = \"$w/shared/out\"; } );"
  if [ "$(id -u)" = 0 ]; then
    expect csv_use 1 "directory $w/shared/out cannot be used: $w/shared/out is not writable by uid 65534 (mode 0555, owner root" $as_user
  else
    expect csv_use 1 "directory $w/shared/out cannot be used: $w/shared/out is not writable by uid $uid (mode 0555"
  fi
  conf csv_gone "outputs = ( { plugin = \"csv\"; directory = \"$w/gone\"; create_directory = false; } );"
  expect csv_gone 1 "directory $w/gone cannot be used: $w/gone does not exist; create it or set create_directory = true"
  # the reason is the permission, and no "(Invalid argument)" contradicts it
  grep -qF "[outputs.csv] initialization failed; fix the error above" "$w/csv_create.out" \
    && ! grep -q "Invalid argument" "$w/csv_create.out" \
    && ok "no \"Invalid argument\" after a permission error" \
    || fail "init-failed line: $(cat "$w/csv_create.out")"
else
  ok "outputs.csv is not built: its cases are left out"
fi

# ---- TLS files --------------------------------------------------------------
command -v openssl >/dev/null 2>&1 || { fail "openssl is missing: apt-get install openssl"; finish; }
(cd "$w" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout key.pem -out cert.pem && \
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=other -keyout other.key -out other.pem) >"$w/openssl.log" 2>&1 \
  || { fail "openssl: $(cat "$w/openssl.log")"; finish; }

if built input x509_cert; then
  conf x509_ca "inputs = ( { plugin = \"x509_cert\"; sources = [\"$w/cert.pem\"]; tls_ca = \"$w/pki/ca.pem\"; } );"
  expect x509_ca 1 "[inputs.x509_cert] $w/x509_ca.conf:2: tls_ca \"$w/pki/ca.pem\": $w/pki does not exist; fix the path"
  conf x509_key "inputs = ( { plugin = \"x509_cert\"; sources = [\"$w/cert.pem\"]; tls_cert = \"$w/key.pem\"; tls_key = \"$w/key.pem\"; } );"
  expect x509_key 1 "tls_cert \"$w/key.pem\": $w/key.pem: it holds a private key but no certificate"
  conf x509_source "inputs = ( { plugin = \"x509_cert\"; sources = [\"$w/missing.pem\", \"tcp://127.0.0.1:1\"]; } );"
  expect x509_source 1 "source \"$w/missing.pem\": $w/missing.pem does not exist; fix the path"
fi
if built output prometheus; then
  conf prom_pair "outputs = ( { plugin = \"prometheus\"; listen = \"127.0.0.1:0\"; tls_cert = \"$w/cert.pem\"; tls_key = \"$w/other.key\"; } );"
  expect prom_pair 1 "[outputs.prometheus] $w/prom_pair.conf:3: tls_cert \"$w/cert.pem\" and tls_key \"$w/other.key\": "
  conf prom_ca "outputs = ( { plugin = \"prometheus\"; listen = \"127.0.0.1:0\"; tls_cert = \"$w/cert.pem\"; tls_key = \"$w/key.pem\"; tls_allowed_cacerts = [\"$w/ca.pem\"]; } );"
  expect prom_ca 1 "tls_allowed_cacerts \"$w/ca.pem\": $w/ca.pem does not exist; fix the path"
fi
if built output kafka; then
  conf kafka_ca "outputs = ( { plugin = \"kafka\"; brokers = [\"127.0.0.1:1\"]; topic = \"t\"; tls_ca = \"$w/key.pem\"; } );"
  expect kafka_ca 1 "[outputs.kafka] $w/kafka_ca.conf:3: tls_ca \"$w/key.pem\": $w/key.pem: it holds a private key but no certificate (PRIVATE KEY block); give a PEM file of certificates"
  # A check starts no producer: nothing connects to the (closed) broker port.
  conf kafka_quiet "outputs = ( { plugin = \"kafka\"; brokers = [\"127.0.0.1:1\"]; topic = \"t\"; } );"
  expect kafka_quiet 0 ""
  grep -q "Connect to\|brokers are down" "$work/kafka_quiet.out" \
    && fail "the kafka output connected during --config-check: $(cat "$work/kafka_quiet.out")" \
    || ok "the kafka output started no producer under --config-check"
fi

# ---- inputs.docker ----------------------------------------------------------
if built input docker; then
  conf docker_sock "inputs = ( { plugin = \"docker\"; endpoint = \"unix://$w/docker.sock\"; } );"
  # a daemon that does not run (yet) is a warning: the input recovers
  expect docker_sock 0 "W! [inputs.docker] endpoint unix://$w/docker.sock: $w/docker.sock does not exist; is the Docker daemon running?"
  conf docker_tls "inputs = ( { plugin = \"docker\"; endpoint = \"tcp://127.0.0.1:1\"; tls_ca = \"$w/cert.pem\"; tls_cert = \"$w/cert.pem\"; tls_key = \"$w/gone.key\"; } );"
  expect docker_tls 1 "tls_key \"$w/gone.key\": $w/gone.key does not exist; fix the path"
fi

# ---- a good configuration passes and acquires nothing -----------------------
good_inputs='inputs = ( { plugin = "lines"; lines = ["m v=1i"]; }'
built input exec && good_inputs="$good_inputs, { plugin = \"exec\"; commands = ([\"/bin/touch\", \"$w/ran\"], [\"$w/app/bin/ok.sh\"]); }"
good_outputs='outputs = ( { plugin = "record"; path = "/dev/null"; }'
built output csv && good_outputs="$good_outputs, { plugin = \"csv\"; directory = \"$w/new/csv\"; }"
built output prometheus && good_outputs="$good_outputs, { plugin = \"prometheus\"; listen = \"127.0.0.1:0\"; tls_cert = \"$w/cert.pem\"; tls_key = \"$w/key.pem\"; tls_allowed_cacerts = [\"$w/other.pem\"]; }"
conf good "$good_inputs );" "$good_outputs );"
expect good 0 ""
[ ! -e "$w/ran" ] && [ ! -e "$w/new" ] && ok "the check ran no command and made no directory" \
  || fail "the check acquired something: $(ls "$w")"

# ---- errno texts ------------------------------------------------------------
"$TOWER" --config "$w" --config-check >"$w/dir.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -qF "$w: the file is a directory; give a regular file" "$w/dir.out" \
  && ok "a directory as the configuration: says so" || fail "directory: exit $rc: $(cat "$w/dir.out")"
cp "$w/good.conf" "$w/secret.conf"
chmod 600 "$w/secret.conf"
if [ "$(id -u)" = 0 ]; then
  $as_user "$TOWER" --config "$w/secret.conf" --config-check >"$w/secret.out" 2>&1
  rc=$?
  [ $rc = 1 ] && grep -qF "$w/secret.conf: cannot read the file: Permission denied" "$w/secret.out" \
    && ok "an unreadable configuration: Permission denied" || fail "unreadable: exit $rc: $(cat "$w/secret.out")"
fi
conf init_fail 'inputs = ( { plugin = "lines"; lines = ["m v=1"]; init_fail = true; } );'
expect init_fail 1 "[inputs.lines] initialization failed; fix the error above"
lies=$(grep -lE "Invalid argument|: Success" "$w"/*.out)
[ -z "$lies" ] && ok "no \"Invalid argument\" or \"Success\" in any message" \
  || fail "lying errno texts in: $lies"

chmod 755 "$w/locked" 2>/dev/null
finish
