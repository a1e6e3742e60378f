# SPDX-License-Identifier: LGPL-2.1-or-later
# Only the source is started: qmig migrate --dst-spawn makes the
# destination from the source's own command line (pid from the QMP socket,
# /proc/PID/cmdline, rewritten), migrates to it and quits the source; one
# guest runs after, on the new process, with its memory intact.  Then the
# same in the two-namespace lab: the new process joins the source's
# network namespace.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"
start_lab --fill 64 --dirty 10
tr '\0' '\n' < "/proc/$SRC_PID/cmdline" > "$D/old.cmdline"
drop_lab_dst
migrate --dst-spawn on --spawn-dir "$D" --quit-source on
expect_migrated
[ "$(jr .update.mechanism)" = migrate ] || fail "mechanism $(jr .update.mechanism)"
jr .update.reason | grep -q '^dst_spawn:' || fail "reason $(jr .update.reason)"
[ "$(jr .update.new_qmp)" = "unix:$D/dst.qmp" ] || fail "new QMP $(jr .update.new_qmp)"
expect_new_process
tr '\0' '\n' < "/proc/$DST_PID/cmdline" > "$D/new.cmdline"
grep -qx -- "-incoming" "$D/new.cmdline" || fail "no -incoming in the new command line"
grep -qx -- "-daemonize" "$D/new.cmdline" && fail "-daemonize kept"
[ "$(grep -A1 -x -- -uuid "$D/new.cmdline" | tail -1)" = "$(grep -A1 -x -- -uuid "$D/old.cmdline" | tail -1)" ] ||
  fail "-uuid not kept"
expect_guest_on dst
"$QMIG" lab stop --dir "$D" >/dev/null

# In the netns lab: the engine runs in the source's namespace as always, the
# new QEMU must be in the same one (the stream stays inside it).
if [ "$(id -u)" = 0 ] && ip netns add "qmig-probe-$$" 2>/dev/null; then
  ip netns del "qmig-probe-$$"
  start_lab --fill 32 --dirty 5 --netns
  drop_lab_dst
  migrate --dst-spawn on --quit-source on
  expect_migrated
  expect_new_process
  [ "$(readlink "/proc/$DST_PID/ns/net")" = "$(ip netns exec "$SRC_NS" readlink /proc/self/ns/net)" ] ||
    fail "the new QEMU is not in the source's namespace $SRC_NS"
  expect_guest_on dst
else
  echo "netns part skipped: needs root and network namespaces"
fi
