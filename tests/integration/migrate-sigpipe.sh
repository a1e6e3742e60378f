# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig migrate whose output pipe is closed at once (its reader gone, as with
# `| head` or a dead ssh session): SIGPIPE is ignored, the migration runs to
# its end, exit 0, the JSON report written, the guest on the destination.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 5
set +e
"$QMIG" migrate --lab "$D" --progress --verbose --json "$D/report.json" 2>&1 | true
RC=${PIPESTATUS[0]}
set -e
[ "$RC" = 0 ] || fail "qmig migrate exit $RC with a closed output pipe, expected 0"
[ "$(jr .outcome_name)" = migrated ] || fail "outcome $(jr .outcome_name)"
expect_guest_on dst
