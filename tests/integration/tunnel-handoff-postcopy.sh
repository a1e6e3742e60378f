# SPDX-License-Identifier: LGPL-2.1-or-later
# Post-copy with socket handoff: the main channel's socket belongs to the
# two QEMUs, so the destination's page requests travel on its return path
# (the same TCP connection, the other direction) without qmig in between.
# The report says main was handed off; memory check, one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 32 --dirty 40
start_agent --once
migrate --tunnel "$AGENT" "${ENGINE_PSK[@]}" --tunnel-data plain --tunnel-handoff on \
  --max-bandwidth 16M --downtime-limit 50 --postcopy on --postcopy-after 2passes --timeout 120
expect_migrated
[ "$(jr .postcopy.started)" = true ] || fail "post-copy did not start"
main='[.tunnel.channels[] | select(.kind=="main")][0]'
[ "$(jr "$main.path")" = handoff ] || fail "main not handed off: $(jr "$main")"
[ "$(jr "$main.bytes_to_dst + $main.bytes_from_dst")" = 0 ] || fail "main forwarded: $(jr "$main")"
grep -q "refused" "$D/agent.log" && fail "agent refused something: $(cat "$D/agent.log")"
expect_guest_on dst
echo "tunnel-handoff-postcopy: ok"
