# SPDX-License-Identifier: LGPL-2.1-or-later
# migrate-shared-disk.sh with a qcow2 image (explicit format everywhere).
FMT=qcow2
. "$(dirname "$0")/migrate-shared-disk.sh"
