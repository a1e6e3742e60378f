# SPDX-License-Identifier: LGPL-2.1-or-later
# Socket handoff (tunnel-data plain, one channel): after its handshake the
# main channel's TCP socket is given to both QEMUs (getfd + fd: URIs), so
# neither the engine nor the agent forwards a byte of the stream.  The
# report says "handoff" for main with 0 bytes forwarded; the agent logged
# the handoff; the source migrated to fd:NAME.  Memory check, one QEMU.
# First, tunnel-handoff on where it cannot be (multifd) refuses the run
# before anything moved.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 64 --dirty 10
start_agent
refused "handoff on with multifd" "tunnel-handoff on, but the main channel cannot be handed off: multifd: " \
  "${ENGINE_PSK[@]}" --tunnel-data plain --tunnel-handoff on --multifd-channels 2
restart_agent --once
migrate --tunnel "$AGENT" "${ENGINE_PSK[@]}" --tunnel-data plain --tunnel-handoff on
expect_migrated
expect_guest_on dst
[ "$(jr '.tunnel.error')" = null ] || fail "tunnel error: $(jr .tunnel.error)"
expect_main_handed_off
[ "$(jr '[.tunnel.channels[] | select(.kind=="multifd")] | length')" = 0 ] || fail "multifd channels"
# The whole guest went through QEMU's own socket: the engine's forwarders
# carried only QMP.
[ "$(jr '[.tunnel.channels[] | select(.kind!="qmp") | .bytes_to_dst] | add // 0')" = 0 ] ||
  fail "stream bytes through the engine: $(jr .tunnel.channels)"
[ "$(jr .transferred_bytes)" -gt $((64 << 20)) ] || fail "transferred $(jr .transferred_bytes)"
grep -q "main channel: socket handed to QEMU (migrate-incoming fd:), 0 bytes through the agent" \
  "$D/agent.log" || fail "agent did not hand off: $(cat "$D/agent.log")"
# Its answer to op handoff carried its side's TLS offload (docs/TUNNEL.md).
grep -Eq 'socket handoff asked for: \{"handoff":true,"offload":"(ktls|user)"' "$D/agent.log" ||
  fail "agent's handoff answer without offload: $(grep "handoff asked" "$D/agent.log")"
grep -q "main channel ended" "$D/agent.log" && fail "the agent forwarded main: $(cat "$D/agent.log")"
grep -q "refused" "$D/agent.log" && fail "agent refused something: $(cat "$D/agent.log")"
echo "tunnel-handoff: ok"
