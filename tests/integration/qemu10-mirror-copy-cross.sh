# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU version matrix: mirror-copy.sh (a non-shared raw disk copied over
# NBD) on 7.2 -> 10.0 (machine pc-i440fx-7.2), with that test's own checks
# (guest memory and disk, exactly one QEMU, ...).  qemu10-lib.bash.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu10-lib.bash"
on_qemu10 mirror-copy "7.2 -> 10.0"
