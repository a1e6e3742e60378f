# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU version matrix: tunnel-ssh-disk.sh (a copied disk through the agent
# qmig starts over ssh, to the lab's destination and to one spawned there)
# on 10.0 -> 10.0, where the write-blocking mirror's actively_synced is
# reported (true) and copy-mode auto can switch.  One cell: the spawned
# destination runs the source's binary anyway.  qemu10-lib.bash.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu10-lib.bash"
on_qemu10 tunnel-ssh-disk "10.0 -> 10.0"
