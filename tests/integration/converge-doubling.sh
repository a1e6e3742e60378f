# SPDX-License-Identifier: LGPL-2.1-or-later
# The same guest converges with the doubling policy (Proxmox style: double
# the limit whenever remaining stops shrinking), capped at max-downtime.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 40
migrate --max-bandwidth 16M --downtime-limit 250 --downtime-policy doubling \
  --max-downtime 4000 --timeout 120
expect_migrated
jr '.policy.steps[1].why' | grep -q "doubling" || fail "no doubling: $(jr -c .policy)"
[ "$(jr '.policy.steps[1].downtime_limit_ms')" = 500 ] || fail "first doubling not to 500"
[ "$(jr '[.policy.steps[].downtime_limit_ms] | max')" -le 4000 ] || fail "above max-downtime"
expect_guest_on dst
