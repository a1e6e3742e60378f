# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU version matrix: pingpong.sh (a guest migrated back and forth, each leg
# to a new QEMU made from the running one) on 10.0 -> 10.0, with that test's
# own checks.  Only that cell: every new process runs the source's binary
# (the lab's other destination is ended before the first leg).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu10-lib.bash"
on_qemu10 pingpong "10.0 -> 10.0"
