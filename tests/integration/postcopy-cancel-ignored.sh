# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGINT during post-copy: QEMU cannot cancel it (the guest already runs on
# the destination), so qmig refuses with a warning, finishes the migration
# and does not spin meanwhile.
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 40
"$QMIG" migrate --lab "$D" --max-bandwidth 16M --postcopy on --postcopy-after 1s \
  --max-postcopy-bandwidth 4M --json "$D/report.json" > "$D/out" 2>&1 &
QPID=$!; echo $QPID >> "$D/pids"
sleep 3   # post-copy from 1 s, then ~8 s of page push at 4 MiB/s
kill -INT $QPID
set +e; wait $QPID; RC=$?; set -e
cat "$D/out"
[ "$RC" = 0 ] || fail "exit $RC, expected 0 (post-copy completes)"
[ "$(jr .postcopy.started)" = true ] || fail "post-copy had not started"
jr '.warnings[]' | grep -q "during post-copy ignored" || fail "no warning: $(jr -c .warnings)"
cpu=$(jr .qmig_cpu_s); total=$(jr .total_ms)
awk -v c="$cpu" -v t="$total" 'BEGIN { exit !(c < 0.5 * t / 1000) }' ||
  fail "qmig used $cpu CPU-s in $total ms: busy-waiting"
RC=0
expect_migrated
expect_guest_on dst
