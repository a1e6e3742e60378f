#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# the certificates of tools/bench/tunnel.sh, into $PKI (default /tmp/p3-pki)
PKI=${PKI:-/tmp/p3-pki}
mkdir -m 700 -p "$PKI" || exit 2
pki() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=qmig-bench-ca \
    -keyout "$PKI/ca-key.pem" -out "$PKI/ca-cert.pem" 2>/dev/null || return 1
  for who in server client; do
    if [ $who = server ]; then
      cn=dst.qmig.test ext="subjectAltName=DNS:dst.qmig.test,IP:198.18.0.2,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
    else
      cn=src.qmig.test ext="subjectAltName=DNS:src.qmig.test\nextendedKeyUsage=clientAuth"
    fi
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$PKI/$who-key.pem" \
      -out "$PKI/$who.csr" 2>/dev/null || return 1
    chmod 600 "$PKI/$who-key.pem" # qmig refuses keys group/others can read
    printf '%b\nkeyUsage=digitalSignature,keyEncipherment\n' "$ext" >"$PKI/$who.ext"
    openssl x509 -req -in "$PKI/$who.csr" -CA "$PKI/ca-cert.pem" -CAkey "$PKI/ca-key.pem" \
      -CAcreateserial -days 2 -extfile "$PKI/$who.ext" -out "$PKI/$who-cert.pem" 2>/dev/null ||
      return 1
  done
}
pki
