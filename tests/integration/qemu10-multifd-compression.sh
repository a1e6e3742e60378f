# SPDX-License-Identifier: LGPL-2.1-or-later
# multifd with zstd, then zlib compression (multifd-compression) on 10.0 ->
# 10.0, 2 channels: the parameter is set on the destination and in the
# report's config; memory check and one QEMU each.  (The lab guest's fill
# is pseudo-random: it hardly compresses, so no byte count is asserted.)
. "$(dirname "$0")/lib.sh"
need_qemu10
for alg in zstd zlib; do
  QMIG_LAB_QEMU=$QEMU10 start_lab --fill 64 --dirty 5
  migrate --multifd-channels 2 --multifd-compression "$alg"
  expect_migrated
  [ "$(jr '.config.multifd_compression')" = "$alg" ] || fail "config says $(jr '.config.multifd_compression')"
  [ "$(qmp_peek dst query-migrate-parameters | jq -r '."multifd-compression"')" = "$alg" ] ||
    fail "destination's multifd-compression is not $alg"
  echo "$alg: $(jr .transferred_bytes) bytes for a 64 MiB fill"
  expect_guest_on dst
  "$QMIG" lab stop --dir "$D" >/dev/null
done
