# SPDX-License-Identifier: LGPL-2.1-or-later
# Network-observed downtime with ICMP echo: the Linux lab guest on the
# switched L2 of a two-namespace lab (lab --guest linux --netns), pinged at
# 1 kHz from the lab's client namespace (--probe icmp:ADDR, --probe-netns)
# over the whole migration.  No warm-up from the test: qmig waits for the
# probe's first reply before `migrate`.  The report's network section must
# name ICMP, show replies before the stop (exactly one switchover gap),
# that gap holding the vCPU pause and ending no later than the heartbeat
# stall plus a tolerance (as probe-udp.sh), every gap with a known phase
# inside the probe's run, replies after the resume; then the guest's own
# memory check and exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/probe-lib.bash"
need_netns
need_linux_guest
start_lab --guest linux --netns --fill 32 --dirty 4
CLI=$(jq -r .client_netns "$D/lab.json")
ADDR=$(jq -r .guest_addr "$D/lab.json")
[ -e "/run/netns/$CLI" ] || fail "no client namespace $CLI"
migrate --probe "icmp:$ADDR" --probe-netns "$CLI" --probe-rate 1000 --probe-gap 20
expect_migrated
jq '.network | del(.gaps)' "$D/report.json"
case "$(jr .network.method)" in
  icmp | icmp-raw) ;;
  *) fail "network section missing or not ICMP: method $(jr .network.method)" ;;
esac
[ "$(jr .network.target)" = "icmp:$ADDR" ] || fail "target $(jr .network.target)"
[ "$(jr .network.netns)" = "$CLI" ] || fail "probe not from the client namespace: $(jr .network.netns)"
[ "$(jr .network.rate_hz)" = 1000 ] || fail "probe rate $(jr .network.rate_hz)"
[ "$(jr '.network.sent == .network.received + .network.lost')" = true ] || fail "sent != received + lost"
# Every gap: over the threshold, a phase of the stall timeline's, inside
# the probe's run; the largest is the one max_gap_ms names.
bad=$(jr '.network.duration_ms as $dur | [.network.gaps[] |
  select((.phase | test("^(before|setup|pass_[0-9]+|switchover|postcopy|after_resume)$") | not)
    or .duration_ms < 20 or .start_ms + .duration_ms > $dur)] | length')
[ "$bad" = 0 ] || fail "$bad gaps with an unknown phase, under the threshold or past the probe's end"
[ "$(jr '.network.max_gap_ms == ([.network.gaps[].duration_ms] | max)')" = true ] ||
  fail "max_gap_ms is not the longest gap listed"
probe_check_switchover ICMP
# The gap starts at the last reply before the source stopped: replies in
# flight at the STOP (queued on the switch, stamped when the loaded host
# gets round to the probe's thread) may land a few ms after QEMU's STOP
# timestamp (seen: 5.5 ms), so up to the probe's 20 ms threshold later.
awk -v s="$GAP_START" -v t="$(jr .stop_at_ms)" 'BEGIN { exit !(s <= t + 20) }' ||
  fail "switchover gap starts at $GAP_START ms, over 20 ms after the stop at $(jr .stop_at_ms) ms"
expect_guest_on dst
