#!/bin/sh
# inputs.docker against a real podman (Debian packages podman, runc,
# busybox-static): private storage under $work, `podman system service` on
# a unix socket in $work, an image imported from a busybox root file
# system (no registry needed), and containers in every interesting state:
#   t_run    running `sleep`, labels app=web tier=front, --memory 64m
#   t_busy   running a busy loop limited to half a CPU (--cpus 0.5)
#   t_ok     a health check that passes; t_sick one that fails
#   t_done   exited with status 0; t_fail exited with status 3
#   t_new    created, never started
# tower --once must report each with Telegraf's names, states, exit codes,
# labels as tags and plausible CPU and memory figures; the daemon must
# survive the service going away and coming back, one error per gather,
# without piling up descriptors. Nothing is skipped: a missing podman is a
# failure.
. "$top_srcdir/tests/integration/lib.sh"

for tool in podman runc curl openssl; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing: apt-get install podman runc uidmap busybox-static curl openssl (scripts/test installs them)"
    exit 1
  }
done
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "FAIL: $BUSYBOX is missing: apt-get install busybox-static"; exit 1; }
"$TOWER" plugins 2>/dev/null | grep -q '^input  *docker ' \
  || { echo "FAIL: inputs.docker is not built (tower plugins does not list it)"; exit 1; }

# Everything podman keeps lives in $work: storage (vfs: no overlay mounts
# to clean up), run state, events, the socket.
mkdir -p "$work/tmp"
P="podman --root $work/root --runroot $work/run --tmpdir $work/tmp --runtime runc \
  --cgroup-manager cgroupfs --storage-driver vfs --events-backend file"
sock="$work/podman.sock"
svc=""

start_service() {
  $P system service --time=0 "unix://$sock" >>"$work/service.log" 2>&1 &
  svc=$!
  pids="$pids $svc"
  wait_for 20 curl -sf --unix-socket "$sock" http://d/version -o /dev/null
}
stop_service() {
  [ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
  svc=""
}
# conmon runs `podman container cleanup` when a container ends: wait for
# those before removing $work, or they write into it again.
podman_idle() { ! pgrep -f -- "--root $work/root" >/dev/null; }
cleanup_podman() {
  [ -n "${tpid:-}" ] && kill -9 "$tpid" 2>/dev/null
  $P rm -a -f -t 0 >/dev/null 2>&1
  stop_service
  wait_for 15 podman_idle
  # anything podman left mounted under $work (shm of a container)
  grep " $work/" /proc/mounts | cut -d' ' -f2 | sort -r | while read -r m; do umount -l "$m"; done
  cleanup
}
trap cleanup_podman EXIT

# ---- the image: busybox and a few links, imported as localhost/busybox:test
mkdir -p "$work/rootfs/bin"
cp "$BUSYBOX" "$work/rootfs/bin/busybox"
for a in sh sleep true false; do ln -s busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
$P import "$work/rootfs.tar" localhost/busybox:test >"$work/import.log" 2>&1 \
  && ok "image imported" || { fail "podman import: $(cat "$work/import.log")"; finish; }

start_service && ok "podman system service on $sock" \
  || { fail "podman service did not start: $(cat "$work/service.log")"; finish; }

# runc in this sandbox may not raise rlimits: keep them as they are.
RUN="--network none --ulimit nofile=4096:4096 --ulimit nproc=4096:4096"
IMG=localhost/busybox:test
made=0
run() { $P "$@" >>"$work/containers.log" 2>&1 && made=$((made + 1)); }
run run -d --name t_run $RUN --label app=web --label tier=front --memory 64m $IMG /bin/sleep 600
run run -d --name t_busy $RUN --cpus 0.5 $IMG /bin/sh -c 'while :; do :; done'
run run -d --name t_ok $RUN --health-cmd /bin/true --health-interval disable $IMG /bin/sleep 600
run run -d --name t_sick $RUN --health-cmd /bin/false --health-retries 1 --health-interval disable \
  $IMG /bin/sleep 600
run run --name t_done $RUN --label app=job $IMG /bin/true
$P run --name t_fail $RUN --label app=job $IMG /bin/sh -c 'exit 3' >>"$work/containers.log" 2>&1
[ $? -eq 3 ] && made=$((made + 1))
run create --name t_new $RUN $IMG /bin/true
run healthcheck run t_ok
$P healthcheck run t_sick >>"$work/containers.log" 2>&1 # fails on purpose
[ "$made" -eq 8 ] && ok "7 containers in their states" \
  || { fail "podman run: $(cat "$work/containers.log")"; finish; }

# ---- tower --once: two samples half a second apart (usage_percent)
cat > "$work/once.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "docker"; endpoint = "unix://$sock";
             container_state_include = ["*"];
             container_name_include = ["t_*"];
             perdevice_include = ["cpu", "network", "blkio"]; } );
outputs = ( { plugin = "record"; path = "$work/once.lp"; } );
CONF
"$TOWER" --config "$work/once.conf" --once >"$work/once.log" 2>&1 \
  && ok "tower --once" || fail "tower --once: $(cat "$work/once.log")"
out="$work/once.lp"

# has DESCRIPTION PATTERN...: some line of once.lp matches every pattern
has() {
  d=$1; shift
  awk -v n="$#" 'BEGIN { for (i = 1; i <= n; i++) p[i] = ARGV[i]; ARGC = 1 }
    { ok = 1; for (i = 1; i <= n; i++) if (index($0, p[i]) == 0) ok = 0; if (ok) found = 1 }
    END { exit !found }' "$@" < "$out" && ok "$d" || fail "$d: no line with $*"
}
# field NAME LINE: the value of field NAME in a line protocol line
field() { echo "$2" | sed -n "s/.*[ ,]$1=\([^, ]*\).*/\1/p" | sed 's/[iu]$//'; }
# line MEASUREMENT CONTAINER [TAG=VALUE]: the first such line
line() { grep "^$1,.*container_name=$2[, ]" "$out" | grep -F "${3:-}" | head -1; }

ver=$(podman --version | sed 's/.* //')
has "docker: engine totals with server_version" "docker,engine_host=" "server_version=$ver " "n_containers=" "n_cpus=$(nproc)i" "memory_total="
has "t_run running, labels as tags" "docker_container_status,app=web," "container_name=t_run," \
  "container_status=running," "container_version=test," "tier=front" "exitcode=0i" "oomkilled=false"
has "t_fail exited with status 3" "docker_container_status,app=job," "container_name=t_fail," \
  "container_status=exited," "exitcode=3i" "finished_at="
has "t_done exited with status 0" "container_name=t_done,container_status=exited," "exitcode=0i"
has "t_new created, never started" "container_name=t_new,container_status=created," "exitcode=0i"
grep "container_name=t_new," "$out" | grep -q started_at && fail "t_new has a started_at" \
  || ok "t_new: no started_at"
has "t_ok healthy" "docker_container_health," "container_name=t_ok," 'health_status="healthy"' \
  "failing_streak=0i"
has "t_sick unhealthy" "docker_container_health," "container_name=t_sick," \
  'health_status="unhealthy"' "failing_streak=1i"
grep -q "docker_container_health,.*container_name=t_run," "$out" && fail "t_run has no health check" \
  || ok "no health metric without a health check"
for c in t_done t_fail t_new; do
  grep -q "docker_container_mem,.*container_name=$c," "$out" && fail "$c (stopped) has memory metrics" \
    || ok "$c: no stats for a stopped container"
done

# plausible figures: t_run under its 64 MiB limit, t_busy near its half CPU
run_status=$(line docker_container_status t_run)
pid=$(field pid "$run_status")
[ "${pid:-0}" -gt 0 ] && ok "t_run pid $pid" || fail "t_run pid: $run_status"
uptime=$(field uptime_ns "$run_status")
[ "${uptime:-0}" -gt 0 ] && ok "t_run uptime_ns $uptime" || fail "t_run uptime: $run_status"
mem=$(line docker_container_mem t_run)
limit=$(field limit "$mem"); usage=$(field usage "$mem")
[ "$limit" = 67108864 ] && ok "t_run memory limit 64 MiB" || fail "t_run limit: $mem"
[ "${usage:-0}" -gt 0 ] && [ "$usage" -lt "$limit" ] && ok "t_run memory usage $usage within the limit" \
  || fail "t_run usage: $mem"
busy=$(line docker_container_cpu t_busy cpu=cpu-total)
pct=$(field usage_percent "$busy")
awk -v p="${pct:-x}" 'BEGIN { exit !(p + 0 > 10 && p + 0 < 65) }' \
  && ok "t_busy usage_percent $pct (limited to 50)" || fail "t_busy usage_percent: $busy"
idle=$(field usage_percent "$(line docker_container_cpu t_run cpu=cpu-total)")
awk -v p="${idle:-x}" 'BEGIN { exit !(p != "x" && p + 0 < 5) }' \
  && ok "t_run usage_percent $idle (sleeping)" || fail "t_run usage_percent: '$idle'"
has "per-cpu series" "docker_container_cpu," "container_name=t_busy," "cpu=cpu0," "usage_total="
has "network per device and total" "docker_container_net," "container_name=t_run," "network=total,"
grep -q ' E! ' "$work/once.log" && fail "errors: $(cat "$work/once.log")" || ok "no errors logged"

# ---- the daemon: the service goes away and comes back
cat > "$work/daemon.conf" <<CONF
agent = { interval = "1s"; flush_interval = "500ms"; omit_hostname = true; };
inputs = ( { plugin = "docker"; endpoint = "unix://$sock"; timeout = "15s";
             container_name_include = ["t_run", "t_busy"]; } );
outputs = ( { plugin = "record"; path = "$work/daemon.lp"; } );
CONF
start_tower "$work/daemon.conf" "$work/daemon.log"
statuses() { n=$(grep -c '^docker_container_status,' "$work/daemon.lp" 2>/dev/null); echo "${n:-0}"; }
at_least() { [ "$(statuses)" -ge "$1" ]; }
wait_for 30 at_least 4 \
  && ok "daemon gathers ($(statuses) status lines)" || fail "daemon: $(cat "$work/daemon.log")"
fds1=$(ls /proc/"$tpid"/fd | wc -l)
stop_service
errs_before=$(grep -c ' E! ' "$work/daemon.log")
down_at=$(date +%s%N)
errs_since() { echo $(( $(grep -c ' E! ' "$work/daemon.log") - errs_before )); }
errs_at_least() { [ "$(errs_since)" -ge "$1" ]; }
# One error per gather (interval 1s): at least two come, and never more
# than the seconds that passed (a loaded machine may gather late, not twice).
wait_for 20 errs_at_least 3
secs=$(( ($(date +%s%N) - down_at) / 1000000000 + 1 ))
errs=$(errs_since)
[ "$errs" -ge 2 ] && [ "$errs" -le $((secs + 1)) ] && ok "service down: one error per gather ($errs in ${secs} s)" \
  || fail "service down: $errs errors in ${secs} s: $(cat "$work/daemon.log")"
grep -q "cannot connect to the Docker daemon at unix://$sock" "$work/daemon.log" \
  && ok "the error names the endpoint and what to do" || fail "error text: $(cat "$work/daemon.log")"
start_service || fail "service restart: $(tail -5 "$work/service.log")"
n=$(statuses)
wait_for 30 at_least $((n + 4)) \
  && ok "gathers again once the service is back" || fail "no recovery: $(tail -5 "$work/daemon.log")"
sleep 3
fds2=$(ls /proc/"$tpid"/fd | wc -l)
[ "$fds2" -le $((fds1 + 4)) ] && ok "descriptors stable ($fds1 -> $fds2)" \
  || fail "descriptors grew: $fds1 -> $fds2: $(ls -l /proc/"$tpid"/fd)"
stop_tower TERM
[ "$trc" = 0 ] && ok "tower stopped cleanly" || fail "tower exit $trc"
tpid=""

# ---- examples/containers-and-certs.conf against this podman, with a
# certificate that expires in 5 days: the series its alert rules use are
# exposed with the labels the rules expect.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/cert.key" -out "$work/cert.pem" \
  -days 5 -subj /CN=soon.example >"$work/openssl.log" 2>&1 || fail "openssl: $(cat "$work/openssl.log")"
sed -e "s|unix:///var/run/docker.sock|unix://$sock|" -e 's|"127.0.0.1:9273"|"127.0.0.1:0"|' \
  -e "s|\"https://example.com:443\"|\"$work/cert.pem\"|" -e 's|interval = "30s"|interval = "1s"|' \
  "$top_srcdir/examples/containers-and-certs.conf" > "$work/example.conf"
grep -q "unix://$sock" "$work/example.conf" && grep -q '"127.0.0.1:0"' "$work/example.conf" \
  && grep -q "$work/cert.pem" "$work/example.conf" && grep -q 'interval = "1s"' "$work/example.conf" \
  && ok "example adapted (socket, port 0, certificate, 1s)" || fail "sed: $(cat "$work/example.conf")"
start_tower "$work/example.conf" "$work/example.log"
wait_for 10 grep -q 'serving metrics on' "$work/example.log"
port=$(sed -n 's/.*serving metrics on .* (port \([0-9]*\)).*/\1/p' "$work/example.log")
# series NAME PATTERN...: a line of the scrape for NAME with every pattern
series() {
  n=$1; shift
  curl -sf "http://127.0.0.1:$port/metrics" > "$work/example.prom" || return 1
  grep "^$n{" "$work/example.prom" > "$work/example.sel" || return 1
  for p in "$@"; do grep -F -- "$p" "$work/example.sel" > "$work/example.sel2" || return 1
    mv "$work/example.sel2" "$work/example.sel"; done
}
wait_for 20 series docker_container_status_exitcode 'container_name="t_fail"' \
  'container_status="exited"' '} 3' \
  && ok "example: docker_container_status_exitcode of t_fail is 3, container_status=exited" \
  || fail "example scrape: $(cat "$work/example.log") $(grep docker_container_status "$work/example.prom")"
series docker_container_health_failing_streak 'container_name="t_sick"' 'health_status="unhealthy"' \
  && ok "example: t_sick unhealthy" || fail "example: no unhealthy t_sick: $(grep health "$work/example.prom")"
wait_for 20 series x509_cert_expiry 'common_name="soon.example"' \
  && exp=$(sed 's/.* //' "$work/example.sel" | head -1) \
  && awk -v e="$exp" 'BEGIN { exit !(e > 4 * 86400 && e < 14 * 86400) }' \
  && ok "example: x509_cert_expiry of the 5-day certificate is $exp (< 14 days)" \
  || fail "example: x509_cert_expiry: $(grep x509 "$work/example.prom")"
series cpu_usage_idle 'cpu="cpu-total"' && ok "example: cpu_usage_idle" || fail "example: no cpu"
grep -q ' E! ' "$work/example.log" && fail "example errors: $(grep ' E! ' "$work/example.log")" \
  || ok "example: no errors logged"
stop_tower TERM
tpid=""
finish
