# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnelled migration between two hosts on one machine: the source QEMU and
# qmig in one network namespace, the destination QEMU and qmig agent in the
# other.  Authenticated plaintext data and TLS data (x509, both peers
# verified; control and QMP always TLS) at 1 and 4 channels (TUNNEL_CASES
# to choose); every case ends with the memory check and
# exactly one QEMU, and the stream must have crossed the veth to the agent.
. "$(dirname "$0")/lib.sh"
need_netns
need_tunnel
need openssl
C=$D/pki; mkdir -m 700 "$C"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=qmig-test-ca \
  -keyout "$C/ca-key.pem" -out "$C/ca-cert.pem" 2>/dev/null
cert() { # name CN ext-lines
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$C/$1-key.pem" \
    -out "$C/$1.csr" 2>/dev/null
  chmod 600 "$C/$1-key.pem"
  printf '%b' "$3" > "$C/$1.ext"
  openssl x509 -req -in "$C/$1.csr" -CA "$C/ca-cert.pem" -CAkey "$C/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$C/$1.ext" -out "$C/$1-cert.pem" 2>/dev/null
}
cert server dst.qmig.test "subjectAltName=DNS:dst.qmig.test,IP:198.18.0.2\nextendedKeyUsage=serverAuth\n"
cert client src.qmig.test "extendedKeyUsage=clientAuth\n"

one() { # tls(none|x509) channels
  local tls=$1 ch=$2 aopts=() mopts=()
  echo "== tunnel tls=$tls channels=$ch"
  "$QMIG" lab stop --dir "$D" >/dev/null
  start_lab --netns --fill 64 --dirty 10
  # Both authenticate with x509 (control and QMP over TLS); plain carries
  # the migration channels in authenticated plaintext.
  aopts=(--tls x509 --tls-dir "$C")
  mopts=(--tunnel-tls x509 --tunnel-tls-dir "$C" --tunnel-peer-name dst.qmig.test)
  [ "$tls" = x509 ] || mopts+=(--tunnel-data plain)
  [ "$ch" -gt 1 ] && mopts+=(--multifd-channels "$ch")
  start_agent "${aopts[@]}"
  local rx0; rx0=$(rx_bytes "$DST_NS" "$DST_IF")
  migrate --tunnel "$AGENT_ADDR" "${mopts[@]}" ${TUNNEL_MIGRATE_OPTS:-}
  expect_migrated
  local want='plain (authenticated)'; [ "$tls" = x509 ] && want=TLS
  jr .tunnel.tls | grep -q "(x509); data $want\$" || fail "tls: $(jr .tunnel.tls)"
  local rx=$(( $(rx_bytes "$DST_NS" "$DST_IF") - rx0 ))
  [ "$rx" -ge "$(jr .transferred_bytes)" ] ||
    fail "destination veth received $rx bytes, less than the $(jr .transferred_bytes) transferred"
  local path=forwarded; [ "$tls" != x509 ] && [ "$ch" = 1 ] && path=handoff
  [ "$(jr '[.tunnel.channels[] | select(.kind=="main")][0].path')" = "$path" ] ||
    fail "main channel not $path: $(jr .tunnel.channels)"
  expect_guest_on dst
  for _ in $(seq 50); do alive "$AGENT_PID" || break; sleep 0.1; done
  alive "$AGENT_PID" && fail "agent (--once) still runs after the migration"
  return 0
}
for c in ${TUNNEL_CASES:-plain:1 plain:4 x509:1 x509:4}; do one "${c%%:*}" "${c##*:}"; done
"$QMIG" lab stop --dir "$D"
ns_gone
