#!/bin/sh
# tree.sh PIDFILE [ignore]: starts a sleeping child, writes "child shell"
# pids to PIDFILE, then sleeps itself. With "ignore", both ignore SIGTERM,
# so only SIGKILL ends them.
[ "${2:-}" = ignore ] && trap '' TERM
sleep 300 &
echo "$! $$" > "$1.tmp" && mv "$1.tmp" "$1"
sleep 300
