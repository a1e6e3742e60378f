# What the agent does with garbage: a non-hello, a truncated hello, a hello of
# an unknown version, and a well-formed hello for a session nobody opened.
# Each is refused with a logged reason (and a reply where a reply can be
# sent); the agent stays up and then serves a real migration.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 32 --dirty 5
start_agent --handshake-timeout 1000
send() { printf "$1" | timeout 5 socat -t 2 - "TCP:$AGENT" | head -c 200 | tr -c '[:print:]' .; echo; }

out=$(send 'GET / HTTP/1.1\r\nHost: x\r\n\r\nxxxxxxxxxxxx')
echo "$out" | grep -q "not a qmig tunnel hello" || fail "garbage: reply '$out'"
agent_logged "not a qmig tunnel hello"

send 'QMTH\001\003\000' >/dev/null
agent_logged "no complete hello"

zeros='\000\000\000\000\000\000\000\000'
out=$(send "QMTH\002\003\000\000ABCDEFGHIJKLMNOP$zeros")
echo "$out" | grep -q "version 2 not supported" || fail "version: reply '$out'"
agent_logged "version 2"

out=$(send "QMTH\001\003\000\000ABCDEFGHIJKLMNOP$zeros")
echo "$out" | grep -q "unknown session" || fail "unknown session: reply '$out'"
agent_logged "unknown session"

out=$(send "QMTH\001\004\001\000ABCDEFGHIJKLMNOP$zeros")
echo "$out" | grep -q "index 256" || fail "bad index: reply '$out'"

alive "$AGENT_PID" || fail "the agent died"
migrate --tunnel "$AGENT"
expect_migrated
expect_guest_on dst
