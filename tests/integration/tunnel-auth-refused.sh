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
# auth_code WHAT: the last report's error_code is auth: a refused credential
# (TLS handshake, session proof), not an unreachable agent.  Not for the
# engine without credential: the agent refuses it with a bad-hello status,
# which does not tell a credential from a malformed hello.
auth_code() { [ "$(jr .error_code)" = auth ] || fail "$1: error_code $(jr .error_code), expected auth"; }
# valid_report WHAT: the report validates against docs/schema/report.schema.json
# (with python3-jsonschema; its tunnel section too).
valid_report() {
  python3 -c 'import jsonschema' 2>/dev/null || return 0
  python3 "$(dirname "$0")/../helpers/validate-json.py" "$(dirname "$0")/../../docs/schema/report.schema.json" \
    "$D/report.json" || fail "$1: the report does not validate against its schema"
}
start_lab --fill 32 --dirty 5

start_agent --tls x509 --tls-dir "$C/ca"
refused "unknown CA" "unknown CA" --tunnel-tls x509 --tunnel-tls-dir "$C/ca2"
auth_code "unknown CA"
agent_logged "unknown ca|handshake"
refused "engine without credential" "requires TLS" --tunnel-insecure-no-auth on --preflight on
agent_logged "plaintext control connection"

restart_agent --tls x509 --tls-dir "$C/badname"
refused "name mismatch" "name mismatch" --tunnel-tls x509 --tunnel-tls-dir "$C/ca"
auth_code "name mismatch"

make_psk "$D/agent.psk"; make_psk "$D/engine.psk"
restart_agent --tls psk --tls-psk-file "$D/agent.psk" --plain-data refuse
refused "wrong PSK" "bad PSK" --tunnel-tls psk --tunnel-psk-file "$D/engine.psk"
auth_code "wrong PSK"
valid_report "wrong PSK"
agent_logged "PSK|binder|decrypt"

make_psk "$D/other.psk" other
refused "unknown PSK identity" "bad PSK" --tunnel-tls psk --tunnel-psk-file "$D/other.psk" \
  --tunnel-psk-identity other
auth_code "unknown PSK identity"
agent_logged "handshake"

refused "plain data refused" "refuses plaintext data" --tunnel-tls psk \
  --tunnel-psk-file "$D/agent.psk" --tunnel-data plain
auth_code "plain data refused"

# Right credentials: the same destination migrates.
migrate --tunnel "$AGENT" --tunnel-tls psk --tunnel-psk-file "$D/agent.psk"
expect_migrated
jr .tunnel.tls | grep -q "(psk); data TLS$" || fail "tls: $(jr .tunnel.tls)"
valid_report "migration through the tunnel"
expect_guest_on dst
