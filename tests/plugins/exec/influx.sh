#!/bin/sh
# Line protocol: one line without a timestamp, one with.
echo 'disk,path=/data used_percent=41.5,inodes=1234i'
echo 'net,iface=eth0 rx=10u,up=true 1700000000000000000'
