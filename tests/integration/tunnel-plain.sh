# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnelled migration with authenticated plaintext data, one channel, set up
# as on two hosts: the engine is given the source QMP, the agent's address
# and the PSK only (no --dst, no --lab); the destination QMP (over TLS) and
# the stream (plaintext, authenticated) both go through `qmig agent`.
# tunnel-handoff off: both ends forward the main channel (handoff is
# tunnel-handoff.sh).  Memory check, exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 64 --dirty 10
start_agent --once
set +e
"$QMIG" migrate --src "unix:$D/src.qmp" --tunnel "$AGENT" "${ENGINE_PSK[@]}" --tunnel-data plain \
  --tunnel-handoff off \
  --quit-source on --src-serial "$D/src.serial" --dst-serial "$D/dst.serial" --heartbeat-ms 2 \
  --json "$D/report.json" > "$D/migrate.out" 2>&1
RC=$?
set -e
cat "$D/migrate.out"
expect_migrated
expect_tunnel_report 0
jr .tunnel.tls | grep -q "^TLSv1.3 .* (psk); data plain (authenticated)$" || fail "tls: $(jr .tunnel.tls)"
[ "$(jr .tunnel.auth)" = psk ] || fail "auth: $(jr .tunnel.auth)"
[ "$(jr .dst.qmp)" = "tunnel:$AGENT" ] || fail "dst: $(jr .dst.qmp)"
case "$(jr .data_uri)" in unix:/tmp/qmig-tunnel.*) ;; *) fail "data_uri $(jr .data_uri)" ;; esac
main='[.tunnel.channels[] | select(.kind=="main")][0]'
[ "$(jr "$main.path")" = forwarded ] || fail "main: $(jr "$main")"
[ "$(jr "$main.why")" = "tunnel-handoff off" ] || fail "main why: $(jr "$main.why")"
grep -q "handoff" "$D/agent.log" && fail "agent was asked for handoff: $(cat "$D/agent.log")"
expect_guest_on dst
