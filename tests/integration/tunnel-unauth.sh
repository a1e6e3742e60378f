# SPDX-License-Identifier: LGPL-2.1-or-later
# No unauthenticated path to the destination's QMP: clients that speak the
# documented wire protocol (docs/TUNNEL.md) but hold no session key try
# every door of an agent that has a PSK:
#   - a protocol 1 control hello (which used to open a session),
#   - a protocol 2 control hello and a qmp hello without TLS,
#   - data hellos for a made-up session id,
#   - a TLS handshake with the wrong PSK,
#   - with a real session open (a holder of the PSK keeps a control
#     connection; its session id is what an on-path observer of a plaintext
#     data hello learns): a plaintext main hello and a qmp hello over TLS
#     with that id, answering the challenge with a wrong HMAC.
# None receives a byte of QMP (no "QMP" greeting), every one is refused with
# a reason in the agent's log, the agent never connects anything to QEMU (no
# channel ever ended), and the destination is untouched (still inmigrate, no
# incoming migration).  Then the real engine migrates through the same agent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
need openssl
start_lab --fill 32 --dirty 5
start_agent --handshake-timeout 2000
PORT=${AGENT##*:}
KEY=$(cut -d: -f2 "$TPSK")

# attack NAME HEX-BYTES [HEX-BYTES-AFTER-CHALLENGE]: a raw TCP client sends
# the bytes, reads until the agent closes (bounded), saves what came back in
# $D/got-NAME and prints it readably.  With a third argument it first waits
# for the 40-byte challenge, then sends those bytes.
attack() {
  python3 - "$PORT" "$D/got-$1" "$2" "${3:-}" <<'PY'
import socket, sys, time
port, out, first, after = int(sys.argv[1]), sys.argv[2], bytes.fromhex(sys.argv[3]), sys.argv[4]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(first)
got = b""
deadline = time.time() + 10
if after:
    while len(got) < 40 and time.time() < deadline:
        b = s.recv(4096)
        if not b:
            break
        got += b
    assert got[:4] == b"QMTC", "no challenge: %r" % got[:64]
    s.sendall(bytes.fromhex(after))
while time.time() < deadline:
    try:
        b = s.recv(4096)
    except (ConnectionResetError, socket.timeout):
        break
    if not b:
        break
    got += b
open(out, "wb").write(got)
print(got.decode("latin-1").encode("ascii", "replace").decode())
PY
}

# hello KIND INDEX SESSION-HEX [VERSION]: a hello as hex.
hello() { printf '514d5448%02x%02x%04x%s0000000000000000' "${4:-2}" "$1" "$2" "$3"; }
ZERO=00000000000000000000000000000000
MADEUP=0123456789abcdef0123456789abcdef
BADMAC=514d544102000000$(printf '%064d' 0)

echo "== protocol 1 control hello"
attack v1 "$(hello 1 0 "$MADEUP" 1)" | grep -q "version 1 not supported" || fail "v1 hello not refused"
echo "== protocol 2 control hello without TLS"
attack ctl-plain "$(hello 1 0 $ZERO)" | grep -q "plaintext control connection" ||
  fail "plaintext control not refused"
echo "== qmp hello without TLS, made-up session"
attack qmp-plain "$(hello 2 0 $MADEUP)" | grep -q "plaintext qmp channel" ||
  fail "plaintext qmp not refused"
echo "== main and nbd hellos, made-up session"
attack main-madeup "$(hello 3 0 $MADEUP)" | grep -q "unknown session" || fail "made-up session accepted"
attack nbd-madeup "$(hello 5 0 $MADEUP)" | grep -q "unknown session" || fail "made-up session accepted"

# s_client NAME KEY HEX...: TLS 1.3 with PSK KEY (identity qemu) sends the
# bytes and keeps the connection until the agent closes it or SPID is
# killed (background; its input stays open on fd SFD; output in $D/got-NAME).
s_client() {
  local name=$1 key=$2; shift 2
  mkfifo "$D/in-$name"
  timeout 60 openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256 \
    -psk "$key" -psk_identity qemu \
    -quiet -nocommands <"$D/in-$name" >"$D/got-$name" 2>"$D/err-$name" &
  SPID=$!; echo "$SPID" >>"$D/pids"
  exec {SFD}>"$D/in-$name"
  for h in "$@"; do printf "$(sed 's/../\\x&/g' <<<"$h")" >&"$SFD"; done
}

echo "== qmp hello over TLS with a wrong PSK"
s_client wrongpsk "$(openssl rand -hex 32)" "$(hello 2 0 $MADEUP)"
wait "$SPID" || true
exec {SFD}>&-
agent_logged "bad PSK|handshake"

echo "== a real session, and a client without its key"
s_client control "$KEY" "$(hello 1 0 $ZERO)"
CTL_PID=$SPID CTL_FD=$SFD
for _ in $(seq 100); do grep -q '"session"' "$D/got-control" 2>/dev/null && break; sleep 0.1; done
SESSION=$(grep -ao '"session":"[0-9a-f]*"' "$D/got-control" | cut -d'"' -f4)
[ ${#SESSION} = 32 ] || fail "no session from the control connection: $(cat -v "$D/got-control" "$D/err-control")"
echo "session $SESSION (what an on-path observer of a plaintext data hello learns)"
attack main-stolen "$(hello 3 0 "$SESSION")" "$BADMAC" | grep -q "authentication failed" ||
  fail "main channel with a stolen session id and a wrong HMAC not refused"
attack mfd-stolen "$(hello 4 1 "$SESSION")" "514d5441020000000123" | grep -q "response" ||
  fail "malformed challenge response not refused"
attack qmp-stolen-plain "$(hello 2 0 "$SESSION")" | grep -q "plaintext qmp channel" ||
  fail "plaintext qmp with a real session id not refused"
s_client qmp-stolen-tls "$KEY" "$(hello 2 0 "$SESSION")" "$BADMAC"
wait "$SPID" || true
exec {SFD}>&-
grep -aq "authentication failed" "$D/got-qmp-stolen-tls" ||
  fail "qmp over TLS with a wrong HMAC not refused: $(cat -v "$D/got-qmp-stolen-tls")"

echo "== nothing reached QEMU"
for f in "$D"/got-*; do
  grep -aq "QMP" "$f" && fail "$(basename "$f") received QMP bytes: $(cat -v "$f")"
done
grep -q "channel ended\|channel .* ended" "$D/agent.log" && fail "the agent forwarded a channel: $(cat "$D/agent.log")"
n=$(grep -c "refused" "$D/agent.log")
[ "$n" -ge 10 ] || fail "only $n refusals logged: $(cat "$D/agent.log")"
grep "refused" "$D/agent.log" | grep -vq "127.0.0.1:" && fail "a refusal without the peer's address"
st=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-status"}' |
  timeout 5 socat -t 2 - "UNIX-CONNECT:$D/dst.qmp" | grep -o '"status": *"[a-z-]*"' | head -1)
echo "$st" | grep -q inmigrate || fail "destination not waiting untouched: $st"
mig=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-migrate"}' |
  timeout 5 socat -t 2 - "UNIX-CONNECT:$D/dst.qmp" | tail -1)
echo "$mig" | grep -q '"return": *{}' || fail "destination has a migration: $mig"
cat "$D/agent.log"

echo "== the real engine, once the holder closed its session"
kill "$CTL_PID"; wait "$CTL_PID" 2>/dev/null || true
exec {CTL_FD}>&-
for _ in $(seq 100); do grep -q "session .* ended" "$D/agent.log" && break; sleep 0.1; done
migrate --tunnel "$AGENT" "${ENGINE_PSK[@]}" --tunnel-data plain
expect_migrated
expect_guest_on dst
