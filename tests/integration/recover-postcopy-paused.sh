# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig migrate killed during post-copy, then the stream broken: qmig recover
# resumes post-copy.  See recover-postcopy.sh.
PAUSE=1 exec bash "$(dirname "$0")/recover-postcopy.sh"
