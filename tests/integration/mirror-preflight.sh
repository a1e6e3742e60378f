# SPDX-License-Identifier: LGPL-2.1-or-later
# Copying a disk is refused before anything moves when the destination's
# disk cannot take it: too small, another format (a qcow2 source and a raw
# destination: the destination would read qcow2 metadata as guest data),
# missing; and when copy-disks names a disk the source does not have.  Each
# time: exit 3, the cause named, no NBD server or export left on the
# destination, which still waits for a migration, and the source guest runs
# with its memory right.
. "$(dirname "$0")/lib.sh"
need qemu-img
dst_state() {
  printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-status"}' \
    '{"execute":"query-block-exports"}' | socat -t 2 - "UNIX-CONNECT:$D/dst.qmp" |
    jq -r '.return | select(type == "array" or has("status")?) |
      if type == "array" then "exports=\(length)" else .status end' |
    tr '\n' ' '
}
refused() { # lab-options... -- expected-message [migrate options]
  local lab=() msg
  while [ "$1" != -- ]; do lab+=("$1"); shift; done
  shift; msg=$1; shift
  start_lab --fill 16 --disk 4 --disk-copy "${lab[@]}"
  migrate --copy-disks "${1:-drive0}"
  [ "$RC" = 3 ] || fail "exit $RC, expected 3 (not started)"
  grep -q -- "$msg" "$D/migrate.out" || fail "no '$msg' in the output"
  grep -q "nothing moved" "$D/migrate.out" || fail "does not say nothing moved"
  [ "$(dst_state)" = "inmigrate exports=0 " ] || fail "destination: $(dst_state)"
  alive "$DST_PID" || fail "destination QEMU gone"
  "$QMIG" verify-memory --qmp "unix:$D/src.qmp" --tmpdir "$D" || fail "memory check on src"
  "$QMIG" lab stop --dir "$D" >/dev/null
}
refused --dst-disk 2 -- "drive0: destination disk too small: 2097152 bytes, the source has 4194304"
refused --disk-format qcow2 --dst-disk-format raw -- \
  "drive0: format differs: source qcow2, destination raw (the destination would take"
refused --dst-no-disk -- "drive0: the destination QEMU has no disk 'drive0'"
refused -- "copy-disks: the source has no disk 'nosuch'" nosuch

# A qcow2 image given without a format is never opened as raw (nor probed):
# every qmig command that opens an image refuses it.
qemu-img create -q -f qcow2 "$D/x.qcow2" 4M
set +e
"$QMIG" verify-disk-image --image "$D/x.qcow2" 2> "$D/err"; rc1=$?
"$QMIG" verify-disks --src "$D/x.qcow2" --dst "$D/x.qcow2" --dst-format qcow2 2>> "$D/err"; rc2=$?
set -e
[ $rc1 = 2 ] && [ $rc2 = 2 ] || fail "formatless image: exits $rc1 $rc2: $(cat "$D/err")"
grep -q "qmig never probes" "$D/err" || fail "$(cat "$D/err")"
echo "mirror-preflight: ok"
