#!/bin/sh
# The crash loop, Kafka path, with disk buffers (buffer_strategy = "disk",
# buffer_fsync = "commit"): tests/hostile/crash_kafka.sh with BUFFER=disk.
BUFFER=disk exec sh "$top_srcdir/tests/hostile/crash_kafka.sh"
