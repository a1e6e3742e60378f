# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole run's stall timeline: a TCG lab on QEMU < 9.0 gets RAM 8 KiB off
# a multiple of 256 KiB (the lost-page workaround; elsewhere asked for with
# --ram-align unaligned), so QEMU syncs the dirty bitmap page by page and the
# guest freezes during setup.  The report must
# name that setup stall, about as long as QEMU's setup-time, and the
# switchover stall; max_stall_ms/max_stall_phase agree with the list.
. "$(dirname "$0")/lib.sh"
# QEMU < 9.0: the lab's default (the lost-page workaround); newer QEMU only
# gets it when asked.
ver=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p;q')
align=()
[ -n "$ver" ] && [ "$ver" -lt 9 ] || align=(--ram-align unaligned)
start_lab --fill 512 --mem 544 --heartbeat 5 "${align[@]}"
# The lab's RAM is 8 KiB off the multiple: QEMU's slow path.
m=$(tr '\0' '\n' < "/proc/$SRC_PID/cmdline" | sed -n '/^-m$/{n;p;q}')
[ "$m" = 557064K ] || fail "source QEMU's -m is $m, not 557064K"
migrate
expect_migrated
setup=$(jr .setup_ms)
echo "setup_ms $setup, max stall $(jr .max_stall_ms) in $(jr .max_stall_phase)," \
  "stalls $(jr .stalls_total), threshold $(jr .stall_threshold_ms)"
[ "$(jr .stall_threshold_ms)" = 10 ] || fail "threshold $(jr .stall_threshold_ms), want 2 periods"
# The setup stall: present, and about QEMU's setup-time (the freeze is the
# first dirty sync, which setup-time contains; a heartbeat period and the
# reader's latency either side).
s=$(jr '[.stalls[] | select(.phase == "setup") | .duration_ms] | max // empty')
[ -n "$s" ] || fail "no setup stall (setup-time $setup ms)"
awk -v s="$s" -v t="$setup" 'BEGIN { exit !(t >= 50 && s >= 0.5 * t - 20 && s <= t + 200) }' ||
  fail "setup stall $s ms vs setup-time $setup ms"
# The switchover stall, within the pause and one period plus the resume.
w=$(jr '[.stalls[] | select(.phase == "switchover") | .duration_ms] | max // empty')
[ -n "$w" ] || fail "no switchover stall"
awk -v w="$w" -v g="$(jr .guest_stall_ms)" 'BEGIN { exit !(w > g - 1 && w < g + 1) }' ||
  fail "switchover stall $w ms is not the guest stall $(jr .guest_stall_ms) ms"
[ "$(jr '.stop_at_ms < .resume_at_ms')" = true ] || fail "stop/resume marks"
# max_stall_* agree with the list; the list is in time order.
[ "$(jr '([.stalls[].duration_ms] | max) == .max_stall_ms')" = true ] || fail "max_stall_ms"
[ "$(jr '.stalls_total >= (.stalls | length)')" = true ] || fail "stalls_total"
[ "$(jr '.stalls | max_by(.duration_ms).phase')" = "$(jr .max_stall_phase)" ] ||
  fail "max_stall_phase"
[ "$(jr '[.stalls[].start_ms] == ([.stalls[].start_ms] | sort)')" = true ] || fail "not in order"
grep -q "max stall" "$D/migrate.out" || fail "no max stall line in the summary"
expect_guest_on dst
