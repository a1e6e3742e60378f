# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig migrate killed during post-copy.  Natively QEMU goes on without the
# engine (the stream runs between the two QEMUs), so qmig recover --lab
# finds post-copy under way, waits for it (bounded) and ends with the guest
# on the destination (exit 0), the source quit (--lab sets quit-source):
# exactly one QEMU, memory right.
# PAUSE=1 (recover-postcopy-paused.sh): after the kill the stream is broken
# by hand (migrate-pause on the source, as a cut link would), both sides
# wait in postcopy-paused, and qmig recover resumes post-copy
# (migrate-recover on the destination, migrate resume on the source).
. "$(dirname "$0")/lib.sh"
start_lab --fill 32 --dirty 40
migrate_bg --lab "$D" --max-bandwidth 16M --postcopy on --postcopy-after 1s \
  --max-postcopy-bandwidth 2M
# Post-copy then pushes 32 MiB at 2 MiB/s: ~16 s to kill the engine in.
wait_for 60 grep -q 'postcopy-active' "$D/migrate.out"
kill -KILL "$MIG_PID"
wait "$MIG_PID" 2>/dev/null || true
if [ "${PAUSE:-0}" = 1 ]; then
  printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"migrate-pause"}' |
    timeout 5 socat -t 2 - "UNIX-CONNECT:$D/src.qmp" >/dev/null
  paused_both() {
    [ "$(qmp_peek src query-migrate | jq -r .status)" = postcopy-paused ] &&
      [ "$(qmp_peek dst query-migrate | jq -r .status)" = postcopy-paused ]
  }
  wait_for 30 paused_both
fi
st=$(qmp_peek src query-migrate | jq -r .status)
case "$st" in postcopy-*) ;; *) fail "source not in post-copy after the kill: $st" ;; esac

recover
[ "$RC" = 0 ] || fail "qmig recover exit $RC, expected 0 (guest on the destination)"
grep -q "found: source .*migration $st" "$D/recover.out" || fail "source not described"
if [ "${PAUSE:-0}" = 1 ]; then
  grep -q 'found: destination .*incoming migration postcopy-paused' "$D/recover.out" ||
    fail "destination not described"
  grep -q 'post-copy resumed over' "$D/recover.out" || fail "post-copy not resumed"
fi
grep -q 'post-copy goes on' "$D/recover.out" || fail "did not wait for post-copy"
grep -q 'source QEMU stopped (quit)' "$D/recover.out" || fail "source not quit"
grep -q 'the guest runs on the destination' "$D/recover.out" || fail "conclusion missing"
grep -q 'resumed (cont)' "$D/recover.out" && fail "recover resumed a guest it must not"
expect_guest_on dst
