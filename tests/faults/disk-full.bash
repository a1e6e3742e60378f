# SPDX-License-Identifier: LGPL-2.1-or-later
# The destination's disk fills up during the copy: the lab directory is a
# 24 MiB tmpfs holding the source's 16 MiB image (written through) and the
# destination's sparse one, which runs out of room part way through the
# mirror (ENOSPC in the destination QEMU, an NBD write error at the source).
# qmig names it; nothing moved (exit 3): the guest keeps running on the
# source, the destination still waits.
# qmig's output goes to $OUT beside it (the full tmpfs takes nothing more).
disk_full_exit() {
  local rc=$?
  set +e
  if [ -f "$D/pids" ]; then while read -r p; do kill "$p" 2>/dev/null; done < "$D/pids"; fi
  "$QMIG" lab stop --dir "$D" >/dev/null 2>&1
  umount "$D" 2>/dev/null || umount -l "$D"
  rm -rf "$OUT"
  (exit $rc)
  cleanup
}
cell() {
  [ "$MODE" = disks ] || na "no copied disk: the destination writes no image in the $MODE mode"
  [ "$(id -u)" = 0 ] || { echo "skip: mounting a tmpfs needs root"; exit 77; }
  OUT=$(mktemp -d /tmp/qmig-faults-out.XXXXXX)
  mount -t tmpfs -o size=24m,mode=0700 qmig-faults "$D" || fail "cannot mount a tmpfs on $D"
  trap disk_full_exit EXIT
  setup_pair
  start_migrate "${ENG[@]}"
  finish
  df -k "$D" | tail -n 1
  expect_rc 3
  expect_error "disk drive0: .*No space left on device"
  # Room for the memory check's dump of the guest's RAM.
  mount -o remount,size=512m "$D"
  source_only_running
}
