# Tunnelled migration without TLS, one channel, set up as on two hosts: the
# engine is given the source QMP and the agent's address only (no --dst, no
# --lab); the destination QMP and the stream both go through `qmig agent`.
# Memory check, exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
start_lab --fill 64 --dirty 10
start_agent --once
set +e
"$QMIG" migrate --src "unix:$D/src.qmp" --tunnel "$AGENT" --quit-source on \
  --src-serial "$D/src.serial" --dst-serial "$D/dst.serial" --heartbeat-ms 2 \
  --json "$D/report.json" > "$D/migrate.out" 2>&1
RC=$?
set -e
cat "$D/migrate.out"
expect_migrated
expect_tunnel_report 0
[ "$(jr .tunnel.tls)" = plain ] || fail "tls: $(jr .tunnel.tls)"
[ "$(jr .dst.qmp)" = "tunnel:$AGENT" ] || fail "dst: $(jr .dst.qmp)"
case "$(jr .data_uri)" in unix:/tmp/qmig-tunnel.*) ;; *) fail "data_uri $(jr .data_uri)" ;; esac
expect_guest_on dst
