# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU's newer migration features, chosen by probing.  10.0 -> 10.0:
# switchover-ack (with return-path, checked set on the destination), and
# channels instead of a URI on both sides (migrate, migrate-incoming) are
# used, as config.qemu_features says.  7.2 -> 10.0: the source lacks them
# (only the destination's migrate-incoming takes channels), and
# switchover-ack on is refused before anything moves.  7.2 -> 7.2: nothing
# newer used, both sides lack it.
# Memory check and one QEMU after each migration.
. "$(dirname "$0")/lib.sh"
need_qemu10
cap() { qmp_peek "$1" query-migrate-capabilities | jq -r ".[] | select(.capability == \"$2\") | .state"; }
feat() { jr ".config.qemu_features.$1 | join(\",\")"; }

QMIG_LAB_QEMU=$QEMU10 start_lab --fill 32 --dirty 10
migrate
expect_migrated
[ "$(feat used)" = switchover-ack,channels,incoming-channels ] || fail "10.0: used '$(feat used)'"
[ "$(feat src_lacks)$(feat dst_lacks)" = "" ] || fail "10.0 lacks something"
expect_guest_on dst
[ "$(cap dst switchover-ack)" = true ] || fail "switchover-ack not set on the destination"
[ "$(cap dst return-path)" = true ] || fail "return-path not set on the destination"
"$QMIG" lab stop --dir "$D" >/dev/null

# 7.2 -> 10.0: the source lacks it; asked for explicitly, refused.
QMIG_LAB_DST_QEMU=$QEMU10 start_lab --fill 32 --dirty 10
migrate --switchover-ack on
[ "$RC" = 3 ] || fail "switchover-ack on with a 7.2 source: exit $RC, not 3"
grep -q "source QEMU 7\.2\.[0-9]* has no migration capability 'switchover-ack'" \
  "$D/migrate.out" ||
  fail "no clear refusal"
migrate
expect_migrated
[ "$(feat used)" = incoming-channels ] || fail "7.2 -> 10.0: used '$(feat used)'"
[ "$(feat src_lacks)" = switchover-ack,dirty-limit,channels,block-job-change ] ||
  fail "src_lacks '$(feat src_lacks)'"
[ "$(feat dst_lacks)" = "" ] || fail "dst_lacks '$(feat dst_lacks)'"
expect_guest_on dst
[ "$(cap dst switchover-ack)" = false ] || fail "switchover-ack set on the destination"
"$QMIG" lab stop --dir "$D" >/dev/null

# 7.2 -> 7.2: nothing newer used, neither side has it.
start_lab --fill 32 --dirty 10
migrate
expect_migrated
[ "$(feat used)" = "" ] || fail "7.2: used '$(feat used)'"
[ "$(feat src_lacks)" = switchover-ack,dirty-limit,channels,block-job-change ] ||
  fail "7.2 src_lacks '$(feat src_lacks)'"
[ "$(feat dst_lacks)" = switchover-ack,dirty-limit,incoming-channels ] ||
  fail "7.2 dst_lacks '$(feat dst_lacks)'"
expect_guest_on dst
