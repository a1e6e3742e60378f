# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig migrate killed while it copies a disk, before any RAM moved (mirror
# jobs on the source, an NBD server and export on the destination).  qmig
# recover --lab --dst-action keep removes all of it, the guest stays on the
# source (exit 1) and the destination is kept, clean: a new qmig migrate of
# the same pair then succeeds (memory and the copied disk right, one QEMU).
. "$(dirname "$0")/lib.sh"
need qemu-img
start_lab --fill 32 --dirty 5 --disk 16 --disk-copy --disk-write 256
DST_IMG=$(jq -r .dst_disk "$D/lab.json")
migrate_bg --lab "$D" --copy-disks drive0 --disk-bandwidth 1M
wait_for 120 grep -q 'mirroring pass' "$D/migrate.out"
sleep 1
kill -KILL "$MIG_PID"
wait "$MIG_PID" 2>/dev/null || true

recover --dst-action keep
[ "$RC" = 1 ] || fail "qmig recover exit $RC, expected 1 (guest on the source)"
grep -q 'found: source .*guest running, migration none, 2 qmig mirror jobs/NBD nodes' \
  "$D/recover.out" || fail "source not described"
grep -q 'found: destination .*guest inmigrate, incoming migration none, 1 qmig NBD exports' \
  "$D/recover.out" || fail "destination not described"
grep -q 'disk mirrors cancelled' "$D/recover.out" || fail "mirror not cancelled"
grep -q 'NBD exports and server removed on the destination' "$D/recover.out" ||
  fail "exports not removed"
grep -q 'destination is kept' "$D/recover.out" || fail "destination not kept"
[ "$(qmp_peek src query-block-jobs)" = "[]" ] || fail "jobs left: $(qmp_peek src query-block-jobs)"
[ "$(qmp_peek dst query-block-exports)" = "[]" ] || fail "exports left"
alive "$DST_PID" || fail "the destination was not kept"

migrate --copy-disks drive0
expect_migrated
expect_guest_on dst
expect_disk "$DST_IMG" raw
