#!/bin/sh
# Valid output, two stderr lines, exit status 3.
echo 'partial v=1i'
echo 'first problem' >&2
echo 'something broke' >&2
exit 3
