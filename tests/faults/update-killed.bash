# SPDX-License-Identifier: LGPL-2.1-or-later
# Live update (qmig migrate --live-update auto, i.e. qmig update) with RAM
# not shared, so a local migration moves it: the new QEMU process qmig
# started from the source's definition is killed (SIGKILL) mid pre-copy.
# qmig names the destination, the guest keeps running on the old process,
# and no second QEMU is left.  One host, no tunnel, no disk copy: native
# only.
cell() {
  [ "$MODE" = native ] || na "a live update runs on one host: no tunnel, no disk copy"
  setup_pair
  kill "$DST_PID" # only the source runs before a live update
  gone "$DST_PID" 30
  rm -f "$D/dst.qmp" "$D/dst.serial" "$D/dst.pid"
  start_migrate --live-update auto --max-bandwidth 8M
  await "pre-copy" 60 said "qmig: active"
  sleep 1
  [ -s "$D/dst.pid" ] || fail "no pidfile of the new QEMU"
  DST_PID=$(cat "$D/dst.pid")
  kill -KILL "$DST_PID"
  gone "$DST_PID" 60
  finish
  expect_rc 1
  expect_error "destination QEMU went away"
  guest_ok src
}
