# SPDX-License-Identifier: LGPL-2.1-or-later
# --link-rate shapes the veth between the two namespaces (tc tbf on both
# ends): a migration across it cannot go faster than the rate.  Not a
# timing test: only the shape is asserted (throughput at most 1.2x the rate,
# QEMU's own mbps too), with max-bandwidth left unlimited.
. "$(dirname "$0")/lib.sh"
need_netns
RATE_MBIT=200
start_lab --netns --link-rate ${RATE_MBIT}mbit --fill 48
[ "$(jq -r .link_rate_bps "$D/lab.json")" = $((RATE_MBIT * 1000000)) ] || fail "rate not recorded"
migrate
expect_migrated
tput=$(jr .throughput_bytes_per_s)
awk -v t="$tput" -v r=$RATE_MBIT 'BEGIN { exit !(t * 8 / 1e6 <= 1.2 * r) }' ||
  fail "throughput $(awk -v t="$tput" 'BEGIN { printf "%.0f", t * 8 / 1e6 }') Mbit/s above 1.2 x ${RATE_MBIT}mbit: the link is not shaped"
awk -v t="$tput" -v r=$RATE_MBIT 'BEGIN { exit !(t * 8 / 1e6 >= 0.1 * r) }' ||
  fail "throughput $tput B/s: far below the rate, something else is wrong"
echo "throughput $(awk -v t="$tput" 'BEGIN { printf "%.1f", t * 8 / 1e6 }') Mbit/s over a ${RATE_MBIT}mbit link"
expect_guest_on dst
