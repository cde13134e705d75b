#!/bin/sh
# A JSON document (Telegraf's default exec format).
echo '{"a": 0.5, "b": {"c": 0.1, "d": 5}}'
