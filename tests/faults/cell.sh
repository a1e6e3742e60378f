#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One cell of the fault matrix, in a bash process of its own (a private
# directory, cleaned up on exit by tests/integration/lib.sh):
#   bash tests/faults/cell.sh FAULT MODE
# FAULT is a file FAULT.bash here defining cell(); MODE native|tunnel|tls|disks.
# Exit 0 pass, 75 n.a., 76 pending, 77 skipped (something missing), else fail.
FAULT=${1:?usage: cell.sh FAULT MODE} MODE=${2:?usage: cell.sh FAULT MODE}
. "$(dirname "$0")/../integration/lib.sh"
need python3
case $MODE in tunnel|tls) . "$TOP/tests/integration/tunnel-lib.bash"; need_tunnel ;; esac
. "$TOP/tests/faults/lib.bash"
[ -f "$FAULTS/$FAULT.bash" ] || fail "no fault $FAULT"
. "$FAULTS/$FAULT.bash"
echo "== cell $FAULT x $MODE ($D)"
cell
echo "== pass: $FAULT x $MODE"
