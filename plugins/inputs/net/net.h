/* inputs.net: what its two sources share (net.c: the interfaces of
 * /proc/net/dev and the plugin; net_snmp.c: the protocol counters of
 * /proc/net/snmp). Private to the plugin. */
#ifndef TOWER_INPUTS_NET_H
#define TOWER_INPUTS_NET_H

#include <tower/tower.h>

#include "../../common/host/host.h"

/* Reads <snmp_path> into buf and adds one "net" metric tagged
 * interface=all with the Ip, Icmp, IcmpMsg, Tcp, Udp and UdpLite counters
 * (Telegraf's names: "tcp_activeopens"). Reports a failure with
 * tower_acc_error() and returns its negative errno; -ENOMEM. */
int net_gather_snmp(host_buf *buf, const char *snmp_path, tower_acc *acc);

#endif
