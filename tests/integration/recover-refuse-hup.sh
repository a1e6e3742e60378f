# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig migrate refuses a pair whose source already migrates (a qmig that
# died left it) and names the command that fixes it: qmig recover --lab DIR,
# which then works.  SIGHUP (a closed ssh session) cancels a migration as
# SIGINT does: exit 1, the guest keeps running on the source.
. "$(dirname "$0")/lib.sh"
start_lab --fill 64 --dirty 5
migrate_bg --lab "$D" --max-bandwidth 8M
wait_for 60 grep -q 'active *pass' "$D/migrate.out"
kill -KILL "$MIG_PID"
wait "$MIG_PID" 2>/dev/null || true

migrate
[ "$RC" = 3 ] || fail "qmig migrate exit $RC, expected 3 (refused)"
grep -q "source already has a migration in state 'active'" "$D/migrate.out" || fail "no refusal"
grep -qF "qmig recover --lab $D" "$D/migrate.out" || fail "the refusal does not name qmig recover"
recover
[ "$RC" = 1 ] || fail "qmig recover exit $RC, expected 1"
expect_guest_on src

# A fresh pair for SIGHUP.
"$QMIG" lab stop --dir "$D" >/dev/null
start_lab --fill 64 --dirty 5
migrate_bg --lab "$D" --max-bandwidth 8M
wait_for 60 grep -q 'active *pass' "$D/migrate.out"
kill -HUP "$MIG_PID"
set +e; wait "$MIG_PID"; RC=$?; set -e
cat "$D/migrate.out"
[ "$RC" = 1 ] || fail "exit $RC after SIGHUP, expected 1 (cancelled, guest on the source)"
[ "$(jr .outcome_name)" = not-migrated ] || fail "outcome $(jr .outcome_name)"
jr .error | grep -q "cancelled on request" || fail "error: $(jr .error)"
expect_guest_on src
