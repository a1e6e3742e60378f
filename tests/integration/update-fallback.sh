# SPDX-License-Identifier: LGPL-2.1-or-later
# Live update of a guest whose RAM is not shared memory: a forced
# cpr-transfer is refused before anything starts (the reason and the
# options that would allow it next time), then qmig update falls back to a
# normal local migration and says why, with the same advice; memory checked
# on the new process, one QEMU left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"
start_lab --fill 64 --dirty 10
drop_lab_dst
update --live-update ignore-shared
[ "$RC" = 3 ] || fail "forced ignore-shared on private RAM: exit $RC"
grep -q 'live-update ignore-shared is not possible' "$D/update.out" || fail "no reason given"
grep -q 'memory-backend-file,id=ram0,size=[0-9]*[MK],mem-path=/dev/shm/GUEST.ram,share=on' "$D/update.out" ||
  fail "no advice with the options to use"
expect_untouched
update
expect_migrated
[ "$(jr .update.mechanism)" = migrate ] || fail "mechanism $(jr .update.mechanism)"
jr .update.reason | grep -q '^ram_not_shared:' || fail "reason $(jr .update.reason)"
jr .update.advice | grep -q 'memory-backend-file.*share=on -machine pc-i440fx-[0-9.]*,memory-backend=ram0' ||
  fail "advice $(jr .update.advice)"
[ "$(jr .transferred_bytes)" -gt $((32 << 20)) ] || fail "only $(jr .transferred_bytes) bytes: RAM not copied?"
expect_new_process
expect_guest_on dst
