#!/bin/sh
# Line protocol with a bad second line.
printf 'good v=1i\nthis is not line protocol\ngood v=2i\n'
