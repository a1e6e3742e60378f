# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnelled (TLS PSK) post-copy, qmig migrate SIGKILLed mid-way: the stream
# ran through the engine, so both QEMUs stop in postcopy-paused and the
# guest is frozen on the destination.  qmig recover --lab --tunnel opens a
# new session with the agent and resumes post-copy through it
# (migrate-recover at the agent's socket, migrate resume to ours), waits for
# the end: the guest runs on the destination (exit 0), the source is quit,
# one QEMU, memory right.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 32 --dirty 40
make_psk "$D/keys.psk"
start_agent --tls psk --tls-psk-file "$D/keys.psk"
TUN=(--tunnel "$AGENT" --tunnel-tls psk --tunnel-psk-file "$D/keys.psk")
migrate_bg --lab "$D" "${TUN[@]}" --max-bandwidth 16M --postcopy on --postcopy-after 1s \
  --max-postcopy-bandwidth 2M
wait_for 60 grep -q 'postcopy-active' "$D/migrate.out"
kill -KILL "$MIG_PID"
wait "$MIG_PID" 2>/dev/null || true
# Each status the source shows on the way is printed, so a timeout says
# where it stopped (once, in CI, it did not reach postcopy-paused in 30 s).
SEEN=
src_paused() {
  local s
  s=$(qmp_peek src query-migrate | jq -r .status)
  [ "$s" = "$SEEN" ] || { echo "source migration status: ${s:-no QMP answer}"; SEEN=$s; }
  [ "$s" = postcopy-paused ]
}
wait_for 30 src_paused

recover "${TUN[@]}"
[ "$RC" = 0 ] || fail "qmig recover exit $RC, expected 0 (guest on the destination)"
grep -q 'found: source .*migration postcopy-paused' "$D/recover.out" || fail "source not described"
grep -q 'found: destination tunnel:.*incoming migration postcopy-paused' "$D/recover.out" ||
  fail "destination not described"
grep -q 'post-copy resumed over unix:' "$D/recover.out" || fail "not resumed through the tunnel"
grep -q 'source QEMU stopped (quit)' "$D/recover.out" || fail "source not quit"
grep -q 'the guest runs on the destination' "$D/recover.out" || fail "conclusion missing"
[ "$(jq -r '[.tunnel.channels[] | select(.kind == "main")][0].bytes_to_dst' "$D/recover.json")" -gt 0 ] ||
  fail "nothing went through the new session's main channel"
expect_guest_on dst
