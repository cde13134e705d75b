#!/bin/sh
# A single value (data_format = "value").
echo 42
