# SPDX-License-Identifier: LGPL-2.1-or-later
# Two hosts on one machine: the source QEMU (and qmig) in one network
# namespace, the destination in another, joined by a veth pair.  The native
# stream must cross the veth to the destination's address; afterwards the
# memory check, exactly one QEMU, and after lab stop no namespace or veth.
. "$(dirname "$0")/lib.sh"
need_netns
start_lab --netns --fill 64 --dirty 10
[ "$(jq -r .src_addr "$D/lab.json")" = 198.18.0.1 ] || fail "source address not recorded"
[ "$(jq -r .dst_addr "$D/lab.json")" = 198.18.0.2 ] || fail "destination address not recorded"
[ "$(ip netns identify "$SRC_PID")" = "$SRC_NS" ] || fail "source QEMU not in $SRC_NS"
[ "$(ip netns identify "$DST_PID")" = "$DST_NS" ] || fail "destination QEMU not in $DST_NS"
ip netns exec "$SRC_NS" ip -o link show lo | grep -q 'state UNKNOWN\|,UP' || fail "loopback down in $SRC_NS"
rx0=$(rx_bytes "$DST_NS" "$DST_IF")
migrate
expect_migrated
case $(jr .data_uri) in tcp:198.18.0.2:*) ;; *) fail "stream went to $(jr .data_uri)";; esac
[ "$(jr '.preflight[] | select(.check == "data-port") | .ok')" = true ] ||
  fail "data-port preflight: $(jr '.preflight[] | select(.check == "data-port") | .detail')"
rx=$(( $(rx_bytes "$DST_NS" "$DST_IF") - rx0 ))
[ "$rx" -ge "$(jr .transferred_bytes)" ] || fail "destination veth received $rx bytes, less than the $(jr .transferred_bytes) transferred"
expect_guest_on dst
"$QMIG" lab stop --dir "$D" || fail "lab stop"
ns_gone
"$QMIG" lab stop --dir "$D" || fail "second lab stop (must be idempotent)"
