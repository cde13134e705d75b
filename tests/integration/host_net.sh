#!/bin/sh
# inputs.net and inputs.netstat on this machine, with the real tower binary,
# compared with independent readers read around tower's own gather:
#   - net: the real node_exporter (netdev, netstat collectors: the kernel's
#     counters through its own code), iproute2 (`ip -o link`: which
#     interfaces are up) and the speed files of /sys;
#   - netstat: ss(8) (sockets by state over netlink, not /proc) and
#     node_exporter's sockstat collector (the kernel's own socket counts),
#     with sockets this script opens so that the counts are not all 0.
# Counters only grow, so each of tower's must lie between the readings
# taken just before and just after it: no tolerance. Socket counts and
# tcp_currestab move both ways while other tests run on this machine; they
# may differ from the nearer of the readings around them by the change
# between those readings plus a small slack (see `slack`).
# Nothing is skipped: a missing node_exporter, ss or ip is a failure.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/host/lib.sh"

for tool in ss ip bash busybox; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "FAIL: $tool is missing (iproute2, bash, busybox-static: scripts/test installs them)"
    exit 1
  }
done
built() { "$TOWER" plugins 2>/dev/null | grep -q "^input  *$1 "; }
built net || built netstat || { echo "FAIL: neither inputs.net nor inputs.netstat is built"; exit 1; }

# netdev leaves lo out unless told (its default exclude is ^lo$); it reads
# the counters over netlink, not from /proc/net/dev.
start_node_exporter netdev 'netdev.device-exclude=^$' netstat sockstat

# lp_field FILE PREFIX FIELD: FIELD's value (type suffix dropped) in the
# line of FILE whose measurement and tags are PREFIX.
lp_field() {
  awk -v p="$2" -v f="$3" '
    $1 == p {
      n = split($2, kv, ",")
      for (i = 1; i <= n; i++) {
        eq = index(kv[i], "=")
        if (substr(kv[i], 1, eq - 1) == f) { v = substr(kv[i], eq + 1); sub(/[iu]$/, "", v); print v; exit }
      }
    }' "$1"
}

# lp_types FILE PREFIX: the type suffixes of the line's fields ("u u i ...").
lp_types() {
  awk -v p="$2" '$1 == p { n = split($2, kv, ","); for (i = 1; i <= n; i++) printf "%s ", substr(kv[i], length(kv[i])); exit }' "$1"
}

# between LOW VALUE HIGH: LOW <= VALUE <= HIGH, all present.
between() {
  [ -n "$1" ] && [ -n "$2" ] && [ -n "$3" ] && awk -v a="$1" -v v="$2" -v b="$3" 'BEGIN { exit !(a <= v && v <= b) }'
}

# slack A B: what a socket count may move by around tower's read: the
# change between the readings A and B, plus 3, plus 5% of the larger.
slack() {
  awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = a > b ? a : b; printf "%d\n", d + 3 + m / 20 }'
}

# near VALUE A B: VALUE is within slack of the readings A and B around it.
near() {
  [ -n "$1" ] && [ -n "$2" ] && [ -n "$3" ] || return 1
  lo=$2; hi=$3; [ "$lo" -gt "$hi" ] && { lo=$3; hi=$2; }
  s=$(slack "$2" "$3")
  [ "$1" -ge $((lo - s)) ] && [ "$1" -le $((hi + s)) ]
}

# ---- inputs.net ------------------------------------------------------------

if built net; then
  cat > "$work/net.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "net"; alias = "all"; interfaces = ["*"]; ignore_protocol_stats = false; } );
CONF
  cat > "$work/net_default.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "net"; } );
CONF
  # up_interfaces: what iproute2 shows UP and not LOOPBACK (netlink).
  up_interfaces() {
    ip -o link show | awk -F': ' '{ name = $2; sub(/@.*/, "", name); flags = $3
      sub(/>.*/, "", flags); sub(/^</, "", flags); n = split(flags, f, ","); up = 0; lo = 0
      for (i = 1; i <= n; i++) { if (f[i] == "UP") up = 1; if (f[i] == "LOOPBACK") lo = 1 }
      if (up && !lo) print name }' | sort | tr '\n' ' '
  }
  curl -sf -o /dev/null "$NE_URL" # some loopback traffic first
  ls /sys/class/net > "$work/if_before"
  ne_scrape "$work/ne_before"
  "$TOWER" --test --config "$work/net.conf" > "$work/net.out" 2> "$work/net.err"
  rc=$?
  ne_scrape "$work/ne_after"
  ls /sys/class/net > "$work/if_after"
  check "tower --test (net) exits 0" test "$rc" -eq 0 || cat "$work/net.err"

  # Every interface there before and after tower's gather (other tests may
  # add and remove some meanwhile) is reported, each counter between
  # node_exporter's readings before and after it.
  for ifc in $(sort "$work/if_before" "$work/if_after" | uniq -d); do
    path=/sys/class/net/$ifc
    p="net,interface=$ifc"
    check "net: $ifc is reported" grep -q "^$p " "$work/net.out" || continue
    check "net: $ifc's types are Telegraf's (8 uint counters, int speed)" \
      test "$(lp_types "$work/net.out" "$p")" = "u u u u u u u u i "
    for pair in bytes_recv:receive_bytes packets_recv:receive_packets err_in:receive_errs \
        drop_in:receive_drop bytes_sent:transmit_bytes packets_sent:transmit_packets \
        err_out:transmit_errs drop_out:transmit_drop; do
      f=${pair%%:*}
      ne="node_network_${pair#*:}_total"
      a=$(ne_value "$work/ne_before" "$ne" "device=\"$ifc\"")
      v=$(lp_field "$work/net.out" "$p" "$f")
      b=$(ne_value "$work/ne_after" "$ne" "device=\"$ifc\"")
      check "net: $ifc $f $v is between node_exporter's $a and $b" between "$a" "$v" "$b"
    done
    want=-1
    s=$(cat "$path/speed" 2>/dev/null) && case "$s" in '' | *[!0-9-]*) ;; *) want=$s ;; esac
    check "net: $ifc speed is $want (the speed file: ${s:-unreadable})" \
      test "$(lp_field "$work/net.out" "$p" speed)" = "$want"
  done

  # The protocol counters, against node_exporter's netstat collector.
  p="net,interface=all"
  check "net: interface=all has int fields only" \
    test -n "$(lp_types "$work/net.out" "$p")" -a -z "$(lp_types "$work/net.out" "$p" | tr -d 'i ')"
  for pair in tcp_activeopens:Tcp_ActiveOpens tcp_passiveopens:Tcp_PassiveOpens \
      tcp_insegs:Tcp_InSegs tcp_outsegs:Tcp_OutSegs tcp_outrsts:Tcp_OutRsts \
      tcp_retranssegs:Tcp_RetransSegs udp_indatagrams:Udp_InDatagrams \
      udp_outdatagrams:Udp_OutDatagrams udp_noports:Udp_NoPorts icmp_inmsgs:Icmp_InMsgs \
      icmp_outmsgs:Icmp_OutMsgs; do
    f=${pair%%:*}
    a=$(ne_value "$work/ne_before" "node_netstat_${pair#*:}")
    v=$(lp_field "$work/net.out" "$p" "$f")
    b=$(ne_value "$work/ne_after" "node_netstat_${pair#*:}")
    check "net: $f $v is between node_exporter's $a and $b" between "$a" "$v" "$b"
  done
  # A scrape's own connection (both ends) is established while node_exporter
  # reads: not while tower does.
  a=$(( $(ne_value "$work/ne_before" node_netstat_Tcp_CurrEstab) - 2 ))
  v=$(lp_field "$work/net.out" "$p" tcp_currestab)
  b=$(( $(ne_value "$work/ne_after" node_netstat_Tcp_CurrEstab) - 2 ))
  check "net: tcp_currestab $v is near node_exporter's $a and $b" near "$v" "$a" "$b"
  check "net: ip_forwarding is node_exporter's" \
    test "$(lp_field "$work/net.out" "$p" ip_forwarding)" = "$(ne_value "$work/ne_before" node_netstat_Ip_Forwarding)"
  check "net: tcp_maxconn is -1 (no limit)" test "$(lp_field "$work/net.out" "$p" tcp_maxconn)" = -1

  # Without `interfaces`: exactly the interfaces iproute2 shows UP and not
  # LOOPBACK (before or after, should one come or go meanwhile), and no
  # protocol counters (ignore_protocol_stats = true).
  want=$(up_interfaces)
  "$TOWER" --test --config "$work/net_default.conf" > "$work/net_default.out" 2>&1
  want2=$(up_interfaces)
  got=$(sed -n 's/^net,interface=\([^ ]*\) .*/\1/p' "$work/net_default.out" | sort | tr '\n' ' ')
  check "net: by default the interfaces up and not loopback: [$got] = ip's [$want]" \
    test "$got" = "$want" -o "$got" = "$want2"
  check "net: no interface=all by default" test "$(grep -c '^net,interface=all ' "$work/net_default.out")" -eq 0
fi

# ---- inputs.netstat --------------------------------------------------------

if built netstat; then
  # Sockets of our own: a listener (busybox httpd) with three connections
  # (six ESTABLISHED ends, bash's /dev/tcp) and two connected UDP sockets.
  for _ in 1 2 3 4 5; do
    port=$(shuf -i 20000-60000 -n 1)
    busybox httpd -f -p "127.0.0.1:$port" -h "$work" > "$work/httpd.log" 2>&1 &
    hpid=$!
    pids="$pids $hpid"
    wait_for 5 sh -c "ss -tlnH 'sport = :$port' | grep -q ." && break
    kill "$hpid" 2>/dev/null
  done
  for _ in 1 2 3; do
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; exec sleep 120" &
    pids="$pids $!"
  done
  bash -c "exec 3<>/dev/udp/127.0.0.1/9 4<>/dev/udp/127.0.0.1/9; exec sleep 120" &
  pids="$pids $!"
  wait_for 5 sh -c "[ \$(ss -tanH state established '( sport = :$port or dport = :$port )' | wc -l) -ge 6 ]" \
    || fail "the test's connections did not come up: $(ss -tan | grep ":$port")"

  cat > "$work/netstat.conf" <<CONF
agent = { omit_hostname = true; };
inputs = ( { plugin = "netstat"; } );
CONF
  # read_round: ss and node_exporter read around tower's own gather
  read_round() {
    ss -tanH > "$work/tcp_before"; ss -uanH > "$work/udp_before"
    ne_scrape "$work/ne_before"
    "$TOWER" --test --config "$work/netstat.conf" > "$work/netstat.out" 2> "$work/netstat.err"
    rc=$?
    ne_scrape "$work/ne_after"
    ss -tanH > "$work/tcp_after"; ss -uanH > "$work/udp_after"
  }
  # round_steady: TIME-WAIT, which the short connections of tests running
  # beside this one move by thousands within one read, stayed within the
  # slack of this round. If not, the round is read again (three at most);
  # a plugin that counts the wrong states is off in every round.
  round_steady() {
    tw=$(lp_field "$work/netstat.out" netstat tcp_time_wait)
    near "$tw" "$(awk '$1 == "TIME-WAIT" { n++ } END { print n + 0 }' "$work/tcp_before")" \
      "$(awk '$1 == "TIME-WAIT" { n++ } END { print n + 0 }' "$work/tcp_after")" &&
      near "$tw" "$(ne_value "$work/ne_before" node_sockstat_TCP_tw)" \
        "$(ne_value "$work/ne_after" node_sockstat_TCP_tw)"
  }
  for round in 1 2 3; do
    read_round
    round_steady && break
    echo "TIME-WAIT moved by more than the slack around read $round (other tests' connections)"
  done
  check "tower --test (netstat) exits 0" test "$rc" -eq 0 || cat "$work/netstat.err"
  check "netstat: 13 int fields" test "$(lp_types "$work/netstat.out" netstat)" = "i i i i i i i i i i i i i "

  # ss_count FILE STATE: the sockets of FILE in ss's STATE
  ss_count() { awk -v s="$2" '$1 == s { n++ } END { print n + 0 }' "$1"; }
  for pair in tcp_established:ESTAB tcp_syn_sent:SYN-SENT tcp_syn_recv:SYN-RECV \
      tcp_fin_wait1:FIN-WAIT-1 tcp_fin_wait2:FIN-WAIT-2 tcp_time_wait:TIME-WAIT \
      tcp_close_wait:CLOSE-WAIT tcp_last_ack:LAST-ACK tcp_listen:LISTEN tcp_closing:CLOSING; do
    f=${pair%%:*}
    a=$(ss_count "$work/tcp_before" "${pair#*:}")
    v=$(lp_field "$work/netstat.out" netstat "$f")
    b=$(ss_count "$work/tcp_after" "${pair#*:}")
    check "netstat: $f $v is near ss's $a and $b" near "$v" "$a" "$b"
  done
  # ss lists UDP sockets as UNCONN or, connected, ESTAB: one line each.
  a=$(lines "$work/udp_before")
  v=$(lp_field "$work/netstat.out" netstat udp_socket)
  b=$(lines "$work/udp_after")
  check "netstat: udp_socket $v is near ss -ua's $a and $b" near "$v" "$a" "$b"
  check "netstat: tcp_none is 0 (no other state on Linux)" test "$(lp_field "$work/netstat.out" netstat tcp_none)" = 0
  check "netstat: our 6 established ends are counted" test "$(lp_field "$work/netstat.out" netstat tcp_established)" -ge 6
  check "netstat: our 2 listeners are counted" test "$(lp_field "$work/netstat.out" netstat tcp_listen)" -ge 2
  check "netstat: our 2 UDP sockets are counted" test "$(lp_field "$work/netstat.out" netstat udp_socket)" -ge 2

  # The kernel's own counts (/proc/net/sockstat through node_exporter):
  # TIME_WAIT, and the sockets in use (every state but TIME_WAIT, SYN_RECV).
  tw_a=$(ne_value "$work/ne_before" node_sockstat_TCP_tw)
  tw_b=$(ne_value "$work/ne_after" node_sockstat_TCP_tw)
  v=$(lp_field "$work/netstat.out" netstat tcp_time_wait)
  check "netstat: tcp_time_wait $v is near sockstat's $tw_a and $tw_b" near "$v" "$tw_a" "$tw_b"
  # (less the 2 ends of the scrape's own connection, in use while it reads)
  inuse() { echo $(( $(ne_value "$1" node_sockstat_TCP_inuse) + $(ne_value "$1" node_sockstat_TCP6_inuse) - 2 )); }
  v=$(awk '$1 == "netstat" { n = split($2, kv, ","); for (i = 1; i <= n; i++) {
      split(kv[i], a, "="); sub(/i$/, "", a[2])
      if (a[1] ~ /^tcp_/ && a[1] != "tcp_time_wait" && a[1] != "tcp_syn_recv") s += a[2] } print s }' "$work/netstat.out")
  check "netstat: TCP sockets in use $v are near sockstat's $(inuse "$work/ne_before") and $(inuse "$work/ne_after")" \
    near "$v" "$(inuse "$work/ne_before")" "$(inuse "$work/ne_after")"
  u_a=$(( $(ne_value "$work/ne_before" node_sockstat_UDP_inuse) + $(ne_value "$work/ne_before" node_sockstat_UDP6_inuse) ))
  u_b=$(( $(ne_value "$work/ne_after" node_sockstat_UDP_inuse) + $(ne_value "$work/ne_after" node_sockstat_UDP6_inuse) ))
  v=$(lp_field "$work/netstat.out" netstat udp_socket)
  check "netstat: udp_socket $v is near sockstat's $u_a and $u_b" near "$v" "$u_a" "$u_b"
fi

finish
