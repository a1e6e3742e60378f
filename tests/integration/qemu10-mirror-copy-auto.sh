# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU version matrix: mirror-copy-auto.sh on 10.0 -> 10.0, where the source
# has block-job-change: the running mirror is moved to write-blocking near
# the end (that test's own checks; its plain run is the 7.2 cell, where the
# lack is reported).  qemu10-lib.bash.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu10-lib.bash"
on_qemu10 mirror-copy-auto "10.0 -> 10.0"
