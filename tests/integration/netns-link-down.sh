# SPDX-License-Identifier: LGPL-2.1-or-later
# The link between the two namespaces goes down mid-migration.  QEMU's send
# blocks (TCP retransmits for ~15 min, the status stays "active"); qmig's
# stall watchdog (--stall-timeout) must notice that nothing moves, cancel
# within a bounded time, name the cause, and leave the guest running on the
# source only, its memory intact.
. "$(dirname "$0")/lib.sh"
need_netns
STALL=${STALL:-4}
# 100 Mbit/s: 256 MiB take ~20 s, time enough to cut the link mid-stream.
start_lab --netns --link-rate 100mbit --fill 256
migrate_link_down --stall-timeout "$STALL"
[ "$RC" = 1 ] || fail "exit $RC, expected 1 (not migrated, guest on the source)"
jr .error | grep -q "stream stalled: no progress for $STALL s" || fail "cause not named: $(jr .error)"
[ "$T" -le $((STALL + 30)) ] || fail "took $T s to give up"
expect_guest_on src
