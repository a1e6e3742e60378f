# SPDX-License-Identifier: LGPL-2.1-or-later
# The fast subset of the fault matrix (make check-faults-fast; the whole
# matrix is make check-faults): each cell in a process and directory of its
# own, the table at the end; fails if a cell failed.
exec bash "$(dirname "$0")/../faults/run.sh" --fast
