# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig migrate killed once the stream moves, the migration left to complete
# without it.  The source guest is paused first (`stop`), so after the
# completion the destination stays paused too: the engine's `cont` never
# came.  qmig recover --lab finds the source completed and the destination
# paused, resumes the destination and quits the source (exit 0): exactly one
# QEMU, the guest running there, its memory right.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 5
printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"stop"}' |
  timeout 5 socat -t 2 - "UNIX-CONNECT:$D/src.qmp" >/dev/null
migrate_bg --lab "$D" --max-bandwidth 8M
wait_for 60 grep -q 'active *pass' "$D/migrate.out"
kill -KILL "$MIG_PID"
wait "$MIG_PID" 2>/dev/null || true
completed() { [ "$(qmp_peek src query-migrate | jq -r .status)" = completed ]; }
wait_for 60 completed
[ "$(qmp_peek dst query-status | jq -r .status)" = paused ] || fail "destination not paused"

recover
[ "$RC" = 0 ] || fail "qmig recover exit $RC, expected 0 (guest on the destination)"
grep -q 'found: source .*guest postmigrate, migration completed' "$D/recover.out" ||
  fail "source not described"
grep -q 'found: destination .*guest paused, incoming migration completed' "$D/recover.out" ||
  fail "destination not described"
grep -q 'destination guest resumed (cont)' "$D/recover.out" || fail "destination not resumed"
grep -q 'source QEMU stopped (quit)' "$D/recover.out" || fail "source not quit"
grep -q 'source guest resumed' "$D/recover.out" && fail "the source was resumed"
expect_guest_on dst
