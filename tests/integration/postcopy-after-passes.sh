# SPDX-License-Identifier: LGPL-2.1-or-later
# --postcopy-after 2passes: post-copy starts once the third pass begins and
# completes; the report covers the post-copy phase.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 40
migrate --max-bandwidth 16M --downtime-limit 50 --postcopy on --postcopy-after 2passes --timeout 120
expect_migrated
[ "$(jr .postcopy.started)" = true ] || fail "post-copy did not start"
[ "$(jr .postcopy.reason)" = "after 2 passes" ] || fail "reason $(jr .postcopy.reason)"
[ "$(jr '.passes | length')" -ge 3 ] || fail "started before the third pass"
for f in duration_ms bytes page_requests; do
  [ "$(jr .postcopy.$f)" != null ] || fail "postcopy.$f missing"
done
expect_guest_on dst
