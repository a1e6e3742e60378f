# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig recover where no migration moves: a pair never touched is left alone
# (exit 1, no action); a destination left listening (the engine died between
# migrate-incoming and migrate) is kept with --dst-action keep and quit by
# default; a source whose QMP another client holds is not concluded on
# (exit 4); neither side reachable is exit 3 with both causes; bad usage is
# exit 2.  Then exactly one QEMU, the guest's memory right.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 5
recover
[ "$RC" = 1 ] || fail "untouched pair: exit $RC, expected 1"
grep -q 'found: destination .*guest inmigrate, incoming migration none$' "$D/recover.out" ||
  fail "destination not described"
grep -q 'cancelled (\|stopped\|resumed' "$D/recover.out" && fail "acted on an untouched pair"
alive "$DST_PID" || fail "the untouched destination was stopped"

# Another client holds the source's QMP (QEMU serves one at a time): the
# source is unknown, nothing is concluded or touched (exit 4).
socat -u "UNIX-CONNECT:$D/src.qmp" OPEN:/dev/null &
HOLD=$!; echo "$HOLD" >>"$D/pids"
sleep 0.5
recover --qmp-timeout 1000
kill "$HOLD" 2>/dev/null || true
[ "$RC" = 4 ] || fail "source held by another client: exit $RC, expected 4"
grep -q 'another QMP client holds it' "$D/recover.out" || fail "the holder is not suspected"
grep -q 'stopped\|resumed\|cancelled (' "$D/recover.out" && fail "acted without seeing the source"


printf '%s\n' '{"execute":"qmp_capabilities"}' \
  '{"execute":"migrate-incoming","arguments":{"uri":"tcp:127.0.0.1:49213"}}' |
  timeout 5 socat -t 2 - "UNIX-CONNECT:$D/dst.qmp" >/dev/null
qmp_peek dst query-migrate | jq -e 'has("socket-address")' >/dev/null || fail "not listening"
migrate
[ "$RC" = 3 ] || fail "migrate to a listening destination: exit $RC, expected 3"
grep -qF "destination already listens" "$D/migrate.out" || fail "no refusal"
grep -qF "qmig recover --lab $D" "$D/migrate.out" || fail "the refusal does not name qmig recover"
recover --dst-action keep
[ "$RC" = 1 ] || fail "--dst-action keep: exit $RC, expected 1"
grep -q 'found: destination .*listening' "$D/recover.out" || fail "listening not seen"
grep -q 'destination is kept' "$D/recover.out" || fail "keeping not said"
alive "$DST_PID" || fail "--dst-action keep stopped the destination"
recover
[ "$RC" = 1 ] || fail "exit $RC, expected 1"
grep -q 'destination QEMU stopped (quit)' "$D/recover.out" || fail "destination not quit"

set +e
"$QMIG" recover --src "unix:$D/none1.qmp" --dst "unix:$D/none2.qmp" >"$D/out" 2>&1; rc=$?
set -e
cat "$D/out"
[ "$rc" = 3 ] || fail "nothing reachable: exit $rc, expected 3"
grep -q 'none1.qmp.*No such file.*none2.qmp.*No such file' "$D/out" || fail "causes not named"
set +e; "$QMIG" recover --src "unix:$D/a" >"$D/out" 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "usage: exit $rc, expected 2"
grep -q 'both a source' "$D/out" || fail "usage message: $(cat "$D/out")"
expect_guest_on src
