# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnelled migration with TLS 1.3 and an external PSK made here, one channel: memory check, exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
tunnel_ok psk 0
