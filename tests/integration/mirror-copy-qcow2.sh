# SPDX-License-Identifier: LGPL-2.1-or-later
# qcow2 images on both sides, the copy limited to 8 MiB/s: see mirror-copy.sh.
FMT=qcow2 BW=8M exec bash "$(dirname "$0")/mirror-copy.sh"
