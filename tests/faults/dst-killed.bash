# SPDX-License-Identifier: LGPL-2.1-or-later
# The destination QEMU is killed (SIGKILL) mid pre-copy (with disks: after
# the mirror is ready, while the RAM moves): qmig names the destination,
# the guest keeps running on the source.
cell() {
  setup_pair
  start_migrate "${TUN[@]}" "${ENG[@]}" --max-bandwidth 8M
  await "pre-copy" 60 said "qmig: active"
  sleep 1
  kill -KILL "$DST_PID"
  gone "$DST_PID" 60
  finish
  expect_rc 1
  expect_error "destination QEMU went away"
  guest_ok src
}
