# SPDX-License-Identifier: LGPL-2.1-or-later
# An agent without a credential refuses to start, naming the way out; with
# --insecure-no-auth it starts, warns at start and in its session's and
# channels' log lines.  An engine without a credential is refused before it touches
# anything; with --tunnel-insecure-no-auth on it migrates through that
# agent and its report says the run was unauthenticated; an engine with a
# credential gets no session from it.  Memory check, exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 32 --dirty 5
port=$(free_port)

echo "== agent without credential"
set +e
timeout 20 "$QMIG" agent --listen "127.0.0.1:$port" --qmp "unix:$D/dst.qmp" > "$D/noauth.out" 2>&1
rc=$?
set -e
cat "$D/noauth.out"
[ "$rc" = 2 ] || fail "agent without credential: exit $rc, expected 2 (usage)"
grep -q "no credential: give tls psk|x509 with its file, or insecure-no-auth on" "$D/noauth.out" ||
  fail "agent without credential: message does not name the way out"
grep -q "listening" "$D/noauth.out" && fail "agent without credential listened"

echo "== engine without credential"
set +e
"$QMIG" migrate --lab "$D" --tunnel "127.0.0.1:$port" > "$D/eng.out" 2>&1
rc=$?
set -e
cat "$D/eng.out"
[ "$rc" = 2 ] || fail "engine without credential: exit $rc, expected 2 (usage)"
grep -q "tunnel needs a credential" "$D/eng.out" || fail "engine without credential: wrong message"

echo "== insecure agent"
start_agent --insecure-no-auth
grep -q "WARNING: insecure-no-auth" "$D/agent.log" || fail "no warning at start: $(cat "$D/agent.log")"

tunnel_psk
refused "engine with a credential" "plaintext peer|not a qmig|closed" "${ENGINE_PSK[@]}"

migrate --tunnel "$AGENT" --tunnel-insecure-no-auth on --multifd-channels 2
expect_migrated
expect_tunnel_report 2
[ "$(jr .tunnel.tls)" = "plain, UNAUTHENTICATED (insecure-no-auth)" ] || fail "tls: $(jr .tunnel.tls)"
[ "$(jr .tunnel.auth)" = none ] || fail "auth: $(jr .tunnel.auth)"
for _ in $(seq 50); do grep -q "session .* ended" "$D/agent.log" && break; sleep 0.1; done
cat "$D/agent.log"
grep "session .* opened" "$D/agent.log" | grep -q "UNAUTHENTICATED" || fail "session opened without warning"
grep "session .* ended" "$D/agent.log" | grep -q "UNAUTHENTICATED" || fail "session ended without warning"
for _ in $(seq 50); do grep -q "main channel ended:" "$D/agent.log" && break; sleep 0.1; done
grep -q "main channel ended:.*UNAUTHENTICATED" "$D/agent.log" || fail "main channel ended without warning"
grep "channel.* ended:" "$D/agent.log" | grep -v "UNAUTHENTICATED" && fail "a channel ended without warning"
expect_guest_on dst
