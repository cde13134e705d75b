#!/bin/sh
# Configured secrets never reach the log, and the log is printable ASCII,
# whatever a hostile peer sends back. The real tower binary (--once, so
# nothing sleeps) runs against a loopback HTTP peer (python3's http.server)
# that answers every request with 401 and quotes back the credentials it
# received: the decoded Basic password, the raw Authorization header
# (base64), the request path (with the password percent-encoded when
# auth_in_query is set), plus an escape sequence and a C1 control. An exec
# input in the same pipeline prints the password (from tower's environment)
# (or token) on stderr, which the agent relays. The secret reaches tower only
# through ${VAR} in a secret option of outputs.influxdb (`password`,
# `token`).
# Nothing is skipped: a missing python3 or plugin is a failure.
. "$top_srcdir/tests/integration/lib.sh"

command -v python3 >/dev/null 2>&1 \
  || { echo "FAIL: python3 is missing: apt-get install python3"; exit 1; }
for p in 'input  *exec ' 'output  *influxdb '; do
  "$TOWER" plugins 2>/dev/null | grep -q "^$p" \
    || { echo "FAIL: plugin /$p/ is not built (tower plugins does not list it)"; exit 1; }
done

TOWER_IT_PW='S3cr3t p@ss/w%rd-42'
TOWER_IT_TOKEN='tok3n-Sup3rS3cret-v2'
export TOWER_IT_PW TOWER_IT_TOKEN

# ---- the hostile peer -------------------------------------------------------
cat > "$work/peer.py" <<'PY'
import base64, http.server, json, sys

seen = open(sys.argv[2], "a", buffering=1)

class Echo(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        auth = self.headers.get("Authorization") or ""
        user = pw = ""
        if auth.startswith("Basic "):
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        seen.write("%s %s %s|%s\n" % (self.command, self.path, auth, pw))
        msg = ("authorization failed for %s with password %s (Authorization: %s; "
               "request %s %s)\u001b[2J\u009b31m" % (user, pw, auth, self.command, self.path))
        body = json.dumps({"error": msg}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), Echo)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
PY
python3 "$work/peer.py" "$work/port" "$work/seen" 2>"$work/peer.err" &
pids="$pids $!"
wait_for 10 test -s "$work/port" || { fail "the peer did not start: $(cat "$work/peer.err")"; finish; }
url="http://127.0.0.1:$(cat "$work/port")"

# once NAME SECRET OUTPUT-OPTIONS: tower --once with the exec input (which
# prints SECRET on stderr) and an influxdb output to the peer; the log is
# $work/NAME.log
once() {
  TOWER_IT_LEAK=$2
  export TOWER_IT_LEAK
  cat > "$work/$1.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "exec"; timeout = "10s"; ignore_error = true;
  commands = (["/bin/sh", "-c",
    "echo 'm v=1'; echo \"E! login as tower:\$TOWER_IT_LEAK refused\" >&2; printf 'W! \\\\033[2J\\\\302\\\\233 done\\\\n' >&2; echo \"last: \$TOWER_IT_LEAK\" >&2; exit 3"]); } );
outputs = ( { plugin = "influxdb"; urls = ["$url"]; timeout = "10s"; $3 } );
CONF
  "$TOWER" --once --config "$work/$1.conf" > "$work/$1.log" 2>&1
}

# never NAME TEXT...: no TEXT occurs in the log
never() {
  name=$1; shift
  for t in "$@"; do
    if grep -qF -- "$t" "$work/$name.log"; then
      fail "$name: the log contains \"$t\": $(grep -F -- "$t" "$work/$name.log" | head -3)"
      return
    fi
  done
  ok "$name: no trace of the secrets"
}

# common NAME: what every run must show
common() {
  n=$1
  never "$n" "$TOWER_IT_PW" "$TOWER_IT_TOKEN" "S3cr3t" "p@ss" "w%rd" "Sup3rS3cret" \
    "S3cr3t%20p%40ss%2Fw%25rd-42" "$(printf 'tower:%s' "$TOWER_IT_PW" | base64 -w0 | cut -c9-28)"
  if grep -q 'Sanitizer\|runtime error:' "$work/$n.log"; then
    fail "$n: sanitizer report: $(grep -A5 'Sanitizer\|runtime error:' "$work/$n.log" | head -8)"
  fi
  if LC_ALL=C grep -q '[^ -~]' "$work/$n.log"; then
    fail "$n: raw control or non-ASCII bytes in the log: $(LC_ALL=C grep -n '[^ -~]' "$work/$n.log" | cat -v | head -3)"
  else
    ok "$n: the log is printable ASCII"
  fi
  grep -q '\[inputs.exec\] .*login as tower:<redacted> refused' "$work/$n.log" \
    && ok "$n: the exec stderr line is relayed, scrubbed" || fail "$n: exec stderr: $(grep exec "$work/$n.log")"
  grep -qF '\x1b[2J\xc2\x9b done' "$work/$n.log" \
    && ok "$n: escape sequence and C1 control escaped" || fail "$n: not escaped: $(grep -F 'done' "$work/$n.log" | cat -v)"
}

# ---- v1, basic auth: the peer quotes the password and the header -------------
once basic "$TOWER_IT_PW" "database = \"db\"; username = \"tower\"; password = \"\${TOWER_IT_PW}\";"
grep -qF "|$TOWER_IT_PW" "$work/seen" && ok "basic: the peer received the password" \
  || fail "basic: the peer never saw the password: $(cat "$work/seen")"
common basic
grep -q 'outputs.influxdb\] .*with password <redacted> (Authorization: Basic [A-Za-z0-9+/]*<redacted>' "$work/basic.log" \
  && ok "basic: password and Authorization header quoted by the server are redacted" \
  || fail "basic: $(grep influxdb "$work/basic.log")"

# ---- v1, auth_in_query: the password travels percent-encoded ----------------
: > "$work/seen"
once query "$TOWER_IT_PW" "database = \"db\"; username = \"tower\"; password = \"\${TOWER_IT_PW}\"; auth_in_query = true;"
grep -qF "p=S3cr3t%20p%40ss%2Fw%25rd-42" "$work/seen" && ok "query: the peer received p= percent-encoded" \
  || fail "query: the peer never saw p=: $(cat "$work/seen")"
common query
grep -q 'outputs.influxdb\] .*request [A-Z]* /[^ ]*p=<redacted>' "$work/query.log" \
  && ok "query: the percent-encoded password quoted by the server is redacted" \
  || fail "query: $(grep influxdb "$work/query.log")"

# ---- v2, token --------------------------------------------------------------
: > "$work/seen"
once token "$TOWER_IT_TOKEN" "api = \"v2\"; organization = \"o\"; bucket = \"b\"; token = \"\${TOWER_IT_TOKEN}\";"
grep -qF "Token $TOWER_IT_TOKEN" "$work/seen" && ok "token: the peer received the token" \
  || fail "token: the peer never saw the token: $(cat "$work/seen")"
common token
grep -q 'outputs.influxdb\] .*(Authorization: Token <redacted>' "$work/token.log" \
  && ok "token: the token quoted by the server is redacted" || fail "token: $(grep influxdb "$work/token.log")"
grep -q 'inputs.exec\] .*last: <redacted>' "$work/token.log" \
  && ok "token: the exec stderr line with the token is scrubbed" || fail "token: $(grep exec "$work/token.log")"

finish
