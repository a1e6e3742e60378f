# Tunnelled migration without TLS, 4 multifd channels, each its own tunnel connection: memory check, exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
tunnel_ok none 4
