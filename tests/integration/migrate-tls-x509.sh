# QEMU-native TLS with x509, both peers verified: a CA, a server certificate
# for the destination (name "dst.qmig.test" and 127.0.0.1) and a client
# certificate for the source, all generated here.
. "$(dirname "$0")/lib.sh"
need openssl
C=$D/pki; mkdir -m 700 "$C"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=qmig-test-ca \
  -keyout "$C/ca-key.pem" -out "$C/ca-cert.pem" 2>/dev/null
cert() { # name CN extfile-lines
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$C/$1-key.pem" \
    -out "$C/$1.csr" 2>/dev/null
  printf '%b' "$3" > "$C/$1.ext"
  openssl x509 -req -in "$C/$1.csr" -CA "$C/ca-cert.pem" -CAkey "$C/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$C/$1.ext" -out "$C/$1-cert.pem" 2>/dev/null
}
cert server dst.qmig.test "subjectAltName=DNS:dst.qmig.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
cert client src.qmig.test "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
start_lab --fill 64 --dirty 10
migrate --tls x509 --tls-dir "$C" --tls-hostname dst.qmig.test
expect_migrated
[ "$(jr .config.tls)" = x509 ] || fail "tls not in report"
expect_guest_on dst
