# SPDX-License-Identifier: LGPL-2.1-or-later
# XBZRLE with a guest that keeps dirtying, bandwidth-limited so several
# passes resend pages (the case XBZRLE exists for).
. "$(dirname "$0")/lib.sh"
start_lab --fill 64 --dirty 5
migrate --xbzrle on --xbzrle-cache-size 32M --max-bandwidth 64M
expect_migrated
[ "$(jr .config.xbzrle)" = true ] || fail "xbzrle not in report"
expect_guest_on dst
