# SPDX-License-Identifier: LGPL-2.1-or-later
# Kernel TLS handoff (tunnel-data tls, TLS-PSK, one channel): where the kernel has the tls ULP and OpenSSL offloads TLS 1.3 both ways, the main channel's socket is switched to kTLS by OpenSSL on both ends and given to both QEMUs like a plain one (getfd + fd: URIs): the report says "offload": "ktls" and "path": "handoff" for main with 0 bytes forwarded, the agent logged the handoff; memory check, exactly one QEMU.
# Elsewhere (this machine): tunnel-handoff on with TLS data is refused before anything moved, naming why kTLS cannot work; then skip (77) with that reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
ulps=$(cat /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null)
v=$(openssl version | awk '{print $2}')
why=
grep -qw tls <<<"$ulps" || why="the kernel has no tls ULP (tcp_available_ulp: ${ulps:-unreadable})"
case $v in 3.[01].*) [ -n "$why" ] || why="OpenSSL $v offloads only sending for TLS 1.3 (kTLS receive needs 3.2)" ;; esac
start_lab --fill 64 --dirty 10
start_agent
if [ -n "$why" ]; then
  refused "handoff on with TLS data and no kTLS" \
    "tunnel-handoff on, but the main channel cannot be handed off: tls: source offload user: (the kernel has no tls ULP|OpenSSL 3\.[01] offloads only sending)" \
    "${ENGINE_PSK[@]}" --tunnel-handoff on
  echo "skip: $why"
  exit 77
fi
restart_agent --once
migrate --tunnel "$AGENT" "${ENGINE_PSK[@]}" --tunnel-handoff on
expect_migrated
expect_guest_on dst
[ "$(jr '.tunnel.error')" = null ] || fail "tunnel error: $(jr .tunnel.error)"
[ "$(jr .tunnel.data)" = tls ] || fail "data: $(jr .tunnel.data)"
[ "$(jr .tunnel.offload)" = ktls ] ||
  fail "offload: $(jr .tunnel.offload) ($(jr .tunnel.offload_why)), expected ktls"
expect_main_handed_off
[ "$(jr .transferred_bytes)" -gt $((64 << 20)) ] || fail "transferred $(jr .transferred_bytes)"
grep -q '"offload":"ktls"' "$D/agent.log" || fail "agent did not report ktls: $(cat "$D/agent.log")"
grep -q "main channel: socket handed to QEMU (migrate-incoming fd:), 0 bytes through the agent" \
  "$D/agent.log" || fail "agent did not hand off: $(cat "$D/agent.log")"
grep -q "main channel ended" "$D/agent.log" && fail "the agent forwarded main: $(cat "$D/agent.log")"
grep -q "refused" "$D/agent.log" && fail "agent refused something: $(cat "$D/agent.log")"
echo "tunnel-ktls: ok"
