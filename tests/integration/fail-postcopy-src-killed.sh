# SPDX-License-Identifier: LGPL-2.1-or-later
# The source QEMU dies during post-copy: the guest now lives on the
# destination (missing pages), so qmig must not claim "not migrated" nor
# touch the source: exit 4 (uncertain) and a report that says so.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 40
"$QMIG" migrate --lab "$D" --max-bandwidth 16M --postcopy on --postcopy-after 1s \
  --max-postcopy-bandwidth 2M --json "$D/report.json" > "$D/out" 2>&1 &
QPID=$!; echo $QPID >> "$D/pids"
# Post-copy starts 1 s in and then pushes 32 MiB at 2 MiB/s (~16 s): at 4 s
# the source is mid-post-copy.
sleep 4
alive "$SRC_PID" || fail "the migration ended before the source could be killed"
kill -KILL "$SRC_PID"
set +e; wait $QPID; RC=$?; set -e
cat "$D/out"
[ "$RC" = 4 ] || fail "exit $RC, expected 4 (guest state uncertain)"
[ "$(jr .postcopy.started)" = true ] || fail "post-copy had not started"
jr .error | grep -q "lives on the destination" || fail "error: $(jr .error)"
alive "$DST_PID" || fail "destination QEMU gone"
alive "$SRC_PID" && fail "source still alive"
exit 0
