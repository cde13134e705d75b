#!/bin/sh
# sleep1.sh N: sleeps one second, then prints a metric tagged n=N.
sleep 1
echo "par,n=$1 v=1i"
