# SPDX-License-Identifier: LGPL-2.1-or-later
# Live update on QEMU 10 by cpr-transfer: RAM a shared memfd with
# aux-ram-share=on (lab --ram-share probes the binary for it); the new
# process gets the RAM over the cpr channel, QEMU's downtime stays small
# and almost nothing is sent; memory checked on the new process, one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"
need_qemu10
start_lab --qemu "$QEMU10" --fill 64 --dirty 10 --ram-share
grep -q 'memory-backend-memfd' "/proc/$SRC_PID/cmdline" || fail "lab --ram-share gave no memfd on QEMU 10"
drop_lab_dst
update
[ "$RC" = 0 ] || fail "qmig update exit $RC"
[ "$(jr .status)" = completed ] || fail "status $(jr .status)"
[ "$(jr .update.mechanism)" = cpr_transfer ] || fail "mechanism $(jr .update.mechanism)"
jr .update.reason | grep -q '^cpr_transfer_available:' || fail "reason $(jr .update.reason)"
[ "$(jr .transferred_bytes)" -lt $((4 << 20)) ] || fail "$(jr .transferred_bytes) bytes sent: RAM was copied"
d=$(jr .qemu_downtime_ms)
# Measured 3-4 ms by hand; generous under a loaded machine.
awk -v d="$d" 'BEGIN { exit !(d >= 0 && d < 500) }' || fail "QEMU downtime $d ms"
[ "$(jr .heartbeat.dst_lines)" -gt 0 ] || fail "no heartbeats from the new process"
expect_new_process
expect_guest_on dst
