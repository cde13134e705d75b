# Shared by scripts/quickstart and scripts/test (sourced, POSIX sh).

# Debian packages to build tower with every plugin of this release.
BUILD_PACKAGES="gcc make autoconf automake libtool pkg-config libconfig-dev libmicrohttpd-dev zlib1g-dev libgnutls28-dev librdkafka-dev libcurl4-openssl-dev libjansson-dev libssl-dev liblua5.4-dev libpcre2-dev protobuf-c-compiler libprotobuf-c-dev libsnappy-dev libmariadb-dev"
# ... and to run the whole test suite (clang and libFuzzer's runtime for
# make fuzz-run; git, dpkg-dev, debhelper, fakeroot and lintian for
# tests/packaging/deb.sh).
TEST_PACKAGES="check valgrind binutils g++ util-linux prometheus openssl curl python3 influxdb influxdb-client kcat podman runc busybox-static uidmap clang libclang-rt-14-dev prometheus-node-exporter socat python3-prometheus-client netcat-openbsd gzip mariadb-server mariadb-client git dpkg-dev debhelper fakeroot lintian"
# sd_notify and the watchdog (libsystemd-dev; configure --with-systemd), and
# systemd-analyze for the unit's test (systemd).
BUILD_PACKAGES="$BUILD_PACKAGES libsystemd-dev"
TEST_PACKAGES="$TEST_PACKAGES systemd"

log() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The repository root (scripts/..).
TOP=$(cd "$(dirname "$0")/.." && pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $* (install the packages yourself or use sudo)"
  fi
}

# need_packages PKG...: installs the Debian packages that are missing; runs
# apt-get update once, only when something must be installed.
need_packages() {
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages:$missing (no apt-get here: install them yourself)"
  log "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >/dev/null || die "apt-get update failed"
  # shellcheck disable=SC2086
  as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || die "apt-get install failed for:$missing"
}

# bootstrap: generates configure when needed.
bootstrap() {
  if [ ! -x "$TOP/configure" ] || [ "$TOP/configure.ac" -nt "$TOP/configure" ]; then
    log "autoreconf"
    (cd "$TOP" && autoreconf -fi >/dev/null 2>&1) || (cd "$TOP" && autoreconf -fi) || die "autoreconf failed"
  fi
}

# What a build tree was configured against: the configure arguments and the
# versions of the packages installed (configure decides from them what to
# build: `make check` needs Check, for one).
configured_state() {
  # shellcheck disable=SC2086
  printf '%s | %s' "$*" "$(dpkg-query -W -f='${Package}=${Version} ' $BUILD_PACKAGES $TEST_PACKAGES 2>/dev/null)"
}

# build DIR [CONFIGURE-ARGS...]: configures and builds out of tree. A tree
# configured with other arguments, or before the packages installed now,
# is configured again from scratch: it would build other things.
build() {
  dir=$1; shift
  state=$(configured_state "$@")
  if [ -f "$dir/Makefile" ] && [ "$(cat "$dir/.tower-configured" 2>/dev/null)" != "$state" ]; then
    log "configuring ${dir#$TOP/} again: it was configured with other options or packages"
    rm -rf "$dir"
  fi
  mkdir -p "$dir"
  if [ ! -f "$dir/Makefile" ]; then
    log "configure $* (in ${dir#$TOP/})"
    (cd "$dir" && "$TOP/configure" "$@" >configure.out 2>&1) || { cat "$dir/configure.out"; die "configure failed"; }
    printf '%s' "$state" > "$dir/.tower-configured"
    sed -n '/Plugins:/,$p' "$dir/configure.out"
  fi
  log "make (in ${dir#$TOP/})"
  make -C "$dir" -j"$JOBS" >"$dir/make.out" 2>&1 || { tail -50 "$dir/make.out"; die "build failed"; }
}

# ---- dynalite (inputs.dynamodb's integration test and benchmark) ----
# Node and npm from Debian; dynalite@3 (DynamoDB in node, in memory) from
# the npm registry, into a cache directory that tests/integration/dynamodb.sh
# and bench/bench_dynamodb.c look in (they install it there themselves when
# it is missing).
NODE_PACKAGES="nodejs npm"
DYNALITE_DIR=${TOWER_DYNALITE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tower/dynalite}

# need_dynalite: installs node/npm and dynalite@3 when missing.
need_dynalite() {
  # A node and npm already on the PATH (e.g. NodeSource's) are used as they
  # are: Debian's npm package would conflict with them.
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    need_packages $NODE_PACKAGES
  fi
  [ -f "$DYNALITE_DIR/node_modules/dynalite/cli.js" ] && return 0
  log "npm install dynalite@3 (into $DYNALITE_DIR)"
  mkdir -p "$DYNALITE_DIR" || die "cannot create $DYNALITE_DIR"
  (cd "$DYNALITE_DIR" && npm install --no-audit --no-fund --silent dynalite@3 >npm.log 2>&1) \
    || { tail -20 "$DYNALITE_DIR/npm.log"; die "npm install dynalite@3 failed"; }
}
