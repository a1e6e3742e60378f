# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnelled migration with authenticated plaintext data: control and QMP over
# TLS 1.3 with a PSK, the main and 4 multifd channels (each its own tunnel
# connection) in plaintext, each proving the session with its HMAC: memory
# check, exactly one QEMU.  Socket handoff is on by default for plain data,
# but QEMU opens multifd channels itself from a socket address: every
# channel is forwarded and the report says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
tunnel_ok plain 4
n=$(jr '[.tunnel.channels[] | select(.kind=="main" or .kind=="multifd")
        | select(.path=="forwarded" and (.why | startswith("multifd: ")))] | length')
[ "$n" = 5 ] || fail "expected main + 4 multifd forwarded because of multifd: $(jr .tunnel.channels)"
jr '[.tunnel.channels[] | select(.kind=="main")][0].why'

