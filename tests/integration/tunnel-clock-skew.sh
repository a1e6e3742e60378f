# SPDX-License-Identifier: LGPL-2.1-or-later
# The agent pretends its host's clock runs 5 s ahead (a test-only option,
# in the tests' build of qmig: need_testhooks; the destination's QMP event
# timestamps it relays move with it).  The engine
# measures the offset over the control connection and corrects the
# STOP->RESUME pause: the report shows offset ~5000 ms, and the corrected
# pause agrees with the host-timestamped guest stall, which does not depend
# on any wall clock (uncorrected it would be ~5 s longer).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
need_testhooks
start_lab --fill 64 --dirty 10
start_agent --once --test-clock-skew-ms 5000
migrate --tunnel "$AGENT" "${ENGINE_PSK[@]}"
expect_migrated
off=$(jr .tunnel.clock.offset_ms); unc=$(jr .tunnel.clock.uncertainty_ms)
awk -v o="$off" 'BEGIN { exit !(o > 4990 && o < 5010) }' || fail "offset $off ms, expected ~5000"
awk -v u="$unc" 'BEGIN { exit !(u >= 0 && u < 10) }' || fail "uncertainty $unc ms"
p=$(jr .stop_to_resume_pause_ms); s=$(jr .guest_stall_ms)
awk -v p="$p" -v s="$s" 'BEGIN { exit !(p > 0 && p < 2000 && s - p < 200) }' ||
  fail "pause $p ms vs guest stall $s ms: offset not corrected"
echo "offset $off ms +- $unc ms; pause $p ms; guest stall $s ms"
expect_guest_on dst
