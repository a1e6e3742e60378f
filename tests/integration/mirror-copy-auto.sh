# SPDX-License-Identifier: LGPL-2.1-or-later
# copy-mode auto: the guest's disk drive0 is copied over NBD while the guest
# rewrites it (and dirties RAM; the stream is held to 16 MiB/s so the RAM
# migration runs several passes).  The mirror starts in background; where
# the source QEMU has block-job-change (8.2+: qemu10-mirror-copy-auto.sh runs
# this on 10.0) the report says it switched to write-blocking during the RAM
# migration, when and why, and query-block-jobs' actively-synced as last
# seen; where it has none (7.2) the mirror stayed background and the report
# says block-job-change was lacked.  Either way, as mirror-copy.sh: exactly
# one QEMU, memory right, the destination's own image right and consistent
# with the RAM, no export left; the report valid against its schema.
. "$(dirname "$0")/lib.sh"
need qemu-img
start_lab --fill 32 --dirty 10 --disk 16 --disk-copy --disk-write 2048
SRC_IMG=$(jq -r .disk "$D/lab.json") DST_IMG=$(jq -r .dst_disk "$D/lab.json")
[ "$SRC_IMG" != "$DST_IMG" ] || fail "lab disk is shared"

# What the source QEMU offers, asked here independently of qmig: a QEMU
# without the command says CommandNotFound, one with it that no such job
# exists.
has=$(printf '%s\n' '{"execute":"qmp_capabilities"}' \
  '{"execute":"block-job-change","arguments":{"id":"none","type":"mirror","copy-mode":"write-blocking"}}' |
  timeout 5 socat -t 2 - "UNIX-CONNECT:$D/src.qmp" | jq -r 'select(has("error")) | .error.class')
echo "source QEMU on block-job-change of no job: $has"
[ -n "$has" ] || fail "no answer to block-job-change"
if [ "$has" = CommandNotFound ]; then has=0; else has=1; fi

migrate --copy-disks drive0 --copy-mode auto --downtime-limit 100 --max-bandwidth 16M
expect_migrated
python3 "$TOP/tests/helpers/validate-json.py" "$TOP/docs/schema/report.schema.json" \
  "$D/report.json" || fail "report does not match docs/schema/report.schema.json"
echo "storage: $(jq -c '.storage | del(.disks)' "$D/report.json")"
echo "disk: $(jq -c '.storage.disks[0]' "$D/report.json")"
[ "$(jr .storage.copy_mode)" = auto ] || fail "copy mode $(jr .storage.copy_mode)"
[ "$(jr .storage.copy_mode_start)" = background ] || fail "started $(jr .storage.copy_mode_start)"
jr '.storage.disks[0].completed' | grep -qx true || fail "mirror not completed"
grep -q "copy mode auto: started background" "$D/migrate.out" || fail "no copy mode in the summary"
if [ "$has" -ge 1 ]; then
  [ "$(jr .storage.copy_mode_switch)" = switched ] ||
    fail "mirror not switched: $(jr .storage.copy_mode_switch) $(jr .storage.copy_mode_switch_why)"
  ms=$(jr .storage.copy_mode_switch_ms) total=$(jr .total_ms)
  # During the RAM migration: after migrate, before its end.
  awk -v s="$ms" -v t="$total" 'BEGIN { exit !(s > 0 && s < t) }' ||
    fail "switched at $ms ms, RAM migration took $total ms"
  jr .storage.copy_mode_switch_why | grep -Eq '^(RAM migration near its end|disk copy not converging)' ||
    fail "switch trigger: $(jr .storage.copy_mode_switch_why)"
  # QEMU itself said so: actively-synced in query-block-jobs (write-blocking
  # mode with nothing left to copy) once the switch was made.
  [ "$(jr '.storage.disks[0].actively_synced')" = true ] ||
    fail "query-block-jobs never showed actively-synced: $(jr '.storage.disks[0].actively_synced')"
  jr '.config.qemu_features.used | index("block-job-change")' | grep -qv null ||
    fail "block-job-change not in config.qemu_features.used"
  grep -q "write-blocking from" "$D/migrate.out" || fail "switch not in the summary"
else
  [ "$(jr .storage.copy_mode_switch)" = lacked ] ||
    fail "copy_mode_switch $(jr .storage.copy_mode_switch) on a QEMU without block-job-change"
  jr '.config.qemu_features.src_lacks | index("block-job-change")' | grep -qv null ||
    fail "block-job-change not in config.qemu_features.src_lacks"
  [ "$(jr .storage.copy_mode_switch_ms)" = null ] || fail "a switch time without a switch"
  [ "$(jr '.storage.disks[0].actively_synced')" = null ] || fail "actively_synced from 7.2?"
  grep -q "stayed background: the source QEMU has no block-job-change" "$D/migrate.out" ||
    fail "the lack is not in the summary"
fi

left=$(qmp_peek dst query-block-exports)
[ "$left" = "[]" ] || fail "exports left on the destination: $left"
expect_guest_on dst
expect_disk "$DST_IMG" raw
"$QMIG" verify-disk-image --image "$SRC_IMG" --format raw || fail "source image damaged"
