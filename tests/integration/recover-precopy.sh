# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig migrate SIGKILLed during active pre-copy: the source still streams,
# the destination still loads.  qmig recover --lab says what it found on each
# side, cancels, and leaves the guest on the source (exit 1): exactly one
# QEMU, the guest running, its memory right.  A second qmig recover finds
# nothing to do and says so.
. "$(dirname "$0")/lib.sh"
start_lab --fill 128 --dirty 10
migrate_bg --lab "$D" --max-bandwidth 16M
wait_for 60 grep -q '^qmig: active' "$D/migrate.out"
sleep 1
kill -KILL "$MIG_PID"
wait "$MIG_PID" 2>/dev/null || true
[ "$(qmp_peek src query-migrate | jq -r .status)" = active ] || fail "source not migrating"

recover
[ "$RC" = 1 ] || fail "qmig recover exit $RC, expected 1 (guest on the source)"
grep -q 'found: source .*guest running, migration active' "$D/recover.out" || fail "source not described"
grep -q 'found: destination .*guest inmigrate, incoming migration active' "$D/recover.out" ||
  fail "destination not described"
grep -q 'source migration cancelled' "$D/recover.out" || fail "no cancel"
grep -q 'the guest runs on the source' "$D/recover.out" || fail "conclusion missing"
[ "$(jq -r .recover.result "$D/recover.json")" = "guest on the source" ] || fail "report"

# Run again: nothing in progress, the guest runs on the source.
recover
[ "$RC" = 1 ] || fail "second qmig recover exit $RC, expected 1"
grep -q 'found: destination .*unreachable.*refused' "$D/recover.out" || fail "destination should be gone"
grep -q 'the guest runs on the source' "$D/recover.out" || fail "conclusion missing"
grep -q 'cancelled (\|stopped\|resumed' "$D/recover.out" && fail "acted although nothing was in progress"
expect_guest_on src
