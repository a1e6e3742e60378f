# SPDX-License-Identifier: LGPL-2.1-or-later
# Non-shared disks: the guest's disk drive0 is copied over NBD while the
# guest rewrites it (and dirties RAM); a second disk drive1 is shared
# storage and must not be copied.  Then: exactly one QEMU, memory right,
# every unit of the destination's own image right and consistent with the
# RAM, the shared disk untouched, the source's image untouched by the copy,
# and the NBD exports and server gone from the destination.
# FMT=qcow2: mirror-copy-qcow2.sh.  MODE=write-blocking: mirror-write-blocking.sh.
. "$(dirname "$0")/lib.sh"
need qemu-img
FMT=${FMT:-raw} MODE=${MODE:-background} WRITE=${WRITE:-1024} BW=${BW:-0}
start_lab --fill 32 --dirty 10 --disk 16 --disk-format "$FMT" --disk-copy \
  --disk-write "$WRITE" --data-disk 8
SRC_IMG=$(jq -r .disk "$D/lab.json") DST_IMG=$(jq -r .dst_disk "$D/lab.json")
[ "$SRC_IMG" != "$DST_IMG" ] || fail "lab disk is shared"
data_sum=$(sha256sum < "$D/data.raw")

migrate --copy-disks drive0 --copy-mode "$MODE" --downtime-limit 100 --disk-bandwidth "$BW"
expect_migrated
[ "$(jr '.storage.disks | map(select(.action == "copy")) | map(.name) | join(",")')" = drive0 ] ||
  fail "copied disks: $(jr .storage.disks)"
[ "$(jr '.storage.disks[] | select(.name == "drive1") | .action')" = shared ] ||
  fail "drive1 not shared: $(jr .storage.disks)"
[ "$(jr .storage.copy_mode)" = "$MODE" ] || fail "copy mode $(jr .storage.copy_mode)"
b=$(jr '.storage.disks[0].bytes') size=$(jr '.storage.disks[0].size')
[ "$b" -ge "$size" ] || fail "copied $b bytes of a $size-byte disk"
jr '.storage.disks[0].completed' | grep -qx true || fail "mirror not completed"
if [ "$BW" != 0 ]; then # QEMU's rate limit is coarse: a loose bound, not a timing test
  rate=$(jr '.storage.disks[0].rate_bytes_per_s')
  awk -v r="$rate" -v bw="$(numfmt --from=iec "$BW")" 'BEGIN { exit !(r <= 1.5 * bw) }' ||
    fail "mirror rate $rate B/s above --disk-bandwidth $BW"
fi
echo "mirror: $b bytes, ready in $(jr '.storage.disks[0].time_to_ready_ms') ms," \
  "switchover $(jr .storage.switchover_ms) ms"

# No export and no NBD server left on the destination.
left=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-block-exports"}' |
  socat -t 2 - "UNIX-CONNECT:$D/dst.qmp" | jq -c 'select(.return | type == "array") | .return')
[ "$left" = "[]" ] || fail "exports left on the destination: $left"

expect_guest_on dst
expect_disk "$DST_IMG" "$FMT"
[ "$(sha256sum < "$D/data.raw")" = "$data_sum" ] || fail "the shared disk changed"
# The source's image still holds a consistent state of the guest's disk
# (the copy only read it): its units are all valid.
"$QMIG" verify-disk-image --image "$SRC_IMG" --format "$FMT" || fail "source image damaged"
