# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnelled migration with mutual x509 TLS 1.3 (a CA, server and client certificates made here), one channel: memory check, exactly one QEMU.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
tunnel_ok x509 0
