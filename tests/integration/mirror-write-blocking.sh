# SPDX-License-Identifier: LGPL-2.1-or-later
# Heavy disk writes (8 MiB/s, more than the ~2 MiB/s the lab disk takes
# with cache=none) with copy-mode write-blocking: see mirror-copy.sh.
MODE=write-blocking WRITE=8192 exec bash "$(dirname "$0")/mirror-copy.sh"
