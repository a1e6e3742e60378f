# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared-storage migration of a guest that writes its disk: both QEMUs open
# the same image (DIR/disk.FMT), the guest rewrites it at 2 MiB/s through
# the switchover and goes on writing on the destination.  Then: exactly one
# QEMU, memory right, every disk unit right, the RAM's mirror of the disk's
# unit counter consistent with the disk's own, and a byte of garbage in a
# data unit caught and named.  FMT=qcow2: migrate-shared-disk-qcow2.sh.
. "$(dirname "$0")/lib.sh"
need qemu-img
FMT=${FMT:-raw}
IMG=$D/disk.$FMT
start_lab --fill 32 --disk 64 --disk-format "$FMT" --disk-write 2048 --dirty 10
[ -f "$IMG" ] || fail "lab made no $IMG"
[ "$(jq -r .disk_format "$D/lab.json")" = "$FMT" ] || fail "lab.json disk_format"
echo "disk cache mode: $(jq -r .disk_cache "$D/lab.json")"

migrate
expect_migrated

# guest RAM word: the control page's dpos (struct qg_ctl, offset 40)
ram_dpos() {
  printf '%s\n' '{"execute":"qmp_capabilities"}' \
    '{"execute":"human-monitor-command","arguments":{"command-line":"xp /1wu 0x1000028"}}' |
    socat -t 2 - "UNIX-CONNECT:$D/dst.qmp" | jq -r 'select(.return | type == "string") | .return' |
    tr -d '\r' | awk '{ print $2 }'
}
a=$(ram_dpos); sleep 2; b=$(ram_dpos)
echo "destination guest disk writes: dpos $a -> $b in 2 s ($(( (b - a) * 4 / 2 )) KiB/s)"
[ "$b" -gt "$a" ] || fail "the destination guest does not write its disk"

expect_guest_on dst # verify-memory leaves the destination guest stopped
expect_disk "$IMG" "$FMT"
d=$(sed -n 's/.*disk unit writes \([0-9]*\)).*/\1/p' "$D/memcheck.out")
[ "$d" -gt 16383 ] || fail "no rewrites after the fill (dpos $d)"

# Garbage in data unit 1234 (sector 3, byte 100) must be caught and named.
unit=1234 off=$(( (1 + 1234) * 4096 + 3 * 512 + 100 ))
if [ "$FMT" = raw ]; then
  old=$(od -An -tx1 -j "$off" -N1 "$IMG" | tr -d ' ')
  if [ "$old" = 55 ]; then printf '\xaa'; else printf '\x55'; fi |
    dd of="$IMG" bs=1 seek="$off" conv=notrunc status=none
else
  "$QMIG" lab stop --dir "$D" >/dev/null # qemu-io needs the image's write lock
  old=$(qemu-io -f qcow2 -r -c "read -v $off 1" "$IMG" | awk 'NR == 1 { print $2 }')
  pat=0x55; [ "$old" = 55 ] && pat=0xaa
  qemu-io -f qcow2 -c "write -P $pat $off 1" "$IMG" >/dev/null
fi
set +e
out=$("$QMIG" verify-disk-image --image "$IMG" --format "$FMT"); rc=$?
set -e
echo "$out"
[ $rc = 1 ] || fail "corrupted disk: verify-disk-image exit $rc, expected 1"
grep -q "data unit $unit " <<<"$out" || fail "corruption not named as unit $unit"
grep -q "image offset $off " <<<"$out" || fail "corruption not at image offset $off"
