# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnelled migration with authenticated plaintext data: control and QMP over
# TLS 1.3 with a PSK, the main and 4 multifd channels (each its own tunnel
# connection) in plaintext, each proving the session with its HMAC: memory
# check, exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
tunnel_ok plain 4
