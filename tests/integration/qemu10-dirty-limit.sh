# SPDX-License-Identifier: LGPL-2.1-or-later
# dirty-limit (a convergence policy beside auto-converge): QEMU 7.2 lacks
# it (refused by the probe, naming the side), QEMU 10.0 under TCG refuses it
# itself (it needs KVM with a dirty ring); both before anything moves,
# exit 3, the source guest untouched.  With auto-converge: a usage error.
. "$(dirname "$0")/lib.sh"
need_qemu10
QMIG_LAB_DST_QEMU=$QEMU10 start_lab --fill 32 --dirty 10
migrate --dirty-limit on --vcpu-dirty-limit 50
[ "$RC" = 3 ] || fail "7.2 source: exit $RC, not 3"
grep -q "source QEMU 7\.2\.[0-9]* has no migration capability 'dirty-limit'" "$D/migrate.out" ||
  fail "no clear refusal on 7.2"
migrate --dirty-limit on --auto-converge on
[ "$RC" = 2 ] || fail "dirty-limit with auto-converge: exit $RC, not 2"
grep -q "exclude each other" "$D/migrate.out" || fail "no usage message"
"$QMIG" lab stop --dir "$D" >/dev/null
QMIG_LAB_QEMU=$QEMU10 start_lab --fill 32 --dirty 10
migrate --dirty-limit on
[ "$RC" = 3 ] || fail "10.0 under TCG: exit $RC, not 3"
grep -q "nothing moved" "$D/migrate.out" || fail "not refused before anything moved"
grep -qi "dirty.ring\|kvm" "$D/migrate.out" || fail "QEMU's reason (KVM dirty ring) not shown"
[ "$(qmp_peek dst query-status | jq -r .status)" = inmigrate ] || fail "destination not waiting"
kill "$DST_PID"
expect_guest_on src
