# SPDX-License-Identifier: LGPL-2.1-or-later
# What an agent with a credential does with garbage on a plaintext
# connection: a non-hello, a truncated hello, a hello of protocol 1, a
# control hello carrying a session id, a well-formed data hello for a
# session nobody opened, an out-of-range index.  Each is refused with a
# logged reason (and a reply where a reply can be sent); the agent stays up
# and then serves a real migration.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
need socat
start_lab --fill 32 --dirty 5
start_agent --handshake-timeout 1000
send() { printf "$1" | timeout 5 socat -t 2 - "TCP:$AGENT" | head -c 200 | tr -c '[:print:]' .; echo; }

out=$(send 'GET / HTTP/1.1\r\nHost: x\r\n\r\nxxxxxxxxxxxx')
echo "$out" | grep -q "not a qmig tunnel hello" || fail "garbage: reply '$out'"
agent_logged "not a qmig tunnel hello"

send 'QMTH\002\003\000' >/dev/null
agent_logged "no complete hello"

zeros='\000\000\000\000\000\000\000\000'
out=$(send "QMTH\001\003\000\000ABCDEFGHIJKLMNOP$zeros")
echo "$out" | grep -q "version 1 not supported" || fail "version: reply '$out'"
agent_logged "version 1"

out=$(send "QMTH\002\001\000\000ABCDEFGHIJKLMNOP$zeros")
echo "$out" | grep -q "carries no session id" || fail "control with a session: reply '$out'"

out=$(send "QMTH\002\003\000\000ABCDEFGHIJKLMNOP$zeros")
echo "$out" | grep -q "unknown session" || fail "unknown session: reply '$out'"
agent_logged "unknown session"

out=$(send "QMTH\002\004\001\000ABCDEFGHIJKLMNOP$zeros")
echo "$out" | grep -q "index 256" || fail "bad index: reply '$out'"

alive "$AGENT_PID" || fail "the agent died"
migrate --tunnel "$AGENT" "${ENGINE_PSK[@]}"
expect_migrated
expect_guest_on dst
