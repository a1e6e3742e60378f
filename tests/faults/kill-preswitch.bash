# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGKILL of the engine (preswitch): see kill-engine.bash.
. "$FAULTS/kill-engine.bash"
cell() { kill_engine preswitch; }
