# SPDX-License-Identifier: LGPL-2.1-or-later
# deadline-action postcopy: at the deadline qmig switches to post-copy; the
# guest runs on the destination, fetching the pages it misses.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 40
migrate --max-bandwidth 16M --downtime-limit 50 --postcopy on --deadline 3 \
  --deadline-action postcopy --timeout 120
expect_migrated
[ "$(jr .postcopy.started)" = true ] || fail "post-copy did not start: $(jr -c .postcopy)"
[ "$(jr .postcopy.reason)" = deadline ] || fail "reason $(jr .postcopy.reason)"
[ "$(jr .postcopy.bytes)" -gt 0 ] || fail "no post-copy bytes"
expect_guest_on dst
