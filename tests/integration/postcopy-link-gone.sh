# SPDX-License-Identifier: LGPL-2.1-or-later
# Post-copy whose link does not come back in time: see postcopy-link-recover.sh.
GONE=1 exec bash "$(dirname "$0")/postcopy-link-recover.sh"
