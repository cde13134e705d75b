#!/bin/sh
# inputs.socket_listener end to end: the real tower daemon listens on TCP,
# UDP, a unix stream socket, a unix datagram socket, TLS with client
# certificates and gzip, into the `record` fixture output (line protocol
# files); independent clients send to it:
#
#   1. nc (netcat-openbsd) and socat over tcp, udp, unix and unixgram;
#      openssl s_client and socat with a client certificate over TLS, and
#      without one (refused, logged); gzip -c piped through nc;
#   2. a line longer than max_line_size between good lines: only it is
#      dropped, the connection goes on;
#   3. 200 nc clients connected at once, each holding its connection;
#   4. SIGHUP with the TCP listener's block changed but the same port (the
#      old instance frees the port before the new one takes it), the
#      others unchanged; SIGTERM removes the unix socket files;
#   5. --config-check catches a TLS key that is not the certificate's and a
#      socket directory that does not exist, without binding anything;
#      --test --test-wait prints what arrives meanwhile.
# Nothing is skipped: a missing nc, socat or openssl is a failure.
. "$top_srcdir/tests/integration/lib.sh"

for tool in nc socat openssl gzip; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing: apt-get install netcat-openbsd socat openssl gzip (scripts/test installs them)"
    exit 1
  }
done
nc -h 2>&1 | grep -q 'OpenBSD netcat' \
  || { echo "FAIL: nc is not netcat-openbsd (-N, -U and -u are used as it has them)"; exit 1; }
"$TOWER" plugins 2>/dev/null | grep -q '^input  *socket_listener ' \
  || { echo "FAIL: inputs.socket_listener is not built (tower plugins does not list it)"; exit 1; }

# ---- TLS material: a CA, a server certificate for 127.0.0.1, a client one,
# and a client certificate from a CA the listener does not trust.
(
  cd "$work" || exit 1
  ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
  openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=it-ca
  openssl req -x509 $ec -keyout rogue.key -out rogue-ca.pem -days 2 -subj /CN=rogue
  printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
  openssl req $ec -keyout server.key -out server.csr -subj /CN=127.0.0.1
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile san.ext
  openssl req $ec -keyout client.key -out client.csr -subj /CN=app
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
  openssl req $ec -keyout rogue-client.key -out rogue-client.csr -subj /CN=rogue
  openssl x509 -req -in rogue-client.csr -CA rogue-ca.pem -CAkey rogue.key -CAcreateserial \
    -out rogue-client.pem -days 2
) >"$work/openssl.log" 2>&1 || { echo "FAIL: openssl: $(cat "$work/openssl.log")"; exit 1; }

# sl ALIAS ADDRESS [OPTIONS]: one listener block
sl() { echo "{ plugin = \"socket_listener\"; alias = \"$1\"; service_address = \"$2\"; ${3:-} }"; }
# conf FILE TCP-EXTRA: the agent with every listener, into $work/out.lp
conf() {
  cat > "$1" <<CONF
agent = { interval = "1s"; flush_interval = "100ms"; omit_hostname = true; shutdown_timeout = "5s"; };
inputs = (
  $(sl tcp tcp://127.0.0.1:${tcp_port:-0} "max_line_size = \"4KiB\"; $2"),
  $(sl udp udp4://127.0.0.1:0),
  $(sl unix "unix://$work/in.sock" 'socket_mode = "660";'),
  $(sl gram "unixgram://$work/gram.sock" 'data_format = "json"; tag_keys = ["app"];'),
  $(sl tls tcp://127.0.0.1:0 "tls_cert = \"$work/server.pem\"; tls_key = \"$work/server.key\";
       tls_allowed_cacerts = [\"$work/ca.pem\"];"),
  $(sl gz tcp://127.0.0.1:0 'content_encoding = "gzip";')
);
outputs = ( { plugin = "record"; path = "$work/out.lp"; } );
CONF
}
# port_of ALIAS LOG: the port a listener logged
port_of() { sed -n "s/.*\[inputs.socket_listener:$1\] listening on [a-z0-9]*:\/\/[^ ]*:\([0-9]*\) .*/\1/p" "$2" | tail -1; }
# arrived PATTERN N: the output has N lines matching PATTERN
count() { if [ -f "$work/out.lp" ]; then grep -c -- "$1" "$work/out.lp"; else echo 0; fi; }
# logged ALIAS LOG: the listener has logged its port (for wait_for, which
# runs its command again; a "$(...)" argument would be expanded only once)
logged() { [ -n "$(port_of "$1" "$2")" ]; }
arrived() { [ "$(count "$1")" -ge "$2" ]; }
expect() { # expect DESCRIPTION PATTERN N
  if wait_for 10 arrived "$2" "$3"; then ok "$1"; else fail "$1: $(count "$2") of $3 ($2)"; fi
}

conf "$work/a.conf" ""
start_tower "$work/a.conf" "$work/a.log"
wait_for 5 logged gz "$work/a.log"
tcp=$(port_of tcp "$work/a.log"); udp=$(port_of udp "$work/a.log")
tls=$(port_of tls "$work/a.log"); gz=$(port_of gz "$work/a.log")
[ -n "$tcp" ] && [ -n "$udp" ] && [ -n "$tls" ] && [ -n "$gz" ] \
  && ok "listening: tcp $tcp, udp $udp, tls $tls, gzip $gz" || { fail "ports: $(cat "$work/a.log")"; finish; }

# ---- 1. every kind of socket, every client -------------------------------
printf 'via,c=nc v=1i 1\nvia,c=nc v=2i 2\nvia,c=nc v=3i 3' | nc -N 127.0.0.1 "$tcp"
expect "nc over tcp: 3 lines, the last without a newline" '^via,c=nc ' 3
printf 'via,c=socat v=1i 1\nvia,c=socat v=2i 2\n' | socat -u - "TCP:127.0.0.1:$tcp"
expect "socat over tcp" '^via,c=socat ' 2
printf 'via,c=ncu v=1i 1\nvia,c=ncu v=2i 2\n' | nc -u -w1 127.0.0.1 "$udp"
expect "nc -u over udp: one datagram, two lines" '^via,c=ncu ' 2
printf 'via,c=socatu v=1i 1\n' | socat -u - "UDP-SENDTO:127.0.0.1:$udp"
expect "socat over udp" '^via,c=socatu ' 1
mode=$(stat -c %a "$work/in.sock")
[ "$mode" = 660 ] && ok "socket_mode 660 on $work/in.sock" || fail "socket mode $mode"
printf 'via,c=ncU v=1i 1\n' | nc -N -U "$work/in.sock"
expect "nc -U over a unix stream socket" '^via,c=ncU ' 1
printf 'via,c=socatU v=1i 1\n' | socat -u - "UNIX-CONNECT:$work/in.sock"
expect "socat over a unix stream socket" '^via,c=socatU ' 1
printf '{"app":"ncuU","v":1}' | nc -uU -w1 "$work/gram.sock" 2>/dev/null
expect "nc -uU over a unix datagram socket (json)" '^socket_listener,app=ncuU v=1 ' 1
printf '{"app":"socatgram","v":2}' | socat -u - "UNIX-SENDTO:$work/gram.sock"
expect "socat over a unix datagram socket (json)" '^socket_listener,app=socatgram v=2 ' 1

cd "$work" || exit 1
printf 'via,c=s_client v=1i 1\nvia,c=s_client v=2i 2\n' \
  | openssl s_client -connect "127.0.0.1:$tls" -quiet -no_ign_eof -CAfile ca.pem \
      -cert client.pem -key client.key > s_client.out 2>&1
expect "openssl s_client with a client certificate over TLS" '^via,c=s_client ' 2
printf 'via,c=socatssl v=1i 1\n' \
  | socat -u - "OPENSSL:127.0.0.1:$tls,cafile=ca.pem,cert=client.pem,key=client.key" 2> socat.err
expect "socat with a client certificate over TLS" '^via,c=socatssl ' 1
printf 'via,c=nocert v=1i 1\n' \
  | openssl s_client -connect "127.0.0.1:$tls" -quiet -no_ign_eof -CAfile ca.pem > nocert.out 2>&1
printf 'via,c=rogue v=1i 1\n' \
  | openssl s_client -connect "127.0.0.1:$tls" -quiet -no_ign_eof -CAfile ca.pem \
      -cert rogue-client.pem -key rogue-client.key > rogue.out 2>&1
cd - >/dev/null || exit 1
wait_for 5 grep -q 'does not verify against tls_allowed_cacerts' "$work/a.log" \
  && ok "a certificate from another CA is refused: $(grep -o 'TLS handshake with .* does not verify[^(]*' "$work/a.log" | head -1)" \
  || fail "rogue certificate: $(grep -E 'E!|W!' "$work/a.log")"
grep -q 'the client sent no certificate, and tls_allowed_cacerts requires one' "$work/a.log" \
  && ok "a client without certificate is refused" || fail "no certificate: $(grep -E 'E!' "$work/a.log")"
[ "$(count 'c=nocert\|c=rogue')" = 0 ] && ok "nothing from refused TLS clients arrived" \
  || fail "refused clients got through"

seq 1 500 | awk '{ printf "gz,n=%d v=%di %d\n", $1, $1, $1 }' > "$work/gz.txt"
gzip -c "$work/gz.txt" > "$work/gz1.gz"
nc -N 127.0.0.1 "$gz" < "$work/gz1.gz"
expect "gzip -c | nc: 500 lines inflated" '^gz,n=' 500
printf 'not gzip at all\n' | nc -N 127.0.0.1 "$gz"
wait_for 5 grep -q 'corrupt gzip data' "$work/a.log" && ok "plain text to the gzip listener: logged" \
  || fail "corrupt gzip not logged"

# ---- 2. a line longer than max_line_size (4 KiB) -------------------------
{
  printf 'long,at=before v=1i 1\n'
  awk 'BEGIN { s = ""; for (i = 0; i < 100000; i++) s = s "x"; printf "long,at=huge s=\"%s\" 2\n", s }'
  printf 'long,at=after v=3i 3\n'
} | nc -N 127.0.0.1 "$tcp"
expect "the lines around a 100 kB line arrive" '^long,at=\(before\|after\) ' 2
[ "$(count 'at=huge')" = 0 ] && ok "the 100 kB line is dropped" || fail "the long line arrived"
grep -q '127.0.0.1:[0-9]*: a line longer than max_line_size (4096 bytes) was skipped' "$work/a.log" \
  && ok "logged: $(grep -o 'a line longer than max_line_size.*skipped' "$work/a.log" | head -1)" \
  || fail "long line not logged: $(grep E! "$work/a.log")"

# ---- 3. 200 clients holding their connections at once --------------------
# Each client holds its connection until $work/release exists, so all 200
# are open at the same time; a bare `wait` would wait for the daemon too.
i=0; clients=""
while [ $i -lt 200 ]; do
  { printf 'many,i=%d v=1i 1\n' "$i"; wait_for 20 test -e "$work/release"; } \
    | nc -N 127.0.0.1 "$tcp" &
  clients="$clients $!"
  i=$((i + 1))
done
expect "200 clients connected at once" '^many,i=' 200
touch "$work/release"
for c in $clients; do wait "$c"; done

# ---- 4. reload: the TCP block changes, its port stays --------------------
tcp_port=$tcp conf "$work/a.conf" 'tags = { reloaded = "yes"; };'
kill -HUP "$tpid"
wait_for 10 grep -q 'inputs.socket_listener:tcp\] listening on tcp://127.0.0.1:'"$tcp" \
  "$work/a.log" && [ "$(grep -c "listening on tcp://127.0.0.1:$tcp " "$work/a.log")" -ge 2 ] \
  && ok "the changed listener took port $tcp again after the reload" \
  || fail "reload: $(grep -E 'E!|W!|listening' "$work/a.log" | tail -5)"
grep -q 'inputs.socket_listener:udp\] unchanged by the reload; kept running' "$work/a.log" \
  && ok "unchanged listeners kept running" || fail "udp listener not kept"
printf 'after,reload=1 v=1i 1\n' | nc -N 127.0.0.1 "$tcp"
expect "the reloaded listener adds its tag" '^after,reload=1,reloaded=yes ' 1
stop_tower TERM
[ "$trc" = 0 ] && ok "SIGTERM: clean exit in ${tsecs}ms" || fail "exit $trc"
[ ! -e "$work/in.sock" ] && [ ! -e "$work/gram.sock" ] && ok "the unix socket files are removed" \
  || fail "socket files left: $(ls "$work"/*.sock 2>/dev/null)"
grep -q 'inputs.socket_listener:tcp\] stopped after [0-9]* connections' "$work/a.log" \
  && ok "stop: $(grep -o 'stopped after [0-9]* connections.*' "$work/a.log" | tail -1)" \
  || fail "no stop line"

# ---- 5. --config-check and --test ----------------------------------------
cat > "$work/bad.conf" <<CONF
inputs = (
  $(sl tls tcp://127.0.0.1:0 "tls_cert = \"$work/server.pem\"; tls_key = \"$work/client.key\";"),
  $(sl unix "unix://$work/missing/dir/in.sock")
);
outputs = ( { plugin = "record"; path = "$work/never.lp"; } );
CONF
"$TOWER" --config-check --config "$work/bad.conf" > "$work/check.out" 2>&1
rc=$?
[ "$rc" != 0 ] && grep -q 'is the key the one of this certificate' "$work/check.out" \
  && ok "--config-check: a key that is not the certificate's" || fail "check rc $rc: $(cat "$work/check.out")"
grep -q "service_address \"unix://$work/missing/dir/in.sock\": cannot create the socket: " "$work/check.out" \
  && ok "--config-check: the socket's directory is missing" || fail "missing dir: $(cat "$work/check.out")"

cat > "$work/t.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( $(sl t tcp://127.0.0.1:0) );
CONF
"$TOWER" --test --test-wait 3s --config "$work/t.conf" > "$work/test.out" 2> "$work/test.log" &
trial=$!
wait_for 5 logged t "$work/test.log"
printf 'trial v=1i 1\n' | nc -N 127.0.0.1 "$(port_of t "$work/test.log")"
wait "$trial"
grep -q '^trial v=1i 1$' "$work/test.out" && ok "--test prints what arrived during --test-wait" \
  || fail "--test: $(cat "$work/test.out" "$work/test.log")"
finish
