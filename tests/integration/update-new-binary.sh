# SPDX-License-Identifier: LGPL-2.1-or-later
# Live update to another QEMU binary, the point of updating QEMU: a 7.2
# guest with RAM in a shared file moves to QEMU 10 (--dst-qemu-binary) by
# x-ignore-shared (7.2 has no cpr-transfer; 10.0 keeps pc-i440fx-7.2).
# Then the other way: a QEMU 10 guest (machine pc-i440fx-10.0) and QEMU 7.2
# as the new binary is refused before anything starts, naming the missing
# machine type (query-machines on the new binary); the guest stays put.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"
need_qemu10
start_lab --fill 64 --dirty 10 --ram-share
drop_lab_dst
update --dst-qemu-binary "$QEMU10"
expect_migrated
[ "$(jr .update.mechanism)" = ignore_shared ] || fail "mechanism $(jr .update.mechanism)"
[ "$(jr .update.new_binary)" = "$QEMU10" ] || fail "new binary $(jr .update.new_binary)"
jr .dst.qemu_version | grep -q "^10\." || fail "destination version $(jr .dst.qemu_version)"
[ "$(jr .transferred_bytes)" -lt $((4 << 20)) ] || fail "$(jr .transferred_bytes) bytes sent: RAM was copied"
expect_new_process
[ "$(readlink "/proc/$DST_PID/exe")" = "$(readlink -f "$QEMU10")" ] || fail "the new process is not QEMU 10"
expect_guest_on dst
"$QMIG" lab stop --dir "$D" >/dev/null

start_lab --qemu "$QEMU10" --fill 32 --dirty 5 --ram-share
drop_lab_dst
update --dst-qemu-binary "$(command -v qemu-system-x86_64)"
[ "$RC" = 3 ] || fail "QEMU 10 guest to 7.2: exit $RC"
grep -q "has no machine type pc-i440fx-10\.[0-9]*, which the guest runs on" "$D/update.out" ||
  fail "the refusal does not name the machine type"
expect_untouched
expect_guest_on src
