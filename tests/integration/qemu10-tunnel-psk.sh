# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU version matrix: tunnel-psk-multifd4.sh (TLS-PSK tunnel, 4 multifd channels) on 10.0 -> 10.0 and
# 7.2 -> 10.0 (machine pc-i440fx-7.2), with that test's own checks (guest
# memory, exactly one QEMU, ...); qemu10-lib.bash.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu10-lib.bash"
on_qemu10 tunnel-psk-multifd4
