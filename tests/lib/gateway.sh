# SPDX-License-Identifier: GPL-3.0-or-later
# gateway.sh — a Trellis gateway and the classroom's devices, as network
# namespaces (docs/gateway.md).  Sourced after common.sh:
#
#   upstream (10.53.0.2)   dnsmasq answering every name (common.sh), and
#                          the test's listeners (net.sh)
#      |
#   gateway (common.sh's client namespace: 10.53.0.1; lan0, a bridge,
#            10.42.0.1/16 and fd42::1/64)   trellisd, and dnsmasq for the
#            classroom: DHCP (10.42.1.10-200) and DNS (forwarding upstream)
#      |  lan0
#   devices: one namespace each, eth0 with the MAC the test gives, an
#            address from the gateway's DHCP or a fixed one, the gateway
#            as default route.  A device has no trellis command and no
#            account: it is a principal by its MAC or address.
#
# Use:
#   setup_gateway "household text"    # common.sh's stack, the bridge,
#                                     # the gateway's dnsmasq, trellisd
#   add_device NAME MAC [ADDR]        # ADDR like 10.42.5.7 (/16); none: DHCP
#   dig_from NAME SERVER QNAME [TYPE] # sets DIG_OUT etc. as dig_as does
#   assert_blocked RULE / assert_resolved   (common.sh)

GW_LAN=lan0
GW_LAN_V4=10.42.0.1
GW_LAN_V6=fd42::1
GW_DNSMASQ_LOG=
GW_DNSMASQ_PID=
DEVICES=()

in_device ()
{
  local name=$1
  shift
  ip netns exec "trellis-${TEST_ID}-d-$name" "$@"
}

# The device runs dig itself: as_device_NAME for dig_as.
dig_from ()
{
  local name=$1
  shift
  eval "as_device_$name () { in_device $name \"\$@\"; }"
  dig_as "device_$name" "$@"
}

_gw_dnsmasq_listening ()
{
  in_client ss -lun 2>/dev/null | grep -q "$GW_LAN_V4:53 "
}

start_gateway_dnsmasq ()
{
  GW_DNSMASQ_LOG=$TEST_DIR/gateway-dnsmasq.log
  : > "$GW_DNSMASQ_LOG"
  # As the gateway image configures it (image/build-pi-image), on the
  # test's addresses; no cache, so every query it relays shows upstream.
  ip netns exec "$NS_CLIENT" dnsmasq \
    --keep-in-foreground --conf-file=/dev/null \
    --pid-file="$TEST_DIR/gateway-dnsmasq.pid" --user=root --group=root \
    --no-resolv --no-hosts --bind-interfaces \
    --interface="$GW_LAN" --listen-address="$GW_LAN_V4" --except-interface=lo \
    --server="$UPSTREAM_V4" --cache-size=0 \
    --dhcp-range=10.42.1.10,10.42.1.200,255.255.0.0,1h \
    --dhcp-leasefile="$TEST_DIR/gateway-dnsmasq.leases" \
    --dhcp-option=option:dns-server,"$GW_LAN_V4" \
    ${GW_DNSMASQ_EXTRA_ARGS[@]+"${GW_DNSMASQ_EXTRA_ARGS[@]}"} \
    --log-queries --log-dhcp --log-facility="$GW_DNSMASQ_LOG" 2>>"$GW_DNSMASQ_LOG" &
  GW_DNSMASQ_PID=$!
  track_pid "$GW_DNSMASQ_PID"
  wait_until 5 _gw_dnsmasq_listening || fail "the gateway's dnsmasq does not listen on $GW_LAN_V4:53"
}

setup_gateway ()
{
  local text=$1
  require_root_and_netns
  command -v dhclient >/dev/null 2>&1 || skip "needs dhclient (isc-dhcp-client) for the devices' DHCP"
  setup_net
  start_upstream
  create_accounts
  # The gateway routes the classroom's traffic to the upstream.
  ip netns exec "$NS_CLIENT" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n "$NS_UPSTREAM" route add 10.42.0.0/16 via "$CLIENT_V4"
  ip -n "$NS_UPSTREAM" -6 route add fd42::/64 via "$CLIENT_V6"
  ip -n "$NS_CLIENT" link add "$GW_LAN" type bridge
  ip -n "$NS_CLIENT" addr add "$GW_LAN_V4/16" dev "$GW_LAN"
  ip -n "$NS_CLIENT" addr add "$GW_LAN_V6/64" dev "$GW_LAN" nodad
  ip -n "$NS_CLIENT" link set "$GW_LAN" up
  start_gateway_dnsmasq
  HOUSEHOLD="$TEST_DIR/household.conf"
  printf '%s\n' "$text" > "$HOUSEHOLD"
  chmod 644 "$HOUSEHOLD"
  # A test may prepare more first (its own data directory: gateway_before_trellisd).
  if declare -F gateway_before_trellisd >/dev/null; then
    gateway_before_trellisd
  fi
  start_trellisd ${GW_TRELLISD_ARGS[@]+"${GW_TRELLISD_ARGS[@]}"}
}

_device_has_v4 ()
{
  in_device "$1" ip -4 -o addr show dev eth0 | grep -q 'inet 10\.42\.'
}

add_device ()
{
  # The gateway's end of the device's cable: one name per device (a
  # random one collides now and then among 30).
  local name=$1 mac=$2 addr=${3:-} ns="trellis-${TEST_ID}-d-$1" port="gd${#DEVICES[@]}"
  ip netns add "$ns" || fail "ip netns add $ns"
  _namespaces+=("$ns")
  ip -n "$NS_CLIENT" link add "$port" type veth peer name eth0 netns "$ns"
  ip -n "$NS_CLIENT" link set "$port" master "$GW_LAN" up
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 address "$mac"
  ip -n "$ns" link set eth0 up
  case "$addr" in
    '')
      ip netns exec "$ns" dhclient -4 -1 -v -pf "$TEST_DIR/dhclient-$name.pid" \
        -lf "$TEST_DIR/dhclient-$name.leases" -sf /bin/true eth0 > "$TEST_DIR/dhclient-$name.log" 2>&1 \
        || fail "device $name got no address from the gateway's DHCP: $(tail -n 5 "$TEST_DIR/dhclient-$name.log")"
      [ -s "$TEST_DIR/dhclient-$name.pid" ] && track_pid "$(cat "$TEST_DIR/dhclient-$name.pid")"
      # -sf /bin/true: dhclient leaves the address to us; take the lease's.
      addr=$(awk '/fixed-address/ { gsub(";", "", $2); a = $2 } END { print a }' "$TEST_DIR/dhclient-$name.leases")
      [ -n "$addr" ] || fail "device $name: no address in its DHCP lease"
      ;;
  esac
  case "$addr" in
    *:*) ip -n "$ns" -6 addr add "$addr/64" dev eth0 nodad
         ip -n "$ns" -6 route add default via "$GW_LAN_V6" ;;
    *)   ip -n "$ns" addr add "$addr/16" dev eth0
         ip -n "$ns" route add default via "$GW_LAN_V4" ;;
  esac
  DEVICES+=("$name")
  eval "DEVICE_ADDR_$name=$addr"
  wait_until 5 _device_has_v4 "$name" || [ "${addr#*:}" != "$addr" ] || fail "device $name has no address"
}

device_addr ()
{
  eval "echo \"\${DEVICE_ADDR_$1}\""
}

# The gateway's dnsmasq relayed (or answered) a query for $1.
gateway_resolver_saw ()
{
  grep -q "query\[[A-Z]*\] $1 from" "$GW_DNSMASQ_LOG"
}

# expect_connect (net.sh) from a device: connect_from NAME ok|no tcp|udp ADDR PORT
connect_from ()
{
  local name=$1
  shift
  eval "as_device_$name () { in_device $name \"\$@\"; }"
  expect_connect "device_$name" "$@"
}
