# SPDX-License-Identifier: LGPL-2.1-or-later
# --postcopy-after stall: when a pass starts with no fewer bytes remaining
# than the one before (the guest out-dirties the link), switch to post-copy.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 40
migrate --max-bandwidth 16M --downtime-limit 50 --postcopy on --postcopy-after stall --timeout 120
expect_migrated
[ "$(jr .postcopy.started)" = true ] || fail "post-copy did not start"
jr .postcopy.reason | grep -q "^stall" || fail "reason $(jr .postcopy.reason)"
expect_guest_on dst
