# Tunnelled migration without TLS, one channel: the destination QMP and the
# stream both go through `qmig agent`; memory check, exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
tunnel_ok none 0
case "$(jr .data_uri)" in unix:/tmp/qmig-tunnel.*) ;; *) fail "data_uri $(jr .data_uri)" ;; esac
