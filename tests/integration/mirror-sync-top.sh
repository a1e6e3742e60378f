# SPDX-License-Identifier: LGPL-2.1-or-later
# disk-sync top: drive1 is a qcow2 overlay (1 MiB rewritten) over a raw
# base of random data that both hosts already have; only the overlay's data
# crosses, and the destination's overlay + base read exactly as the
# source's.  drive0, written by the guest throughout and without a backing
# image, is copied whole in the same run.
. "$(dirname "$0")/lib.sh"
need qemu-img; need qemu-io; need qemu-nbd
start_lab --fill 32 --dirty 10 --disk 16 --disk-format qcow2 --disk-copy --disk-write 1024 \
  --data-disk 16 --data-disk-top
migrate --copy-disks drive0,drive1 --disk-sync top
expect_migrated
[ "$(jr .storage.sync)" = top ] || fail "sync $(jr .storage.sync)"
b1=$(jr '.storage.disks[] | select(.name == "drive1") | .bytes')
b0=$(jr '.storage.disks[] | select(.name == "drive0") | .bytes')
echo "copied: drive0 $b0 bytes (whole, 16 MiB disk), drive1 $b1 bytes (top of a 16 MiB disk)"
[ "$b1" -ge 1048576 ] && [ "$b1" -le 2097152 ] || fail "drive1: $b1 bytes, expected 1-2 MiB"
[ "$b0" -ge 16777216 ] || fail "drive0: $b0 bytes, expected the whole disk"
expect_guest_on dst
expect_disk "$(jq -r .dst_disk "$D/lab.json")" qcow2
"$QMIG" lab stop --dir "$D" >/dev/null # the images' locks
"$QMIG" verify-disks --src "$D/data.qcow2" --src-format qcow2 --dst "$D/data-dst.qcow2" \
  --dst-format qcow2 || fail "drive1 differs between the hosts"
echo "mirror-sync-top: ok"
