# SPDX-License-Identifier: LGPL-2.1-or-later
# Post-copy with postcopy-preempt (page requests on a channel of their own)
# on 10.0 -> 10.0: set on both QEMUs, reported as used, the migration
# completes in post-copy; memory check and one QEMU.
. "$(dirname "$0")/lib.sh"
need_qemu10
QMIG_LAB_QEMU=$QEMU10 start_lab --fill 32 --dirty 40
migrate --max-bandwidth 16M --downtime-limit 50 --postcopy on --postcopy-after 2passes \
  --postcopy-preempt on --timeout 120
expect_migrated
[ "$(jr .postcopy.started)" = true ] || fail "post-copy did not start"
jr '.config.qemu_features.used[]' | grep -qx postcopy-preempt || fail "postcopy-preempt not used"
[ "$(qmp_peek dst query-migrate-capabilities |
  jq -r '.[] | select(.capability == "postcopy-preempt") | .state')" = true ] ||
  fail "postcopy-preempt not set on the destination"
expect_guest_on dst
