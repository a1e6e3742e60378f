# Tunnelled migration without TLS, one channel: the destination's QMP and the
# stream both go through `qmig agent`; memory check, exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.sh"
start_lab --fill 64 --dirty 10
start_agent --once
migrate --tunnel "$AGENT"
expect_migrated
expect_tunnel_report 0
[ "$(jr .tunnel.tls)" = plain ] || fail "tls: $(jr .tunnel.tls)"
case "$(jr .data_uri)" in unix:/tmp/qmig-tunnel.*) ;; *) fail "data_uri $(jr .data_uri)" ;; esac
expect_guest_on dst
