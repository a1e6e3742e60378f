# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig migrate killed while the source waits at pre-switchover with a copied
# disk's mirror still running (the engine is stopped with SIGSTOP once the
# RAM stream moves, so QEMU reaches pre-switchover on its own, then killed).
# qmig recover --lab cancels, the source guest runs again, the mirror job and
# its NBD node are gone from the source (and the dead run's private NBD
# socket directory from /tmp), the destination is quit: exactly one
# QEMU, memory right, the source's disk image consistent with its RAM.
. "$(dirname "$0")/lib.sh"
need qemu-img
start_lab --fill 32 --dirty 2 --disk 16 --disk-copy --disk-write 512
SRC_IMG=$(jq -r .disk "$D/lab.json")
# Without --lab (so the serial sockets stay free to watch the guest).
migrate_bg --src "unix:$D/src.qmp" --dst "unix:$D/dst.qmp" --copy-disks drive0 \
  --max-bandwidth 16M --downtime-limit 100
wait_for 120 grep -q 'active *pass' "$D/migrate.out"
kill -STOP "$MIG_PID"
# The source stops its vCPUs at pre-switchover: no heartbeat for a second.
wait_for 120 guest_stopped src
kill -KILL "$MIG_PID"
wait "$MIG_PID" 2>/dev/null || true
[ "$(qmp_peek src query-migrate | jq -r .status)" = pre-switchover ] || fail "source not at pre-switchover"
qmp_peek src query-block-jobs | jq -e 'map(select(.device == "qmig-mirror-0")) | length == 1' \
  >/dev/null || fail "no mirror job on the source"
SOCKDIR=$(qmp_peek src query-named-block-nodes |
  jq -r '.[] | select(.["node-name"] == "qmig-nbd-0") | .file' | sed -n 's|.*socket=\(/tmp/qmig-nbd\.[^/]*\)/nbd.sock.*|\1|p')
[ -n "$SOCKDIR" ] && [ -d "$SOCKDIR" ] || fail "no private NBD socket directory of the dead run"

recover
[ "$RC" = 1 ] || fail "qmig recover exit $RC, expected 1 (guest on the source)"
grep -q 'found: source .*migration pre-switchover.*qmig mirror jobs/NBD nodes' "$D/recover.out" ||
  fail "source not described"
grep -q 'found: destination .*qmig NBD exports' "$D/recover.out" || fail "destination not described"
grep -q 'source migration cancelled' "$D/recover.out" || fail "no cancel"
grep -q 'disk mirrors cancelled' "$D/recover.out" || fail "mirror not cancelled"
grep -q 'the guest runs on the source' "$D/recover.out" || fail "conclusion missing"
[ "$(qmp_peek src query-block-jobs)" = "[]" ] || fail "jobs left: $(qmp_peek src query-block-jobs)"
qmp_peek src query-named-block-nodes | jq -e 'map(select(.["node-name"] | startswith("qmig-"))) | length == 0' \
  >/dev/null || fail "qmig NBD node left on the source"
[ ! -e "$SOCKDIR" ] || fail "the dead run's NBD socket directory $SOCKDIR is left"
expect_guest_on src
expect_disk "$SRC_IMG" raw
