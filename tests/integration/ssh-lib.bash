# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers of the tunnel ssh:// tests (sourced after lib.sh, after start_lab
# --netns): Debian's sshd in the lab's destination namespace, started by
# the test with its own host key, one authorized key and a known hosts file
# (strict checking), as a real second host would have them.

# start_sshd: sshd on $HOST:2222 (HOST: the destination's lab address); its
# files in $S: config (ssh -F, the good key), config-bad (a key that does
# not exist: refused); its pid in SSHD_PID (stop_sshd, or lib.sh's cleanup).
start_sshd() {
  [ -x /usr/sbin/sshd ] || { echo "skip: no sshd (Debian's openssh-server)"; exit 77; }
  need ssh-keygen
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
  sed 's|IdentityFile .*|IdentityFile /nonexistent-qmig-key|' "$S/config" > "$S/config-bad"
  mkdir -p /run/sshd # sshd's privilege separation directory
  ip netns exec "$DST_NS" /usr/sbin/sshd -D -e -f "$S/sshd_config" 2>"$D/sshd.log" &
  SSHD_PID=$!
  echo "$SSHD_PID" >> "$D/pids"
  for _ in $(seq 100); do
    ip netns exec "$DST_NS" ss -Hltn "sport = :2222" | grep -q . && break
    sleep 0.1
  done
  ip netns exec "$DST_NS" ss -Hltn "sport = :2222" | grep -q . || { cat "$D/sshd.log"; fail "sshd did not listen"; }
}

# stop_sshd: end this test's sshd (before qmig lab stop: a process in the
# lab's namespace keeps it alive) and forget its files, for a new lab.
stop_sshd() {
  kill "$SSHD_PID" 2>/dev/null || true
  for _ in $(seq 50); do alive "$SSHD_PID" || break; sleep 0.1; done
  rm -rf "$S"
}

# agent_listens: whether an agent listens on the ssh host's agent port.
agent_listens() { ip netns exec "$DST_NS" ss -Hltn "sport = :49250" | grep -q .; }

# expect_agent_gone: the agent (and its ssh session) ended with the
# migration, and the engine's PSK dir is gone.
expect_agent_gone() {
  for _ in $(seq 50); do agent_listens || break; sleep 0.1; done
  agent_listens && fail "the agent still listens"
  for p in /proc/[0-9]*; do
    grep -qF -- "--run-dir" "$p/cmdline" 2>/dev/null && grep -qF "agent" "$p/cmdline" 2>/dev/null &&
      grep -qF "$D/dst.qmp" "$p/cmdline" 2>/dev/null && fail "agent ${p#/proc/} still runs"
  done
  if ls /tmp/qmig-ssh.* >/dev/null 2>&1; then fail "the engine's PSK dir was left behind: $(ls -d /tmp/qmig-ssh.*)"; fi
}
