# SPDX-License-Identifier: LGPL-2.1-or-later
# The agent's QMP allow-list, from outside: a client that holds the
# credential opens a session and a qmp channel itself (protocol 2: TLS with
# the PSK, the issued session, the channel proved with the session key;
# tests/helpers/tunnel_client.c) and sends what the engine never sends.  human-monitor-command and a
# migrate-incoming to an exec: URI (which would create a file) come back as
# QMP errors naming the rule, and nothing happens: no file, the destination
# still waits with no incoming migration; a read (query-status) works.  Then
# the same agent serves a real migration.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 32 --dirty 5
need_tunnel_client
start_agent
pwned=$D/pwned

"$TCLIENT" "$AGENT" --psk "$TPSK" > "$D/client.out" 2>&1 <<EOF || { cat "$D/client.out"; fail "QMP client failed"; }
session
open qmp
qmp 1 {"execute":"qmp_capabilities","id":"caps"}
qmp 1 {"execute":"query-status","id":"status"}
qmp 1 {"execute":"human-monitor-command","id":"hmp","arguments":{"command-line":"info status"}}
qmp 1 {"execute":"migrate-incoming","id":"exec","arguments":{"uri":"exec:touch $pwned"}}
qmp 1 {"execute":"migrate-incoming","id":"tcp","arguments":{"uri":"tcp:127.0.0.1:1"}}
qmp 1 {"execute":"device_del","id":"dev","arguments":{"id":"x"}}
qmp 1 {"execute":"query-migrate","id":"mig"}
EOF
cat "$D/client.out"
grep -q "^channel 1$" "$D/client.out" || fail "no qmp channel: $(cat "$D/client.out")"
reply() { grep "^$1 " "$D/client.out" | cut -d' ' -f2-; }

reply caps | jq -e '.return == {}' >/dev/null || fail "qmp_capabilities: $(reply caps)"
reply status | jq -e '.return.status == "inmigrate"' >/dev/null || fail "query-status: $(reply status)"
reply hmp | jq -e '.error.class == "GenericError" and
  (.error.desc | startswith("qmig agent: human-monitor-command refused: HMP"))' >/dev/null ||
  fail "human-monitor-command not refused: $(reply hmp)"
reply exec | jq -e '.error.desc | test("migrate-incoming refused: uri .exec:.*: exec: addresses are refused")' \
  >/dev/null || fail "exec: migrate-incoming not refused: $(reply exec)"
reply tcp | jq -e '.error.desc | test("refused: uri .tcp:.*: tcp: addresses are refused")' >/dev/null ||
  fail "tcp: migrate-incoming not refused: $(reply tcp)"
reply dev | jq -e '.error.desc | test("device_del refused: device changes")' >/dev/null ||
  fail "device_del not refused: $(reply dev)"
# Nothing reached QEMU: no incoming migration was started, no file made.
reply mig | jq -e '.return.status == null or .return.status == "none"' >/dev/null ||
  fail "the destination has an incoming migration: $(reply mig)"
sleep 1
[ ! -e "$pwned" ] || fail "the exec: URI ran: $pwned exists"
grep -q "qmp channel: refused human-monitor-command: HMP" "$D/agent.log" ||
  fail "agent did not log the refusal: $(cat "$D/agent.log")"

# The agent (and the destination) are still fine for the engine.
alive "$AGENT_PID" || fail "the agent died"
migrate --tunnel "$AGENT" "${ENGINE_PSK[@]}"
expect_migrated
expect_guest_on dst
echo "tunnel-qmp-allowlist: ok"
