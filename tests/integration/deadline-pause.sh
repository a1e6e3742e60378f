# SPDX-License-Identifier: LGPL-2.1-or-later
# deadline-action pause: at the deadline the guest is paused so the rest
# can be sent; it resumes on the destination, and the report's pause holds
# the whole time it was stopped.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 40
migrate --max-bandwidth 16M --downtime-limit 50 --deadline 3 --deadline-action pause --timeout 120
expect_migrated
[ "$(jr .policy.deadline_reached)" = true ] || fail "deadline not reached"
awk -v p="$(jr .stop_to_resume_pause_ms)" 'BEGIN { exit !(p > 100) }' ||
  fail "pause $(jr .stop_to_resume_pause_ms) ms: the guest was not paused at the deadline"
expect_guest_on dst
