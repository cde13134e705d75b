#!/bin/sh
# 100000 lines on stderr, then one metric.
yes 'noise on stderr' | head -n 100000 >&2
echo 'flood v=1i'
