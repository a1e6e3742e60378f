# SPDX-License-Identifier: LGPL-2.1-or-later
# multifd with 4 channels on both sides.
. "$(dirname "$0")/lib.sh"
start_lab --fill 128 --dirty 20
migrate --multifd-channels 4
expect_migrated
[ "$(jr .config.multifd_channels)" = 4 ] || fail "multifd-channels not 4 in report"
expect_guest_on dst
