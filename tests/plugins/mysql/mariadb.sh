#!/bin/sh
# A throwaway MariaDB server for the inputs.mysql tests (test_mysql.c,
# tests/integration/mysql.sh): a data directory of its own under DIR,
# loopback TCP on a free port and a unix socket, performance_schema on,
# and a user with a password (no --skip-grant-tables: the tests check what
# a wrong password gives).
#
#   mariadb.sh start DIR   first start installs DIR/data and creates the
#                          user tower / $MYSQL_TEST_PASSWORD (default below)
#                          and database shop; prints "PORT SOCKET PID"
#   mariadb.sh stop DIR    shuts the server down (kill -9 after 20s)
#
# DIR/port keeps the port, so a start after a kill comes back on it. As
# root (CI) mariadbd runs with --user=root, which it otherwise refuses.
# With MYSQL_TEST_TLS=PKI (a directory made by tests/plugins/x509/pki.sh)
# the server also offers TLS with PKI's leaf (localhost, 127.0.0.1) and
# its chain; plain connections still work.
set -eu
cmd=$1 dir=$2
pw=${MYSQL_TEST_PASSWORD:-Tw-s3cret-PW}
sock=$dir/mysqld.sock
asuser=""
[ "$(id -u)" = 0 ] && asuser="--user=root"

die() { echo "mariadb.sh: $*" >&2; [ -f "$dir/error.log" ] && tail -n 20 "$dir/error.log" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

client() { mariadb --no-defaults -S "$sock" -uroot "$@"; }

case $cmd in
start)
  mkdir -p "$dir"
  fresh=no
  if [ ! -d "$dir/data/mysql" ]; then
    fresh=yes
    mariadb-install-db --no-defaults --datadir="$dir/data" $asuser \
      --auth-root-authentication-method=normal --skip-test-db > "$dir/install.log" 2>&1 \
      || { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
    free_port > "$dir/port"
  fi
  port=$(cat "$dir/port")
  tls=""
  [ -n "${MYSQL_TEST_TLS:-}" ] && tls="--ssl-cert=$MYSQL_TEST_TLS/full.pem --ssl-key=$MYSQL_TEST_TLS/leaf.key"
  mariadbd --no-defaults --datadir="$dir/data" --socket="$sock" --port="$port" \
    --bind-address=127.0.0.1 --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
    --performance-schema=ON --innodb-buffer-pool-size=16M --skip-name-resolve \
    --max-connections=50 $tls $asuser > /dev/null 2>&1 &
  i=0
  until mariadb-admin --no-defaults -S "$sock" -uroot ping > /dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 600 ] || die "the server did not answer within 30s"
    sleep 0.05
  done
  if [ $fresh = yes ]; then
    client <<SQL || die "cannot create the test user and database"
CREATE USER 'tower'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER 'tower'@'localhost' IDENTIFIED BY '$pw';
GRANT SELECT, PROCESS, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO 'tower'@'127.0.0.1';
GRANT SELECT, PROCESS, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO 'tower'@'localhost';
CREATE DATABASE shop;
CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40), price INT);
INSERT INTO shop.items VALUES (1,'a',1),(2,'b',2),(3,'c',3),(4,'d',4),(5,'e',5),
  (6,'f',6),(7,'g',7),(8,'h',8),(9,'i',9),(10,'j',10);
CREATE USER 'work'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT ALL ON shop.* TO 'work'@'127.0.0.1';
SQL
  fi
  echo "$port $sock $(cat "$dir/mysqld.pid")"
  ;;
stop)
  [ -f "$dir/mysqld.pid" ] || exit 0
  pid=$(cat "$dir/mysqld.pid")
  kill -CONT "$pid" 2>/dev/null || true
  kill "$pid" 2>/dev/null || exit 0
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 400 ]; then kill -9 "$pid" 2>/dev/null || true; break; fi
    sleep 0.05
  done
  rm -f "$dir/mysqld.pid"
  ;;
*) die "usage: mariadb.sh start|stop DIR" ;;
esac
