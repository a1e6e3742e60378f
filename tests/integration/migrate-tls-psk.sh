# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU-native TLS with a pre-shared key (GnuTLS in QEMU).
. "$(dirname "$0")/lib.sh"
need openssl
mkdir -m 700 "$D/psk"
echo "qmig:$(openssl rand -hex 32)" > "$D/psk/keys.psk"
chmod 600 "$D/psk/keys.psk"
start_lab --fill 64 --dirty 10
migrate --tls psk --tls-dir "$D/psk" --tls-psk-user qmig
expect_migrated
[ "$(jr .config.tls)" = psk ] || fail "tls not in report"
expect_guest_on dst
