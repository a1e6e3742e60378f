# SPDX-License-Identifier: LGPL-2.1-or-later
# copy-mode auto on QEMU 10.0 -> 10.0 when the source refuses
# block-job-change: tests/faults/qmp-proxy.py sits in front of the source's
# QMP and answers that command with an error instead of passing it on.  The
# migration must go on with the mirror in background mode and complete; the
# report says the switch was refused (QEMU's words), warns, and does not
# count block-job-change as used.  Then as mirror-copy.sh: exactly one QEMU,
# memory right, the destination's image right, no export left.
. "$(dirname "$0")/lib.sh"
need qemu-img; need python3
need_qemu10
QMIG_LAB_QEMU=$QEMU10 QMIG_LAB_DST_QEMU="" start_lab --fill 32 --dirty 10 --disk 16 --disk-copy \
  --disk-write 2048
DST_IMG=$(jq -r .dst_disk "$D/lab.json")
python3 "$TOP/tests/faults/qmp-proxy.py" --listen "$D/src-proxy.qmp" --upstream "$D/src.qmp" \
  --dir to-qemu --match '"block-job-change"' --action refuse --flag "$D/flag" \
  --log "$D/src-proxy.log" 2>"$D/src-proxy.err" &
echo $! >>"$D/pids"
for _ in $(seq 100); do [ -S "$D/src-proxy.qmp" ] && break; sleep 0.1; done
[ -S "$D/src-proxy.qmp" ] || { cat "$D/src-proxy.err"; fail "QMP proxy did not start"; }

migrate --src "unix:$D/src-proxy.qmp" --copy-disks drive0 --copy-mode auto \
  --downtime-limit 100 --max-bandwidth 16M
expect_migrated
[ -f "$D/flag" ] || fail "qmig never sent block-job-change"
python3 "$TOP/tests/helpers/validate-json.py" "$TOP/docs/schema/report.schema.json" \
  "$D/report.json" || fail "report does not match docs/schema/report.schema.json"
echo "storage: $(jq -c '.storage | del(.disks)' "$D/report.json")"
[ "$(jr .storage.copy_mode_switch)" = refused ] ||
  fail "copy_mode_switch $(jr .storage.copy_mode_switch), not refused"
jr .storage.copy_mode_switch_why | grep -q "Refused by the test's QMP proxy" ||
  fail "QEMU's words not in copy_mode_switch_why: $(jr .storage.copy_mode_switch_why)"
[ "$(jr .storage.copy_mode_switch_ms)" = null ] || fail "a switch time without a switch"
jr .warnings | grep -qF "refused to move the mirrors to write-blocking (mirror qmig-mirror-0 (disk drive0)" || fail "no warning: $(jr .warnings)"
[ "$(jr '.config.qemu_features.used | index("block-job-change")')" = null ] ||
  fail "block-job-change counted as used"
jr '.storage.disks[0].completed' | grep -qx true || fail "mirror not completed"
# Still background: QEMU never saw the change, so never actively synced.
[ "$(jr '.storage.disks[0].actively_synced')" = false ] ||
  fail "actively_synced $(jr '.storage.disks[0].actively_synced') in background mode"
left=$(qmp_peek dst query-block-exports)
[ "$left" = "[]" ] || fail "exports left on the destination: $left"
expect_guest_on dst
expect_disk "$DST_IMG" raw
