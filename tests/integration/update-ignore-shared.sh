# SPDX-License-Identifier: LGPL-2.1-or-later
# Live update on QEMU 7.2: guest RAM a shared file on /dev/shm (lab
# --ram-share), so qmig update chooses x-ignore-shared, the new process maps
# the same RAM and almost nothing is sent; the guest's memory is checked on
# the new process and exactly one QEMU is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"
start_lab --fill 64 --dirty 10 --ram-share
grep -q 'memory-backend-file.*share=on' "/proc/$SRC_PID/cmdline" || fail "lab --ram-share gave no shared file"
drop_lab_dst
update
expect_migrated
[ "$(jr .update.mechanism)" = ignore_shared ] || fail "mechanism $(jr .update.mechanism)"
jr .update.reason | grep -q '^ram_shared_file:' || fail "reason $(jr .update.reason)"
[ "$(jr .config.x_ignore_shared)" = true ] || fail "x-ignore-shared not in config"
# 96 MiB of RAM, 64 MiB of it written: a copy would send tens of MiB.
[ "$(jr .transferred_bytes)" -lt $((4 << 20)) ] || fail "$(jr .transferred_bytes) bytes sent: RAM was copied"
expect_new_process
expect_guest_on dst
