# SPDX-License-Identifier: LGPL-2.1-or-later
# A spawned destination with its disk elsewhere: --map OLD=NEW rewrites the
# source's -blockdev filename for the new process, which opens its own
# (empty) image; the disk is copied over NBD (copy-all-disks) while RAM
# moves.  Memory and disk checked on the new process; one QEMU left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"
start_lab --fill 32 --dirty 5 --disk 16 --disk-write 64 --disk-copy
drop_lab_dst
# First the destination's image locked by another process as QEMU locks
# images (an OFD write lock on byte 100, as a QEMU that still has it open):
# refused before anything starts.
lock_image "$D/disk-dst.raw"
migrate --dst-spawn on --quit-source on --map "$D/disk.raw=$D/disk-dst.raw" --copy-all-disks on
[ "$RC" = 3 ] || fail "locked image: exit $RC"
grep -q "image $D/disk-dst.raw (--map) is locked by another process" "$D/migrate.out" ||
  fail "the lock not named"
expect_untouched
kill "$LOCKER"
wait "$LOCKER" 2>/dev/null || true
migrate --dst-spawn on --quit-source on --map "$D/disk.raw=$D/disk-dst.raw" --copy-all-disks on
expect_migrated
expect_new_process
tr '\0' '\n' < "/proc/$DST_PID/cmdline" | grep -q "filename=$D/disk-dst.raw," ||
  fail "the new process does not open the mapped image"
tr '\0' '\n' < "/proc/$DST_PID/cmdline" | grep -q "filename=$D/disk.raw," &&
  fail "the new process opens the source's image"
[ "$(jr '.storage.disks[0].action')" = copy ] || fail "disk not copied: $(jr .storage)"
expect_guest_on dst
expect_disk "$D/disk-dst.raw" raw
