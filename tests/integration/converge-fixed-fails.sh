# SPDX-License-Identifier: LGPL-2.1-or-later
# A guest dirtying faster than the bandwidth allows (40 MiB/s against a
# 16 MiB/s cap) never converges with a fixed 50 ms limit: at the deadline
# qmig cancels, the source keeps running, memory intact.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 40
migrate --max-bandwidth 16M --downtime-limit 50 --deadline 5
[ "$RC" = 1 ] || fail "exit $RC, expected 1 (not converged, not migrated)"
jr .error | grep -q "not converged by the deadline of 5 s" || fail "error: $(jr .error)"
[ "$(jr .policy.deadline_reached)" = true ] || fail "deadline not recorded"
[ "$(jr '.policy.steps | length')" = 1 ] || fail "a fixed policy changed the limit"
[ "$(jr '.passes | length')" -ge 3 ] || fail "fewer than 3 passes before the deadline"
expect_guest_on src
