# SPDX-License-Identifier: LGPL-2.1-or-later
# A destination made from the source's definition, when it cannot be:
# 1. the source has an inherited descriptor (-add-fd fd=3): refused before
#    anything starts, the message names the argument and its option;
# 2. the new process exits at once (a binary that refuses): the reason from
#    its output, the source keeps running, no second QEMU;
# 3. the new process is killed while the stream moves: the source keeps
#    (or resumes) the guest, whose memory is checked there; one QEMU left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"

# 1. -add-fd: QEMU without a guest, started by the test.
qemu-system-x86_64 -machine none -nodefaults -display none \
  -qmp "unix:$D/fd.qmp,server=on,wait=off" -add-fd fd=3,set=1 \
  -pidfile "$D/fd.pid" -daemonize 3</dev/null
FD_PID=$(cat "$D/fd.pid")
echo "$FD_PID" >>"$D/pids"
set +e
"$QMIG" migrate --src "unix:$D/fd.qmp" --dst-spawn on > "$D/fd.out" 2>&1
RC=$?
set -e
cat "$D/fd.out"
[ "$RC" = 3 ] || fail "fd= source: exit $RC"
grep -q "argument [0-9]* 'fd=3,set=1' of -add-fd: -add-fd cannot be rewritten" "$D/fd.out" ||
  fail "the refusal does not name the argument"
alive "$FD_PID" || fail "the source QEMU is gone"
[ ! -e "$D/dst.pid" ] || fail "a new QEMU was started"

# 2. A "QEMU" that refuses to start.
start_lab --fill 64 --dirty 10
drop_lab_dst
printf '#!/bin/sh\necho "qemu-system-x86_64: -machine pc: simulated refusal" >&2\nexit 1\n' > "$D/badqemu"
chmod +x "$D/badqemu"
migrate --dst-spawn on --dst-qemu-binary "$D/badqemu" --quit-source on
[ "$RC" = 3 ] || fail "refusing binary: exit $RC"
grep -q "exited before it listened.*simulated refusal" "$D/migrate.out" || fail "its reason not relayed"
expect_untouched

# 3. Killed while the stream moves (slowed so it is still moving).
rm -f "$D/dst.pid"
set +e
$IN_SRC "$QMIG" migrate --lab "$D" --dst-spawn on --quit-source on --max-bandwidth 4M \
  --json "$D/report.json" > "$D/migrate.out" 2>&1 &
MIG=$!
set -e
for _ in $(seq 300); do [ -s "$D/dst.pid" ] && break; sleep 0.1; done
[ -s "$D/dst.pid" ] || fail "the new QEMU did not start"
NEW=$(cat "$D/dst.pid")
sleep 2
kill -9 "$NEW"
set +e
wait "$MIG"
RC=$?
set -e
cat "$D/migrate.out"
[ "$RC" = 1 ] || fail "killed new QEMU: exit $RC (want 1: not migrated, source runs)"
alive "$NEW" && fail "the killed QEMU still runs"
DST_PID=$NEW
expect_guest_on src
