# SPDX-License-Identifier: LGPL-2.1-or-later
# The agent's bounds, from outside (no QEMU: a unix socket server stands in
# for QMP).  max-connections: one connection over the cap is closed at once,
# logged once per episode, and served again once the silent ones timed out.
# max-qmp-channels: a second qmp channel of a real session (TLS with the
# PSK, proved with the session key: tests/helpers/tunnel_client.c) is
# refused with the reason.
# control-idle-timeout: a silent control connection stays while a channel of
# its session is open and is closed once none is.  EMFILE: an agent out of
# descriptors backs off (CPU stays low) and logs one line for the episode.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
need timeout
need_tunnel_client
tunnel_psk
mkdir -p "$D/agent"

# start_bounded_agent [options]: an agent on a fake QMP at $D/fake.qmp.
start_bounded_agent() {
  local port; port=$(free_port)
  "$QMIG" agent --listen "127.0.0.1:$port" --qmp "unix:$D/fake.qmp" --run-dir "$D/agent" \
    "${AGENT_PSK[@]}" "$@" 2>>"$D/agent.log" &
  AGENT_PID=$!; echo "$AGENT_PID" >> "$D/pids"; AGENT=127.0.0.1:$port
  for _ in $(seq 50); do grep -q "listening on 127.0.0.1:$port" "$D/agent.log" && return 0; sleep 0.1; done
  fail "agent did not start: $(cat "$D/agent.log")"
}

start_bounded_agent --max-connections 4 --max-qmp-channels 1 --handshake-timeout 3000 \
  --control-idle-timeout 1500
python3 - "$AGENT" "$D/fake.qmp" "$TCLIENT" "$TPSK" <<'PY' || fail "bounds client failed (agent log: $(cat "$D/agent.log"))"
import select, socket, subprocess, sys, threading, time
addr, qmp_path, tclient, psk = sys.argv[1:5]
host, port = addr.rsplit(":", 1)

fake = socket.socket(socket.AF_UNIX); fake.bind(qmp_path); fake.listen(16)
held = []
def serve():
    while True:
        c, _ = fake.accept(); held.append(c)
        c.sendall(b'{"QMP":{"version":{},"capabilities":[]}}\r\n')
threading.Thread(target=serve, daemon=True).start()

def closed_within(s, secs):
    """True when the peer closes s within secs (EOF or reset)."""
    r, _, _ = select.select([s], [], [], secs)
    if not r:
        return False
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True

# 1. max-connections 4: four silent connections are being served (waiting
#    for their hello); the fifth and sixth are closed at once.
silent = [socket.create_connection((host, int(port))) for _ in range(4)]
time.sleep(0.5)
for i in range(2):
    extra = socket.create_connection((host, int(port)))
    assert closed_within(extra, 2), "a connection over max-connections was not closed at once"
    extra.close()
# 2. after handshake-timeout the silent ones are gone and the agent serves again.
for s in silent:
    assert closed_within(s, 6), "a silent connection outlived handshake-timeout"
time.sleep(0.3)
# 3. max-qmp-channels 1: in a real session, the second qmp channel is
#    refused, with the reason.
# 4. control-idle-timeout 1500 ms: silent control, but a channel is open: it
#    stays; once the channel is closed it is closed.
script = "\n".join(["session", "open qmp", "open qmp", "closed-within 0 3500", "close 1",
                    "closed-within 0 5000"]) + "\n"
p = subprocess.run([tclient, addr, "--psk", psk], input=script, capture_output=True, text=True,
                   timeout=60)
print(p.stdout, p.stderr)
assert p.returncode == 0, "tunnel client failed: %s" % p.stderr
out = p.stdout.splitlines()
assert len(out) == 6 and out[0].startswith("session "), out
assert out[1] == "channel 1", "the first qmp channel was not opened: %s" % out[1]
assert out[2].startswith("failed:") and "max-qmp-channels 1" in out[2], \
    "a second qmp channel was not refused for max-qmp-channels: %s" % out[2]
assert out[3] == "open", "control closed while its session had a channel open"
assert out[5] == "closed", "silent control without channels was not closed"
print("bounds client: ok")
PY
grep -c "refused connections: 4 are being served (max-connections 4)" "$D/agent.log" | grep -qx 1 ||
  fail "expected one log line for the max-connections episode: $(cat "$D/agent.log")"
grep -q "accepting connections again (closed 2 over max-connections 4)" "$D/agent.log" ||
  fail "no log line for the end of the episode: $(cat "$D/agent.log")"
grep -q "refused .*max-qmp-channels 1" "$D/agent.log" || fail "qmp channel refusal not logged"
grep -q "control: silent for 1500 ms and no channel of the session open" "$D/agent.log" ||
  fail "idle control close not logged: $(cat "$D/agent.log")"
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true

# 5. Out of descriptors: 30 silent connections against an agent limited to
#    24 descriptors (set by a python launcher that then execs the agent, so
#    the pid is the agent's).  accept4 fails with EMFILE; the agent must back
#    off: its CPU time during the episode stays near zero, one log line.
: > "$D/agent.log"
rm -f "$D/fake.qmp"
port=$(free_port)
python3 -c 'import os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))
with open(sys.argv[1], "w") as f: f.write(str(os.getpid()))
os.execv(sys.argv[2], sys.argv[2:])' "$D/agent.pid" "$QMIG" agent --listen "127.0.0.1:$port" \
  --qmp "unix:$D/fake.qmp" --run-dir "$D/agent" "${AGENT_PSK[@]}" --handshake-timeout 6000 \
  2>>"$D/agent.log" &
for _ in $(seq 50); do grep -q "listening on" "$D/agent.log" && break; sleep 0.1; done
AGENT_PID=$(cat "$D/agent.pid"); echo "$AGENT_PID" >> "$D/pids"
grep -q "open files *24 " "/proc/$AGENT_PID/limits" || fail "the agent's descriptor limit is not 24"
cpu() { awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat"; }
python3 - "127.0.0.1:$port" <<'PY' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
held = [socket.create_connection((host, int(port))) for _ in range(30)]
time.sleep(5)
PY
client=$!
for _ in $(seq 30); do grep -q "accept: Too many open files" "$D/agent.log" && break; sleep 0.1; done
grep -q "accept: Too many open files" "$D/agent.log" || fail "no EMFILE: $(cat "$D/agent.log")"
c0=$(cpu); sleep 1.5; c1=$(cpu)
grep -q "accept works again" "$D/agent.log" && fail "the episode ended before the measurement did"
ticks=$((c1 - c0))   # clock ticks (1/100 s)
echo "agent CPU during the EMFILE episode: $ticks ticks in 1.5 s"
[ "$ticks" -le 30 ] || fail "agent spins while out of descriptors: $ticks ticks in 1.5 s"
wait "$client" || true
n=$(grep -c "accept: Too many open files" "$D/agent.log" || true)
[ "$n" = 1 ] || fail "expected one EMFILE log line, got $n: $(cat "$D/agent.log")"
alive "$AGENT_PID" || fail "the agent died"
for _ in $(seq 100); do grep -q "accept works again" "$D/agent.log" && break; sleep 0.1; done
grep -q "accept works again" "$D/agent.log" || fail "no recovery logged: $(cat "$D/agent.log")"
kill "$AGENT_PID"
echo "tunnel-agent-bounds: ok"
