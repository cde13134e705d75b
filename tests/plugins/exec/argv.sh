#!/bin/sh
# Writes the arguments it received, NUL-separated, to $ARGV_OUT, and prints
# how many there were.
printf '%s\0' "$@" > "$ARGV_OUT"
echo "argv count=$#i"
