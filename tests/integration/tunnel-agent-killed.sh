# SPDX-License-Identifier: LGPL-2.1-or-later
# The agent is killed mid-migration: the migration fails, the source guest
# keeps running (memory intact, one QEMU) and the report names the tunnel
# connection that failed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 128 --dirty 10
start_agent
"$QMIG" migrate --lab "$D" --tunnel "$AGENT" "${ENGINE_PSK[@]}" --max-bandwidth 16M \
  --json "$D/report.json" > "$D/out" 2>&1 &
QPID=$!; echo $QPID >> "$D/pids"
for _ in $(seq 100); do grep -q "session .* opened" "$D/agent.log" 2>/dev/null && break; sleep 0.1; done
sleep 2
kill -KILL "$AGENT_PID"
set +e; wait $QPID; RC=$?; set -e
cat "$D/out"
[ "$RC" = 1 ] || fail "exit $RC, expected 1"
jr .error | grep -Eq "tunnel: (main|multifd|qmp|control) (channel|connection)( [0-9]+)? to $AGENT" ||
  fail "error does not name the failed tunnel connection: $(jr .error)"
[ "$(jr '[.tunnel.channels[] | select(.error != null)] | length')" -ge 1 ] ||
  fail "no failed channel in the report: $(jr .tunnel)"
expect_guest_on src
