# SPDX-License-Identifier: LGPL-2.1-or-later
# Socket handoff on QEMU 10.0 (both sides): one plain channel is handed to
# both QEMUs; with multifd 4 every channel is forwarded and the report's
# reason comes from QEMU 10's own schema (its migrate `channels` take types
# main and cpr only; QEMU refuses fd channels with multifd: "Migration
# requires multi-channel URIs").  Memory check, one QEMU, each time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
need_qemu10
main='[.tunnel.channels[] | select(.kind=="main")][0]'
start_lab --qemu "$QEMU10" --fill 64 --dirty 10
start_agent --once
migrate --tunnel "$AGENT" "${ENGINE_PSK[@]}" --tunnel-data plain --tunnel-handoff on
expect_migrated
[ "$(jr "$main.path")" = handoff ] || fail "main not handed off on QEMU 10: $(jr "$main")"
[ "$(jr "$main.bytes_to_dst")" = 0 ] || fail "main forwarded: $(jr "$main")"
expect_guest_on dst
"$QMIG" lab stop --dir "$D" >/dev/null
start_lab --qemu "$QEMU10" --fill 64 --dirty 10
start_agent --once
migrate --tunnel "$AGENT" "${ENGINE_PSK[@]}" --tunnel-data plain --multifd-channels 4
expect_migrated
expect_tunnel_report 4
n=$(jr '[.tunnel.channels[] | select(.kind=="main" or .kind=="multifd")
        | select(.path=="forwarded" and (.why | test("migrate channels are of type main, cpr")))] | length')
[ "$n" = 5 ] || fail "expected 5 channels forwarded for QEMU 10's reason: $(jr .tunnel.channels)"
jr "$main.why"
expect_guest_on dst
echo "tunnel-handoff-qemu10: ok"
