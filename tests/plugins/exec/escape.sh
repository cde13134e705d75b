#!/bin/sh
# escape.sh PIDFILE MODE: starts a process that leaves the script's process
# group and session, and writes "escaped-pid script-pid" to PIDFILE.
#   held   the escaped process double-forks into a new session (setsid, then
#          its parent exits) and keeps the script's stdout open; the script
#          prints a metric and exits.
#   quiet  the escaped process runs in a new session with its output
#          redirected; the script then hangs until it is killed.
out=$1 mode=$2
if [ "$mode" = held ]; then
  setsid sh -c 'sleep 300 & echo $! > "$1.esc"' escape "$out" &
else
  setsid sh -c 'echo $$ > "$1.esc"; exec sleep 300' escape "$out" >/dev/null 2>&1 &
fi
while [ ! -s "$out.esc" ]; do sleep 0.01; done
echo "$(cat "$out.esc") $$" > "$out.tmp" && mv "$out.tmp" "$out"
[ "$mode" = held ] && { echo 'esc v=1i'; exit 0; }
exec sleep 300
