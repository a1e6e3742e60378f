# SPDX-License-Identifier: LGPL-2.1-or-later
# Destinations that cannot be reached: a QMP socket nobody listens on, and a
# stream address nobody can bind.  Clear errors, exit 3, source untouched.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 5
set +e
"$QMIG" migrate --src "unix:$D/src.qmp" --dst "unix:$D/nowhere.qmp" --json "$D/report.json" > "$D/out" 2>&1
RC=$?
set -e
cat "$D/out"
[ "$RC" = 3 ] || fail "exit $RC, expected 3"
jr .error | grep -q "nowhere.qmp" || fail "error does not name the address"
jr .error | grep -q "No such file" || fail "error does not give the cause"
# The stream address: a host the destination cannot bind.  Preflight
# catches it before anything is touched...
migrate --data-host 198.18.0.1 --data-port 49152
[ "$RC" = 3 ] || fail "exit $RC, expected 3 from preflight"
jr .error | grep -q "data-port" || fail "preflight error: $(jr .error)"
# ...and without preflight, migrate-incoming fails on the destination.
migrate --data-host 198.18.0.1 --data-port 49152 --preflight off
[ "$RC" = 3 ] || fail "exit $RC, expected 3 for an unbindable stream address"
jr .error | grep -qi "assign\|bind" || fail "error: $(jr .error)"
# migrate-incoming failed, so the destination is still waiting, untouched:
# a retry with a usable address migrates.
migrate
expect_migrated
expect_guest_on dst
