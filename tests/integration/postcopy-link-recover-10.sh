# SPDX-License-Identifier: LGPL-2.1-or-later
# postcopy-link-recover.sh on QEMU 10 (both sides).
. "$(dirname "$0")/lib.sh"
need_qemu10
QMIG_LAB_QEMU=$QEMU10 exec bash "$(dirname "$0")/postcopy-link-recover.sh"
