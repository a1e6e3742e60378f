# SPDX-License-Identifier: LGPL-2.1-or-later
# Post-copy across a link that goes down and comes back: qmig sees the
# stream stop (--stall-timeout), pauses both sides (postcopy-paused),
# resumes once the link is back (migrate-recover on the destination,
# migrate resume on the source) and the migration completes: the guest on
# the destination only, its memory intact, the pause in the report.
# GONE=1 (postcopy-link-gone.sh): the link stays down past
# --postcopy-recover-window: exit 4 naming qmig recover, both sides paused;
# then the link returns and qmig recover finishes the migration.
# QMIG_LAB_QEMU=BINARY runs both QEMUs with that binary (QEMU 10: see
# postcopy-link-recover-10.sh).  BUSY=N (qemu10-postcopy-recover-busy.sh):
# the first N ports of the data-port range are taken on the destination
# host from the start (the stream gets the next one): migrate-recover is
# refused on each ("in use") and retried on the next port of the range.
. "$(dirname "$0")/lib.sh"
need_netns
GONE=${GONE:-0}
BUSY=${BUSY:-0}
WINDOW=30
[ "$GONE" = 1 ] && WINDOW=4
LAB=(--netns --fill 32 --dirty 40)
[ -n "${QMIG_LAB_QEMU:-}" ] && LAB+=(--qemu "$QMIG_LAB_QEMU")
start_lab "${LAB[@]}"
TAKEN=()
for port in $(seq 49152 $((49152 + BUSY - 1))); do
  ip netns exec "$DST_NS" socat "TCP-LISTEN:$port,reuseaddr,fork" /dev/null 2>/dev/null &
  p=$!
  echo "$p" >>"$D/pids"
  sleep 0.3
  alive "$p" && TAKEN+=("$port")
done
[ "$BUSY" = 0 ] || [ ${#TAKEN[@]} -gt 0 ] || fail "no port of the range could be taken"
# Post-copy pushes 32 MiB at 2 MiB/s: ~16 s in which to cut the link.
migrate_bg --lab "$D" --max-bandwidth 16M --postcopy on --postcopy-after 1s \
  --max-postcopy-bandwidth 2M --stall-timeout 2 --postcopy-recover-window "$WINDOW"
wait_for 60 grep -q 'postcopy-active' "$D/migrate.out"
ip -n "$SRC_NS" link set "$SRC_IF" down
# Down for longer than the stall timeout plus the pause.
wait_for 30 grep -q 'pausing both sides' "$D/migrate.out"
if [ "$GONE" = 1 ]; then
  for _ in $(seq 300); do alive "$MIG_PID" || break; sleep 0.1; done
  alive "$MIG_PID" && fail "qmig still runs 30 s after the link went down (window $WINDOW s)"
  set +e; wait "$MIG_PID"; RC=$?; set -e
  cat "$D/migrate.out"
  [ "$RC" = 4 ] || fail "exit $RC, expected 4 (uncertain: post-copy paused)"
  grep -q "not resumed within postcopy-recover-window $WINDOW s" "$D/migrate.out" ||
    fail "the give-up is not explained"
  grep -q "qmig recover resumes it" "$D/migrate.out" || fail "what to do is not said"
  grep -q "post-copy paused at .* ms, NOT resumed after" "$D/migrate.out" ||
    fail "pause not in the summary"
  jq -e '.postcopy.pauses[0] | .resumed == false and .attempts >= 1' "$D/report.json" >/dev/null ||
    fail "pause not in the report: $(jq -c .postcopy "$D/report.json")"
  [ "$(qmp_peek src query-migrate | jq -r .status)" = postcopy-paused ] || fail "source not paused"
  [ "$(qmp_peek dst query-migrate | jq -r .status)" = postcopy-paused ] ||
    fail "destination not paused"
  ip -n "$SRC_NS" link set "$SRC_IF" up
  recover
  [ "$RC" = 0 ] || fail "qmig recover exit $RC after the link came back"
  grep -q 'post-copy resumed over' "$D/recover.out" || fail "recover did not resume post-copy"
  expect_guest_on dst
  exit 0
fi
sleep 3
ip -n "$SRC_NS" link set "$SRC_IF" up
for _ in $(seq 900); do alive "$MIG_PID" || break; sleep 0.1; done
alive "$MIG_PID" && fail "qmig still runs 90 s after the link came back"
set +e; wait "$MIG_PID"; RC=$?; set -e
cat "$D/migrate.out"
[ "$RC" = 0 ] || fail "exit $RC, expected 0 (migrated after the link came back)"
grep -q "post-copy resumed over" "$D/migrate.out" || fail "resume not logged"
if [ "$BUSY" != 0 ]; then
  rport=$(sed -n 's/.*post-copy resumed over tcp:.*:\([0-9]*\) after.*/\1/p' "$D/migrate.out" | tail -1)
  [ -n "$rport" ] || fail "no tcp port in the resume line"
  for t in "${TAKEN[@]}"; do [ "$rport" != "$t" ] || fail "resumed on the taken port $t"; done
  [ "$rport" -gt "${TAKEN[0]}" ] && [ "$rport" -le 49215 ] ||
    fail "resumed on port $rport: not a later port of the range (taken: ${TAKEN[*]})"
  echo "ports taken: ${TAKEN[*]}; resumed on $rport"
fi
grep -q "post-copy paused at .* ms, resumed after" "$D/migrate.out" || fail "pause not in the summary"
jq -e '.postcopy.pauses | length == 1 and .[0].resumed and .[0].duration_ms >= 2000' \
  "$D/report.json" >/dev/null || fail "pause not in the report: $(jq -c .postcopy "$D/report.json")"
expect_guest_on dst
