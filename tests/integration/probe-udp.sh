# SPDX-License-Identifier: LGPL-2.1-or-later
# Network-observed downtime: the Linux lab guest on the switched L2 of a
# two-namespace lab (lab --guest linux --netns), probed with UDP echo at
# 1 kHz from the lab's client namespace (--probe, --probe-netns) over the
# whole migration.  The report's network section must show one switchover
# gap: it holds the vCPU pause (STOP..RESUME) and, announcements on, ends
# no later than the heartbeat stall (same last-before/first-after
# definition) plus a tolerance; replies come back after the resume.  Then the guest's own memory
# check and exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/probe-lib.bash"
need_netns
need_linux_guest
start_lab --guest linux --netns --fill 32 --dirty 4
CLI=$(jq -r .client_netns "$D/lab.json")
ADDR=$(jq -r .guest_addr "$D/lab.json")
PORT=$(jq -r .guest_udp_echo_port "$D/lab.json")
[ -e "/run/netns/$CLI" ] || fail "no client namespace $CLI"
echo probe | ip netns exec "$CLI" timeout 10 socat -t 5 - "UDP:$ADDR:$PORT" | grep -q probe ||
  fail "the guest does not echo UDP from the client namespace"
migrate --probe "udp:$ADDR:$PORT" --probe-netns "$CLI" --probe-rate 1000 --probe-gap 20
expect_migrated
jq '.network | del(.gaps)' "$D/report.json"
[ "$(jr .network.method)" = udp ] || fail "network section missing or not udp"
[ "$(jr .network.rate_hz)" = 1000 ] || fail "probe rate $(jr .network.rate_hz)"
probe_check_switchover UDP
expect_guest_on dst
