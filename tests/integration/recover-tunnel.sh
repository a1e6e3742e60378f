# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnelled (TLS PSK) qmig migrate SIGKILLed during pre-copy: the stream ran
# through the engine, so it is cut; the source fails its migration and the
# destination's incoming one fails.  qmig recover --lab --tunnel (the same
# credentials) reaches the destination only through the agent, says what it
# found, and the guest runs on the source (exit 1): one QEMU, memory right.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 128 --dirty 10
make_psk "$D/keys.psk"
start_agent --tls psk --tls-psk-file "$D/keys.psk"
TUN=(--tunnel "$AGENT" --tunnel-tls psk --tunnel-psk-file "$D/keys.psk")
migrate_bg --lab "$D" "${TUN[@]}" --max-bandwidth 16M
wait_for 60 grep -q 'active *pass' "$D/migrate.out"
sleep 1
kill -KILL "$MIG_PID"
wait "$MIG_PID" 2>/dev/null || true

recover "${TUN[@]}"
[ "$RC" = 1 ] || fail "qmig recover exit $RC, expected 1 (guest on the source)"
grep -q 'found: source ' "$D/recover.out" || fail "source not described"
grep -q 'found: destination ' "$D/recover.out" || fail "destination not described"
grep -q 'the guest runs on the source' "$D/recover.out" || fail "conclusion missing"
expect_guest_on src
