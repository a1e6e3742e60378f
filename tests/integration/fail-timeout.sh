# SPDX-License-Identifier: LGPL-2.1-or-later
# --timeout ends a migration that takes too long: cancelled, exit 1, the
# source guest keeps running, the destination is stopped.
. "$(dirname "$0")/lib.sh"
start_lab --fill 128 --dirty 10
migrate --max-bandwidth 8M --timeout 2
[ "$RC" = 1 ] || fail "exit $RC, expected 1"
jr .error | grep -q "timed out after 2 s" || fail "error: $(jr .error)"
[ "$(jr .status)" = cancelled ] || fail "status $(jr .status), expected cancelled"
expect_guest_on src
