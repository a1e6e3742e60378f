# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU 10.0 -> 7.2 (machine pc-i440fx-7.2 on both) is refused before
# anything moves: QEMU migrates only to the same or a newer version.  Exit
# 3 with the preflight's message; the source guest still runs with its
# memory intact, the destination still waits (inmigrate, no migration).
. "$(dirname "$0")/lib.sh"
need_qemu10
QMIG_LAB_QEMU=$QEMU10 QMIG_LAB_DST_QEMU=qemu-system-x86_64 QMIG_LAB_MACHINE=pc-i440fx-7.2 \
  start_lab --fill 32 --dirty 10
migrate
[ "$RC" = 3 ] || fail "qmig migrate exit $RC, not 3"
grep -q "destination QEMU 7\.2\.[0-9]* .*is older than the source's 10\.0\.[0-9]*" "$D/migrate.out" ||
  fail "no version refusal in the output"
grep -q "QEMU migrates only to the same or a newer version" "$D/migrate.out" || fail "no reason given"
[ "$(jr .outcome_name)" = not-started ] || fail "outcome $(jr .outcome_name)"
alive "$DST_PID" || fail "destination QEMU gone"
[ "$(qmp_peek dst query-status | jq -r .status)" = inmigrate ] || fail "destination not inmigrate"
[ "$(qmp_peek dst query-migrate | jq -r '.status // "none"')" = none ] ||
  fail "destination has a migration"
[ "$(qmp_peek src query-migrate | jq -r '.status // "none"')" = none ] || fail "source has a migration"
# The destination, unused, goes; the source guest runs on, memory intact.
kill "$DST_PID"
expect_guest_on src
