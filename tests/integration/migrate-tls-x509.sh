# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU-native TLS with x509, both peers verified: a CA, a server certificate
# for the destination (name "dst.qmig.test" and 127.0.0.1) and a client
# certificate for the source, all generated here.
. "$(dirname "$0")/lib.sh"
need openssl
make_pki "$D/pki"; C=$D/pki
start_lab --fill 64 --dirty 10
migrate --tls x509 --tls-dir "$C" --tls-hostname dst.qmig.test
expect_migrated
[ "$(jr .config.tls)" = x509 ] || fail "tls not in report"
expect_guest_on dst
