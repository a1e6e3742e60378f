# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGINT to qmig mid-migration: cancelled, the source guest keeps running
# (heartbeats continue), the destination is stopped, memory intact.
. "$(dirname "$0")/lib.sh"
start_lab --fill 128 --dirty 10
"$QMIG" migrate --lab "$D" --max-bandwidth 16M --json "$D/report.json" > "$D/out" 2>&1 &
QPID=$!; echo $QPID >> "$D/pids"
sleep 2
kill -INT $QPID
set +e; wait $QPID; RC=$?; set -e
cat "$D/out"
[ "$RC" = 1 ] || fail "exit $RC, expected 1 (not migrated, source running)"
[ "$(jr .outcome_name)" = not-migrated ] || fail "outcome $(jr .outcome_name)"
jr .error | grep -q "cancelled on request" || fail "error does not say it was cancelled"
[ "$(jr .failed_state)" = active ] || fail "failed_state $(jr .failed_state)"
expect_guest_on src
