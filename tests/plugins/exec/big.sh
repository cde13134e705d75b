#!/bin/sh
# big.sh [LINES]: a lot of valid line protocol.
yes 'big v=1i' | head -n "${1:-100000}"
