# SPDX-License-Identifier: LGPL-2.1-or-later
# netns-tunnel-link-down.sh with the main channel handed off to both QEMUs
# (tunnel-handoff on: a run that could not hand off would exit 3, not 1):
# the socket keeps the tunnel's keepalive and TCP_USER_TIMEOUT in QEMU's
# hands, so the dead link still fails the migration in bounded time, the
# guest keeps running on the source, its memory intact.
HANDOFF=1 TUNNEL_MIGRATE_OPTS="--tunnel-handoff on ${TUNNEL_MIGRATE_OPTS:-}" \
  exec bash "$(dirname "$0")/netns-tunnel-link-down.sh"
