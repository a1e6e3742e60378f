# SPDX-License-Identifier: LGPL-2.1-or-later
# QMP across the network: qmig controls both QEMUs through QEMU's own TLS
# monitor (-chardev socket,...,tls-creds= with x509 and verify-peer, set up
# by qmig lab start --qmp-tls-dir).  A client without a certificate and one
# whose certificate another CA signed get no QMP greeting from QEMU; a
# certificate for another name is refused by qmig; a plain tcp: QMP address
# off loopback is refused before any connection; then the migration runs
# over TLS QMP, memory verified, one QEMU left.
. "$(dirname "$0")/lib.sh"
need openssl
make_pki "$D/pki"; C=$D/pki
start_lab --fill 32 --dirty 5 --qmp-tls-dir "$C"
S=$(jq -r .src_qmp_tls "$D/lab.json"); T=$(jq -r .dst_qmp_tls "$D/lab.json")
case $S$T in tls:127.0.0.1:*tls:127.0.0.1:*) ;; *) fail "lab.json: no tls: QMP addresses ($S, $T)" ;; esac
"$QMIG" lab status --dir "$D" | grep -qF "TLS QMP:     source $S, destination $T" || fail "lab status: no TLS QMP line"

# try NAME EXIT PATTERN [qmig migrate options]: refused, nothing moved.
try() {
  local what=$1 want=$2 pat=$3; shift 3
  set +e; timeout 60 "$QMIG" migrate "$@" --qmp-timeout 5000 > "$D/try.out" 2>&1; local rc=$?; set -e
  [ "$rc" = "$want" ] || fail "$what: exit $rc, want $want: $(cat "$D/try.out")"
  grep -qE "$pat" "$D/try.out" || fail "$what: no '$pat' in: $(cat "$D/try.out")"
  alive "$SRC_PID" && alive "$DST_PID" || fail "$what: a QEMU died"
  echo "refused ($what): $(grep -m1 error "$D/try.out")"
}
# Without a client certificate QEMU ends the handshake: no greeting (the
# same client with the certificate gets one: the probe itself works).
sc() { (sleep 2; echo) | timeout 10 openssl s_client -quiet -connect "${S#tls:}" -CAfile "$C/ca-cert.pem" "$@" 2>&1 || true; }
sc > "$D/nocert.out"
! grep -q '"QMP"' "$D/nocert.out" || fail "QEMU greeted a client without a certificate"
sc -cert "$C/client-cert.pem" -key "$C/client-key.pem" > "$D/cert.out"
grep -q '"QMP"' "$D/cert.out" || fail "no greeting even with the certificate: $(cat "$D/cert.out")"
echo "refused (no client certificate): no QMP greeting"
# A client certificate from another CA (qmig still trusts QEMU's CA).
make_pki "$D/pki2"; mkdir -m 700 "$D/other"
cp "$C/ca-cert.pem" "$D/other/"; cp -p "$D/pki2/client-cert.pem" "$D/pki2/client-key.pem" "$D/other/"
try "client cert of another CA" 3 "source QMP $S.*rejects our client certificate" --src "$S" --dst "$T" --qmp-tls-dir "$D/other"
# qmig checks QEMU's certificate against the name it expects.
try "wrong name" 3 "name mismatch" --src "$S" --dst "$T" --qmp-tls-dir "$C" \
  --qmp-tls-name other.qmig.test
# And against its CA.
mkdir -m 700 "$D/wrongca"; cp "$D/pki2/ca-cert.pem" "$D/wrongca/"
cp -p "$C/client-cert.pem" "$C/client-key.pem" "$D/wrongca/"
try "unknown CA" 3 "unknown CA" --src "$S" --dst "$T" --qmp-tls-dir "$D/wrongca"
# Plain tcp: QMP off loopback: refused before connecting (in a network
# namespace of its own with nothing in it, should it try anyway).
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  set +e; unshare -n "$QMIG" migrate --src tcp:198.18.0.9:4444 --dst "unix:$D/dst.qmp" \
    > "$D/tcp.out" 2>&1; rc=$?; set -e
  [ "$rc" = 3 ] || fail "non-loopback tcp: QMP: exit $rc: $(cat "$D/tcp.out")"
  grep -q "source QMP tcp:198.18.0.9:4444 is unauthenticated, plaintext control of that QEMU; use a TLS QMP socket (tls:HOST:PORT with qmp-tls-dir) or the tunnel agent, or insecure-qmp-tcp on to accept the risk" \
    "$D/tcp.out" || fail "refusal message: $(cat "$D/tcp.out")"
  ! grep -qiE "unreachable|timed out|refused" "$D/tcp.out" || fail "it tried to connect: $(cat "$D/tcp.out")"
  echo "refused (tcp off loopback): $(grep -m1 error "$D/tcp.out")"
else
  echo "(not root or no unshare: tcp refusal left to test_options)"
fi

# The right credentials: migrate --lab takes the lab's tls: addresses.
migrate
expect_migrated
[ "$(jr .config.src)" = "$S" ] && [ "$(jr .config.dst)" = "$T" ] || fail "not over TLS QMP: $(jr .config.src)"
[ "$(jr '.warnings | length')" = 0 ] || fail "warnings: $(jr .warnings)"
expect_guest_on dst
