#!/bin/sh
# linger.sh PIDFILE: prints a metric and exits at once, leaving a background
# process that keeps stdout open.
sleep 300 &
echo "$! $$" > "$1"
echo 'linger v=1i'
