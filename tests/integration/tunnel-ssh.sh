# SPDX-License-Identifier: LGPL-2.1-or-later
# --tunnel ssh://: no agent runs on the destination host beforehand; qmig
# starts one over ssh for this migration (a PSK made for the session, sent
# over the ssh channel), migrates through it, and the agent is gone after.
# The "destination host" is the lab's destination namespace with Debian's
# sshd started by this test (its own host key, an authorized key, a known
# hosts file: strict checking).  Memory check and one QEMU, as everywhere.
. "$(dirname "$0")/lib.sh"
need_netns
need_tunnel
[ -x /usr/sbin/sshd ] || { echo "skip: no sshd (Debian's openssh-server)"; exit 77; }
need ssh-keygen
start_lab --netns --fill 64 --dirty 10
HOST=$(jq -r .dst_addr "$D/lab.json")
S=$D/ssh; mkdir -m 700 "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$S/id"
cp "$S/id.pub" "$S/authorized_keys"
echo "[$HOST]:2222 $(cat "$S/host_key.pub")" > "$S/known_hosts"
cat > "$S/sshd_config" <<EOC
Port 2222
ListenAddress $HOST
HostKey $S/host_key
AuthorizedKeysFile $S/authorized_keys
PidFile $S/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
EOC
cat > "$S/config" <<EOC
Host *
  IdentityFile $S/id
  IdentitiesOnly yes
  UserKnownHostsFile $S/known_hosts
  StrictHostKeyChecking yes
  ConnectTimeout 10
EOC
mkdir -p /run/sshd # sshd's privilege separation directory
ip netns exec "$DST_NS" /usr/sbin/sshd -D -e -f "$S/sshd_config" 2>"$D/sshd.log" &
echo $! >> "$D/pids"
for _ in $(seq 100); do
  ip netns exec "$DST_NS" ss -Hltn "sport = :2222" | grep -q . && break
  sleep 0.1
done
ip netns exec "$DST_NS" ss -Hltn "sport = :2222" | grep -q . || { cat "$D/sshd.log"; fail "sshd did not listen"; }
ip netns exec "$DST_NS" ss -Hltn "sport = :49250" | grep -q . && fail "an agent listens before the migration"

# A wrong key: refused before anything moves, with ssh's own words.
sed 's|IdentityFile .*|IdentityFile /nonexistent-qmig-key|' "$S/config" > "$S/config-bad"
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
for _ in $(seq 50); do
  ip netns exec "$DST_NS" ss -Hltn "sport = :49250" | grep -q . || break
  sleep 0.1
done
ip netns exec "$DST_NS" ss -Hltn "sport = :49250" | grep -q . && fail "the agent still listens"
for p in /proc/[0-9]*; do
  grep -qF -- "--run-dir" "$p/cmdline" 2>/dev/null && grep -qF "agent" "$p/cmdline" 2>/dev/null &&
    grep -qF "$D/dst.qmp" "$p/cmdline" 2>/dev/null && fail "agent ${p#/proc/} still runs"
done
ls /tmp/qmig-ssh.* >/dev/null 2>&1 && fail "the engine's PSK dir was left behind: $(ls -d /tmp/qmig-ssh.*)"
exit 0
