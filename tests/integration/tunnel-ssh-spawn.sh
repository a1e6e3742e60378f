# SPDX-License-Identifier: LGPL-2.1-or-later
# --dst-spawn with --tunnel ssh://: only the source was started by hand;
# one qmig command starts the destination QEMU from the source's own
# command line on the ssh host (the same ssh session as the agent), migrates
# through the tunnel and quits the source: one guest runs after, on the
# remote QEMU, with its memory intact.  Before that, the failures: ssh
# refused, and a destination QEMU that does not start there: the guest stays
# on the source, with a message that says why, and nothing runs remotely.
# The "remote host" is the lab's destination namespace with its own sshd
# (ssh-lib.bash); it shares this filesystem, so spawn-dir is $D there too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"
. "$(dirname "$0")/ssh-lib.bash"
need_netns
need_tunnel
start_lab --netns --fill 32 --dirty 10
start_sshd
drop_lab_dst
SSH=(--tunnel "ssh://root@$HOST:2222" --tunnel-ssh-qmig "$QMIG" --dst-spawn on --spawn-dir "$D")

# expect_nothing_remote: no QEMU or agent of this test's destination runs.
expect_nothing_remote() {
  for p in /proc/[0-9]*; do
    grep -qF "$D/dst.qmp" "$p/cmdline" 2>/dev/null && alive "${p#/proc/}" &&
      fail "process ${p#/proc/} ($(tr '\0' ' ' < "$p/cmdline" | cut -c1-80)) still runs: $1"
  done
  return 0
}

# ssh refused: nothing started anywhere, ssh's words relayed.
migrate "${SSH[@]}" --tunnel-ssh-config "$S/config-bad" --quit-source on
[ "$RC" = 3 ] || fail "bad key: exit $RC, expected 3 (not started)"
grep -q "the destination QEMU was not started there" "$D/migrate.out" || fail "no spawn message"
grep -q "Permission denied" "$D/migrate.out" || fail "ssh's refusal not relayed"
grep -q "the source keeps running" "$D/migrate.out" || fail "not said that the source keeps running"
expect_untouched
expect_nothing_remote "after ssh refused"

# The QEMU there does not start: its own words come back, it is not left.
printf '#!/bin/sh\necho "fake-qemu: refusing to start" >&2\nexit 1\n' > "$D/fake-qemu"
chmod +x "$D/fake-qemu"
migrate "${SSH[@]}" --tunnel-ssh-config "$S/config" --quit-source on --dst-qemu-binary "$D/fake-qemu"
[ "$RC" = 3 ] || fail "failed QEMU: exit $RC, expected 3 (not started)"
grep -q "the new QEMU exited before it listened on $D/dst.qmp: fake-qemu: refusing to start" \
  "$D/migrate.out" || fail "the remote QEMU's failure not relayed"
expect_untouched
expect_nothing_remote "after the remote QEMU failed"
agent_listens && fail "an agent listens after the failed start"

# The QEMU starts there but the agent does not (no qmig at that path): the
# guest stays on the source and the remote QEMU is ended, not left behind.
migrate --tunnel "ssh://root@$HOST:2222" --tunnel-ssh-qmig /nonexistent/qmig --dst-spawn on \
  --spawn-dir "$D" --tunnel-ssh-config "$S/config" --quit-source on --qmp-timeout 2000
[ "$RC" = 3 ] || fail "no agent: exit $RC, expected 3 (not started)"
grep -q "pid [0-9]* (.*) on ssh://root@$HOST:2222" "$D/migrate.out" || fail "the remote QEMU did not start"
grep -q "the agent did not start within" "$D/migrate.out" || fail "the agent's failure not said"
grep -q "the new QEMU on root@$HOST:2222 (pid [0-9]*) is ended" "$D/migrate.out" ||
  fail "the end of the remote QEMU not said"
expect_untouched
for _ in $(seq 50); do [ -S "$D/dst.qmp" ] || break; sleep 0.1; done
expect_nothing_remote "after the agent failed"

# The migration: one command, source only.
migrate --verbose "${SSH[@]}" --tunnel-ssh-config "$S/config" --quit-source on --tunnel-data plain
expect_migrated
[ "$(jr .update.new_host)" = "ssh://root@$HOST:2222" ] || fail "new_host $(jr .update.new_host)"
[ "$(jr .update.new_qmp)" = "unix:$D/dst.qmp" ] || fail "new QMP $(jr .update.new_qmp)"
[ "$(jr .config.tunnel)" = "ssh://root@$HOST:2222" ] || fail "config.tunnel: $(jr .config.tunnel)"
expect_new_process
[ "$(readlink "/proc/$DST_PID/ns/net")" = "$(ip netns exec "$DST_NS" readlink /proc/self/ns/net)" ] ||
  fail "the new QEMU is not on the ssh host (namespace $DST_NS)"
expect_agent_gone
# The ssh session is over and the new QEMU outlives it.
alive "$DST_PID" || fail "the new QEMU ended with the ssh session"
expect_guest_on dst
python3 "$TOP/tests/helpers/validate-json.py" "$TOP/docs/schema/report.schema.json" "$D/report.json" ||
  fail "report does not match its schema"
exit 0
