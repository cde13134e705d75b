#!/bin/sh
# Prints variables the test sets through `environment`, and whether PATH
# was inherited from tower.
[ -n "${PATH:-}" ] && path=true || path=false
echo "env a=\"${EXEC_A:-}\",home=\"${HOME:-}\",path=$path"
