# SPDX-License-Identifier: LGPL-2.1-or-later
# A disk copied over NBD with QEMU-native TLS (x509, both peers verified,
# the migration's own credentials) while the RAM goes over TLS too; the
# guest writes its disk throughout.  Then the usual: one QEMU, memory and
# the destination's disk right.
. "$(dirname "$0")/lib.sh"
need openssl; need qemu-img
make_pki "$D/pki"
start_lab --fill 32 --dirty 10 --disk 16 --disk-format qcow2 --disk-copy --disk-write 1024
migrate --tls x509 --tls-dir "$D/pki" --tls-hostname dst.qmig.test --copy-disks drive0 \
  --nbd-tls on
expect_migrated
[ "$(jr .storage.nbd_tls)" = true ] || fail "nbd_tls not in the report"
jr '.storage.disks[0].completed' | grep -qx true || fail "mirror not completed"
expect_guest_on dst
expect_disk "$(jq -r .dst_disk "$D/lab.json")" qcow2
