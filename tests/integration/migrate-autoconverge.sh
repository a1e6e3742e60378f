# SPDX-License-Identifier: LGPL-2.1-or-later
# The guest dirties faster than the bandwidth cap allows to converge
# (~40 MiB/s against 16 MiB/s): auto-converge throttles it until it does.
. "$(dirname "$0")/lib.sh"
start_lab --fill 64 --dirty 40
migrate --auto-converge on --cpu-throttle-initial 50 --cpu-throttle-increment 20 \
  --max-bandwidth 16M --downtime-limit 100 --timeout 120
expect_migrated
[ "$(jr '.passes | length')" -ge 3 ] || fail "converged in under 3 passes: was it throttled at all?"
expect_guest_on dst
