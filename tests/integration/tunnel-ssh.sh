# SPDX-License-Identifier: LGPL-2.1-or-later
# --tunnel ssh://: no agent runs on the destination host beforehand; qmig
# starts one over ssh for this migration (a PSK made for the session, sent
# over the ssh channel), migrates through it, and the agent is gone after.
# The "destination host" is the lab's destination namespace with Debian's
# sshd started by this test (its own host key, an authorized key, a known
# hosts file: strict checking).  Memory check and one QEMU, as everywhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh-lib.bash"
need_netns
need_tunnel
start_lab --netns --fill 64 --dirty 10
start_sshd
agent_listens && fail "an agent listens before the migration"

# A wrong key: refused before anything moves, with ssh's own words.
migrate --tunnel "ssh://root@$HOST:2222" --tunnel-ssh-config "$S/config-bad" \
  --tunnel-ssh-qmig "$QMIG" --dst "unix:$D/dst.qmp"
[ "$RC" = 3 ] || fail "bad key: exit $RC, expected 3 (not started)"
grep -q "Permission denied" "$D/migrate.out" || fail "ssh's refusal not relayed"

migrate --verbose --tunnel "ssh://root@$HOST:2222" --tunnel-ssh-config "$S/config" \
  --tunnel-ssh-qmig "$QMIG" --dst "unix:$D/dst.qmp" --tunnel-data plain
expect_migrated
jr .tunnel.tls | grep -q "(psk); data plain (authenticated)" || fail "tunnel: $(jr .tunnel.tls)"
[ "$(jr .config.tunnel)" = "ssh://root@$HOST:2222" ] || fail "config.tunnel: $(jr .config.tunnel)"
expect_guest_on dst
# The agent (and its ssh session) end with the migration.
expect_agent_gone
exit 0
