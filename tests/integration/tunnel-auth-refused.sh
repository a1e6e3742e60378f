# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnel authentication failures move nothing and name their cause, on the
# engine's side (error, exit 3) and in the agent's log: an unknown CA, a
# certificate for another name, a wrong PSK, an unknown PSK identity, an
# engine without credential against an agent with one, plaintext data asked
# of an agent that refuses it.  Afterwards the untouched destination takes a
# correct migration.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
make_pki
start_lab --fill 32 --dirty 5

start_agent --tls x509 --tls-dir "$C/ca"
refused "unknown CA" "unknown CA" --tunnel-tls x509 --tunnel-tls-dir "$C/ca2"
agent_logged "unknown ca|handshake"
refused "engine without credential" "requires TLS" --tunnel-insecure-no-auth on --preflight on
agent_logged "plaintext control connection"

restart_agent --tls x509 --tls-dir "$C/badname"
refused "name mismatch" "name mismatch" --tunnel-tls x509 --tunnel-tls-dir "$C/ca"

make_psk "$D/agent.psk"; make_psk "$D/engine.psk"
restart_agent --tls psk --tls-psk-file "$D/agent.psk" --plain-data refuse
refused "wrong PSK" "bad PSK" --tunnel-tls psk --tunnel-psk-file "$D/engine.psk"
agent_logged "PSK|binder|decrypt"

make_psk "$D/other.psk" other
refused "unknown PSK identity" "bad PSK" --tunnel-tls psk --tunnel-psk-file "$D/other.psk" \
  --tunnel-psk-identity other
agent_logged "handshake"

refused "plain data refused" "refuses plaintext data" --tunnel-tls psk \
  --tunnel-psk-file "$D/agent.psk" --tunnel-data plain

# Right credentials: the same destination migrates.
migrate --tunnel "$AGENT" --tunnel-tls psk --tunnel-psk-file "$D/agent.psk"
expect_migrated
jr .tunnel.tls | grep -q "(psk); data TLS$" || fail "tls: $(jr .tunnel.tls)"
expect_guest_on dst
