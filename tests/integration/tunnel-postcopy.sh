# SPDX-License-Identifier: LGPL-2.1-or-later
# Post-copy through the tunnel (PSK): the engine's post-copy commands and
# the destination's page requests on the main channel's return path pass
# the agent's QMP allow-list and forwarders; nothing is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 32 --dirty 40
start_agent --once
migrate --tunnel "$AGENT" "${ENGINE_PSK[@]}" --max-bandwidth 16M --downtime-limit 50 --postcopy on \
  --postcopy-after 2passes --timeout 120
expect_migrated
[ "$(jr .postcopy.started)" = true ] || fail "post-copy did not start"
[ "$(jr .announce.sent)" = true ] || fail "announce-self not sent: $(jr .announce)"
grep -q "refused" "$D/agent.log" && fail "agent refused something: $(cat "$D/agent.log")"
expect_guest_on dst
echo "tunnel-postcopy: ok"
