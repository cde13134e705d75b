#!/bin/sh
# inputs.x509_cert end to end with the real tower binary: a PKI made with the
# openssl command (tests/plugins/x509/pki.sh), an `openssl s_server` serving
# a leaf + intermediate + root chain, the SMTP STARTTLS test peer, PEM files
# and a dead port; `tower --test` must print every certificate with
# Telegraf's tags and fields and name the dead source on stderr, and a bad
# source must be rejected with file:line.
# Nothing is skipped: a missing openssl is a failure.
. "$top_srcdir/tests/integration/lib.sh"

command -v openssl >/dev/null 2>&1 || {
  echo "FAIL: openssl is missing: apt-get install openssl (scripts/test installs it)"
  exit 1
}
"$TOWER" plugins 2>/dev/null | grep -q '^input  *x509_cert ' \
  || { echo "FAIL: inputs.x509_cert is not built (tower plugins does not list it)"; exit 1; }

mkdir "$work/pki"
sh "$top_srcdir/tests/plugins/x509/pki.sh" "$work/pki" >"$work/pki.log" 2>&1 \
  || { echo "FAIL: making the PKI: $(tail -5 "$work/pki.log")"; exit 1; }

# start_peer NAME COMMAND...: runs a peer that prints "ACCEPT 127.0.0.1:PORT";
# sets $port
start_peer() {
  name=$1; shift
  "$@" </dev/null >"$work/$name.out" 2>&1 &
  pids="$pids $!"
  wait_for 10 grep -q '^ACCEPT ' "$work/$name.out" || { fail "$name did not start: $(cat "$work/$name.out")"; finish; }
  port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/$name.out")
}

p=$work/pki
start_peer s_server openssl s_server -www -accept 127.0.0.1:0 -cert "$p/leaf.pem" -key "$p/leaf.key" \
  -cert_chain "$p/chain.pem"
https=$port
start_peer smtp "$top_builddir/tests/plugins/x509/smtp_starttls" "$p/full.pem" "$p/leaf.key"
smtp=$port
# a port nobody listens on: bind, note, release
dead=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/s_server.out")
dead=$((dead + 1))
while grep -qi ":$(printf '%04X' "$dead") " /proc/net/tcp 2>/dev/null; do dead=$((dead + 1)); done

mkdir "$work/files"
cp "$p/full.pem" "$work/files/chain.pem"
cp "$p/expired.pem" "$work/files/old.pem"
cat > "$work/tower.conf" <<CONF
agent = { omit_hostname = true; };
inputs = (
  { plugin = "x509_cert";
    sources = ["https://localhost:$https", "smtp://127.0.0.1:$smtp", "$work/files/*.pem",
               "tcp://127.0.0.1:$dead"];
    tls_ca = "$p/root.pem"; timeout = "3s"; }
);
CONF
"$TOWER" --test --config "$work/tower.conf" >"$work/test.out" 2>"$work/test.err"
check "tower --test prints 3 + 3 + 3 + 1 certificates" test "$(lines "$work/test.out")" -eq 10 \
  || cat "$work/test.out" "$work/test.err"

leaf="x509_cert,common_name=localhost,country=KR,issuer_common_name=Tower\\ Test\\ Intermediate\\ CA,"
leaf="${leaf}issuer_serial_number=INT-42,locality=Mapo,organization=Tower\\ Test,organizational_unit=Web,"
leaf="${leaf}province=Seoul,public_key_algorithm=RSA,san=localhost\\,127.0.0.1,serial_number=a1b2c3d4e5f,"
leaf="${leaf}signature_algorithm=ECDSA-SHA256"
for src in "https://localhost:$https" "smtp://127.0.0.1:$smtp" "file://$work/files/chain.pem"; do
  line=$(grep -F "$leaf,source=$src,type=leaf,verification=valid " "$work/test.out")
  check "leaf from $src: tags" test -n "$line"
  for f in enddate=4102444799i startdate=1704067200i public_key_length=2048u verification_code=0i; do
    case "$line" in *" $f"* | *",$f"*) ;; *) fail "leaf from $src: no $f in: $line" ;; esac
  done
  grep -F "source=$src,type=intermediate,verification=valid" "$work/test.out" | grep -q 'public_key_algorithm=ECDSA' \
    && ok "intermediate from $src" || fail "intermediate from $src"
  grep -F "source=$src,type=root,verification=valid" "$work/test.out" | grep -q 'serial_number=1001' \
    && ok "root from $src" || fail "root from $src"
done
grep -F "source=file://$work/files/old.pem,type=leaf,verification=invalid" "$work/test.out" \
  | grep -q 'expiry=-[0-9]*i.*verification_code=1i,verification_error="unable to get local issuer certificate"' \
  && ok "expired file without its chain: invalid" || fail "expired file: $(grep old.pem "$work/test.out")"
check "the dead source is named on stderr" grep -q \
  "cannot get certificates from tcp://127.0.0.1:$dead: connect to 127.0.0.1 port $dead failed: Connection refused" \
  "$work/test.err"

# Stopping the daemon abandons a handshake in progress: a peer that accepts
# and never answers, a 60s timeout, and SIGTERM must still end tower quickly.
start_peer silent "$top_builddir/tests/plugins/x509/smtp_starttls" "$p/full.pem" "$p/leaf.key" silent
cat > "$work/daemon.conf" <<CONF
agent = { omit_hostname = true; interval = "1s"; round_interval = false; flush_interval = "1h"; };
inputs = ( { plugin = "x509_cert"; sources = ["tcp://127.0.0.1:$port"]; timeout = "60s"; } );
outputs = ( { plugin = "record"; path = "$work/daemon.lp"; } );
CONF
start_tower "$work/daemon.conf" "$work/daemon.log"
# the first gather (within 1s) connects, then waits for the handshake
wait_for 5 grep -qi ":$(printf '%04X' "$port") .* 01 " /proc/net/tcp \
  || fail "tower did not connect to the silent peer"
stop_tower TERM
check "SIGTERM during a handshake: tower exits 0 (rc=$trc)" test "$trc" -eq 0
check "SIGTERM during a handshake: stopped in ${tsecs}ms (< 3000)" test "$tsecs" -lt 3000
grep -q "cannot get certificates" "$work/daemon.log" \
  && fail "an abandoned source was reported as an error: $(cat "$work/daemon.log")" \
  || ok "an abandoned source is not an error"

# A bad source is a configuration error with file:line.
cat > "$work/bad.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "x509_cert";
  sources = ["udp://127.0.0.1:4433"]; } );
CONF
"$TOWER" --test --config "$work/bad.conf" >"$work/bad.out" 2>&1 \
  && fail "--test accepted udp://" || ok "--test rejects udp://"
check "the error names file:line and what to do" grep -q "bad.conf:3.*DTLS (udp://).*export the certificates to PEM files" \
  "$work/bad.out"

# sample-config comes from the option table.
"$TOWER" sample-config inputs.x509_cert >"$work/sample.conf" 2>&1
check "sample-config lists sources and timeout" grep -q 'timeout = "5s"' "$work/sample.conf"

finish
