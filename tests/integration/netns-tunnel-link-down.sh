# SPDX-License-Identifier: LGPL-2.1-or-later
# The link between the two namespaces goes down in the middle of a
# tunnelled migration: the migration must fail within a bounded time with
# the failed tunnel connection named, the guest must keep running on the
# source only, its memory intact.  The engine's stall watchdog is off by
# default here (STALL=0) so that the tunnel's own dead-link detection is
# what is tested; STALL=N tests the watchdog in tunnelled mode.  The
# channels are forwarded (tunnel-handoff off); netns-tunnel-handoff-link-down.sh
# runs this with the main channel handed off.
. "$(dirname "$0")/lib.sh"
need_netns
need_tunnel
STALL=${STALL:-0}
start_lab --netns --link-rate 100mbit --fill 256
start_agent
migrate_link_down --tunnel "$AGENT_ADDR" "${ENGINE_PSK[@]}" --tunnel-data plain \
  --tunnel-handoff off --stall-timeout "$STALL" ${TUNNEL_MIGRATE_OPTS:-}
[ "$RC" = 1 ] || fail "exit $RC, expected 1 (not migrated, guest on the source)"
if [ "$STALL" = 0 ] && [ "${HANDOFF:-0}" = 1 ]; then
  # The stream's socket is QEMU's: whichever notices first names the cause,
  # the tunnel's control connection or QEMU's own write on the dead link.
  jr .error | grep -Eq "tunnel: .* to $AGENT_ADDR|socket: (Network is unreachable|Connection timed out|No route to host)" ||
    fail "the dead link is not named: $(jr .error)"
elif [ "$STALL" = 0 ]; then
  jr .error | grep -q "tunnel: .* to $AGENT_ADDR" || fail "failed tunnel connection not named: $(jr .error)"
else
  jr .error | grep -q "stream stalled" || fail "cause not named: $(jr .error)"
fi
[ "$T" -le $((STALL + 30)) ] || fail "took $T s to give up"
expect_guest_on src
