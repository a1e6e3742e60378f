# SPDX-License-Identifier: LGPL-2.1-or-later
# The destination QEMU dies mid-migration: qmig reports it, the source
# keeps running, memory intact.
. "$(dirname "$0")/lib.sh"
start_lab --fill 128 --dirty 10
"$QMIG" migrate --lab "$D" --max-bandwidth 16M --json "$D/report.json" > "$D/out" 2>&1 &
QPID=$!; echo $QPID >> "$D/pids"
sleep 2
kill -KILL "$DST_PID"
set +e; wait $QPID; RC=$?; set -e
cat "$D/out"
[ "$RC" = 1 ] || fail "exit $RC, expected 1"
jr .error | grep -qi "destination" || fail "error does not name the destination: $(jr .error)"
expect_guest_on src
