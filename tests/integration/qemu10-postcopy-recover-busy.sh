# SPDX-License-Identifier: LGPL-2.1-or-later
# postcopy-link-recover.sh on QEMU 10 (both sides) with the first ports of
# the data-port range taken on the destination host while the link is down:
# migrate-recover is refused on a busy port and retried on the next one of
# the range, within the recovery window; the migration completes.
. "$(dirname "$0")/lib.sh"
need_qemu10
BUSY=3 QMIG_LAB_QEMU=$QEMU10 exec bash "$(dirname "$0")/postcopy-link-recover.sh"
