# SPDX-License-Identifier: LGPL-2.1-or-later
# The same non-converging guest converges with the stepped policy (Nova
# style: linear steps up to max-downtime); the report shows the steps and
# QEMU never got a limit above max-downtime.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 40
migrate --max-bandwidth 16M --downtime-limit 50 --downtime-policy stepped \
  --max-downtime 4000 --downtime-steps 4 --downtime-step-delay 1000 --timeout 120
expect_migrated
n=$(jr '.policy.steps | length')
[ "$n" -ge 2 ] || fail "no step taken: $(jr -c .policy)"
jr '.policy.steps[1].why' | grep -q "step 1 of 4" || fail "step: $(jr .policy.steps[1])"
[ "$(jr '[.policy.steps[].downtime_limit_ms] | max')" -le 4000 ] || fail "above max-downtime"
expect_guest_on dst
