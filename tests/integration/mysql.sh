#!/bin/sh
# inputs.mysql end to end with the real tower binary against a real MariaDB
# server (tests/plugins/mysql/mariadb.sh: its own data directory, port and
# socket, performance_schema on, the user tower with a password):
#
#   1. tower --test: the mysql status metric tagged with the server, the
#      variables, Telegraf's digest totals;
#   2. tls=preferred on a server without TLS: plain (test_mysql.c has
#      the TLS cases against a server with TLS); a wrong password: exit status 1, one error naming the server as
#      user@host:port, the password in no output;
#   3. examples/mysql-slow-queries.conf as a daemon (its interval and port
#      changed for the test): after a known workload, Prometheus' scrape
#      shows the slow statement's digest with count 1 and a latency of at
#      least the 0.2 s it slept, and the scan without an index with its 5
#      no-index executions.
# Nothing is skipped: a missing mariadbd is a failure.
. "$top_srcdir/tests/integration/lib.sh"

"$TOWER" plugins 2>/dev/null | grep -q '^input  *mysql ' \
  || { echo "FAIL: inputs.mysql is not built (tower plugins does not list it)"; exit 1; }
command -v mariadbd > /dev/null || { echo "FAIL: mariadbd is missing: apt-get install mariadb-server"; exit 1; }

pw=It-s3cret-PW
db="$work/db"
srv="$top_srcdir/tests/plugins/mysql/mariadb.sh"
trap 'MYSQL_TEST_PASSWORD=$pw "$srv" stop "$db"; cleanup' EXIT
set -- $(MYSQL_TEST_PASSWORD=$pw "$srv" start "$db") || { echo "FAIL: cannot start MariaDB"; exit 1; }
port=$1 sock=$2

cat > "$work/test.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "mysql"; servers = ["tower:\${MYSQL_PASSWORD}@tcp(127.0.0.1:$port)/"];
             gather_perf_events_statements = true; } );
outputs = ( { plugin = "file"; } );
CONF
MYSQL_PASSWORD=$pw "$TOWER" --config "$work/test.conf" --test > "$work/test.lp" 2> "$work/test.err" \
  && ok "tower --test" || fail "tower --test: $(cat "$work/test.err")"
grep -q "^mysql,server=127.0.0.1:$port .*questions=[0-9]*i" "$work/test.lp" \
  && ok "mysql,server=127.0.0.1:$port with questions" || fail "no mysql metric: $(cut -c1-200 "$work/test.lp")"
grep -q "^mysql_variables,.*server=127.0.0.1:$port.* .*max_connections=50i" "$work/test.lp" \
  && ok "mysql_variables: max_connections=50 as the server was started" \
  || fail "mysql_variables: $(grep ^mysql_variables "$work/test.lp" | cut -c1-300)"
grep -q '^mysql_perf_schema,digest=.*digest_text=SHOW\\ GLOBAL\\ STATUS.*[ ,]events_statements_total=' "$work/test.lp" \
  && ok "Telegraf's digest totals (mysql_perf_schema)" || fail "no digest totals"

# tls=preferred against a server without TLS: plain, no error
sed 's#/"\]#/?tls=preferred"]#' "$work/test.conf" > "$work/preferred.conf"
MYSQL_PASSWORD=$pw "$TOWER" --config "$work/preferred.conf" --test > "$work/pref.lp" 2> "$work/pref.err" \
  && grep -q "^mysql,server=127.0.0.1:$port " "$work/pref.lp" \
  && ok "tls=preferred falls back to plain on a server without TLS" \
  || fail "tls=preferred: $(cat "$work/pref.err")"

MYSQL_PASSWORD=not-It-42 "$TOWER" --config "$work/test.conf" --test > "$work/bad.lp" 2> "$work/bad.err"
rc=$?
[ $rc = 1 ] && ok "a wrong password: exit status 1" || fail "a wrong password: exit status $rc"
grep -q "server tower@127.0.0.1:$port: connect: Access denied for user 'tower'" "$work/bad.err" \
  && ok "the error names tower@127.0.0.1:$port" || fail "error: $(cat "$work/bad.err")"
grep -q "not-It-42\|$pw" "$work/bad.err" "$work/bad.lp" "$work/test.err" \
  && fail "a password reached the output" || ok "no password in any output"

# the example, scraped by Prometheus' client side (curl)
prom=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s/interval = \"30s\"/interval = \"1s\"/; s/127.0.0.1:9273/127.0.0.1:$prom/" \
  "$top_srcdir/examples/mysql-slow-queries.conf" > "$work/example.conf"
MYSQL_PASSWORD=$pw MYSQL_ADDRESS=127.0.0.1:$port start_tower "$work/example.conf" "$work/daemon.log"
scrape() { curl -sf "http://127.0.0.1:$prom/metrics" > "$work/metrics.txt"; }
wait_for 10 sh -c "curl -sf http://127.0.0.1:$prom/metrics | grep -q '^mysql_questions'" \
  && ok "the example exposes mysql_questions" || fail "no mysql_questions: $(cat "$work/daemon.log")"
mariadb --no-defaults -h 127.0.0.1 -P "$port" -u work -p"$pw" shop -e \
  "SELECT * FROM items WHERE name = 'c'; SELECT * FROM items WHERE name = 'c';
   SELECT * FROM items WHERE name = 'c'; SELECT * FROM items WHERE name = 'c';
   SELECT * FROM items WHERE name = 'c'; SELECT SLEEP(0.2);" > /dev/null \
  || fail "the workload failed"
# the digests of the interval that saw the workload (the next gathers
# have none: wait for the one that does)
sleeping() { scrape && grep -q '^mysql_statement_digest_count{.*SLEEP.*} 1$' "$work/metrics.txt"; }
wait_for 10 sleeping && ok "mysql_statement_digest_count of SELECT SLEEP = 1" \
  || fail "no digest of SELECT SLEEP: $(grep statement_digest_count "$work/metrics.txt")"
awk '/^mysql_statement_digest_latency_seconds\{.*SLEEP/ { found = 1; if ($2 < 0.2) bad = 1 }
     END { exit !(found && !bad) }' "$work/metrics.txt" \
  && ok "its latency_seconds >= 0.2" || fail "latency: $(grep 'latency_seconds.*SLEEP' "$work/metrics.txt")"
grep -q '^mysql_statement_digest_no_index_used{.*items.*} 5$' "$work/metrics.txt" \
  && ok "the scan without an index: no_index_used = 5" \
  || fail "no_index_used: $(grep no_index_used "$work/metrics.txt")"
stop_tower TERM
[ "$trc" = 0 ] && ok "the daemon stops on SIGTERM" || fail "exit status $trc: $(cat "$work/daemon.log")"
grep -q "$pw" "$work/daemon.log" && fail "the password reached the daemon's log" || ok "no password in the log"
finish
