# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig create-disks: empty destination images made like the source's disks
# (same format, same virtual size, explicit formats), never overwriting;
# then a destination QEMU started on them (the lab's own destination command
# line with its images swapped for the created ones) takes a live migration
# that copies both disks, and ends with the usual checks.
. "$(dirname "$0")/lib.sh"
need qemu-img
start_lab --fill 16 --dirty 5 --disk 4 --disk-format qcow2 --disk-copy --disk-write 256 \
  --data-disk 2
N=$D/new; mkdir "$N"
"$QMIG" create-disks --dir "$N" --src "unix:$D/src.qmp" --copy-all-disks on | tee "$D/cd.out"
info() { qemu-img info -U --output=json "$1" | jq -r '"\(.format) \(."virtual-size")"'; }
[ "$(info "$N/drive0.qcow2")" = "qcow2 4194304" ] || fail "drive0: $(info "$N/drive0.qcow2")"
[ "$(info "$N/drive1.raw")" = "raw 2097152" ] || fail "drive1: $(info "$N/drive1.raw")"
grep -q -- "-blockdev driver=qcow2,file=drive0-file,node-name=drive0" "$D/cd.out" ||
  fail "no -blockdev line for drive0"
set +e
"$QMIG" create-disks --dir "$N" --src "unix:$D/src.qmp" --copy-disks drive0 2> "$D/err"; rc=$?
set -e
[ $rc = 3 ] && grep -q "exists; qmig never overwrites" "$D/err" || fail "overwrite: $rc $(cat "$D/err")"
set +e
"$QMIG" create-disks --src "unix:$D/src.qmp" --copy-disks drive0 2> "$D/err"; rc=$?
set -e
[ $rc = 2 ] && grep -q -- "--dir DIR is needed" "$D/err" || fail "no --dir: $rc"

# The destination again, on the created images.
mapfile -d '' args < "/proc/$DST_PID/cmdline"
kill "$DST_PID"; for _ in $(seq 50); do alive "$DST_PID" || break; sleep 0.1; done
for i in "${!args[@]}"; do
  args[$i]=${args[$i]//"$D/disk-dst.qcow2"/"$N/drive0.qcow2"}
  args[$i]=${args[$i]//"$D/data.raw"/"$N/drive1.raw"}
done
printf '%s\n' "${args[@]}" | grep -q "$N/drive1.raw" || fail "command line not rewritten"
"${args[@]}"
DST_PID=$(cat "$D/dst.pid")
migrate --copy-all-disks on
expect_migrated
[ "$(jr '[.storage.disks[] | select(.action == "copy")] | length')" = 2 ] || fail "not 2 copied"
expect_guest_on dst
expect_disk "$N/drive0.qcow2" qcow2
"$QMIG" lab stop --dir "$D" >/dev/null
cmp "$D/data.raw" "$N/drive1.raw" || fail "drive1 copy differs"
echo "create-disks: ok"
