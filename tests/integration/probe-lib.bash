# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by probe-udp.sh and probe-icmp.sh (sourced after lib.sh, once the
# migration's report is in $D/report.json): the network section's view of
# the switchover against the vCPU pause and the guest's heartbeat stall.
#
# probe_check_switchover LABEL: more than 100 replies; exactly one gap of
# phase switchover; it holds the vCPU pause (STOP..RESUME, 5 ms slack) and,
# announcements on, ends no later than the heartbeat stall (same
# last-before/first-after definition) plus max(QMIG_PROBE_TOLERANCE_MS
# [50], 20%): probe and heartbeat periods and the guest's scheduling under
# TCG on a loaded host.  It can be shorter: under TCG the destination guest
# answers before its first heartbeat line reaches the host (seen: gap 333
# ms, stall 719 ms).  A reply comes back after the resume.  Sets GAP,
# GAP_START (ms since migrate) for further checks.
probe_check_switchover() {
  local label=$1 sw pause stall back tol
  [ "$(jr .network.received)" -gt 100 ] || fail "only $(jr .network.received) replies"
  sw=$(jr '[.network.gaps[] | select(.phase == "switchover")] | length')
  [ "$sw" = 1 ] || fail "$sw switchover gaps (want exactly one)"
  GAP=$(jr '.network.gaps[] | select(.phase == "switchover") | .duration_ms')
  GAP_START=$(jr '.network.gaps[] | select(.phase == "switchover") | .start_ms')
  pause=$(jr .stop_to_resume_pause_ms)
  stall=$(jr .guest_stall_ms)
  back=$(jr .network.first_reply_after_resume_ms)
  echo "$label gap across switchover $GAP ms (from $GAP_START ms); heartbeat stall $stall ms;" \
    "vCPU pause $pause ms; first reply $back ms after the resume"
  [ "$back" != null ] || fail "no reply after the destination resumed"
  awk -v g="$GAP" -v p="$pause" 'BEGIN { exit !(g >= p - 5) }' ||
    fail "network gap $GAP ms shorter than the vCPU pause $pause ms"
  tol=${QMIG_PROBE_TOLERANCE_MS:-50}
  awk -v g="$GAP" -v s="$stall" -v t="$tol" \
    'BEGIN { lim = t > 0.2 * s ? t : 0.2 * s; exit !(g <= s + lim) }' ||
    fail "network gap $GAP ms exceeds the heartbeat stall $stall ms by more than max($tol ms, 20%)"
}
