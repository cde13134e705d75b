#!/bin/sh
# stderr lines with Telegraf's level prefixes, and one without.
echo 'E! an error' >&2
echo 'I! some info' >&2
echo 'D! debug detail' >&2
echo 'plain warning' >&2
echo 'lv v=1i'
