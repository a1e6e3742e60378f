# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers of the live-update and spawned-destination tests (sourced after
# lib.sh): the lab's own destination is removed so that only the source
# runs, and qmig makes the new process in $D under the name "dst" (its
# pidfile $D/dst.pid, QMP $D/dst.qmp, serial $D/dst.serial), which
# expect_guest_on dst then checks; lab stop and lib.sh's cleanup end it.

# drop_lab_dst: end the lab's destination QEMU (by its pid) and wait.
drop_lab_dst() {
  kill "$DST_PID"
  for _ in $(seq 100); do alive "$DST_PID" || break; sleep 0.1; done
  alive "$DST_PID" && fail "lab destination (pid $DST_PID) does not end"
  rm -f "$D/dst.qmp" "$D/dst.serial" "$D/dst.pid"
}

# update [options]: qmig update on the lab (in its source's namespace),
# report in $D/report.json, exit code in $RC.
update() {
  set +e
  $IN_SRC "$QMIG" update --lab "$D" --json "$D/report.json" "$@" > "$D/update.out" 2>&1
  RC=$?
  set -e
  cat "$D/update.out"
}

# expect_new_process: the report's new process is the one in $D/dst.pid
# (DST_PID from now on) and the old one (SRC_PID) is gone.
expect_new_process() {
  [ -s "$D/dst.pid" ] || fail "no pidfile of the new QEMU"
  DST_PID=$(cat "$D/dst.pid")
  [ "$(jr .update.new_pid)" = "$DST_PID" ] || fail "report new_pid $(jr .update.new_pid), pidfile $DST_PID"
  [ "$(jr .update.old_pid)" = "$SRC_PID" ] || fail "report old_pid $(jr .update.old_pid), source $SRC_PID"
}

# expect_untouched: a refused or failed attempt left the source running
# and no new process.
expect_untouched() {
  alive "$SRC_PID" || fail "the source QEMU (pid $SRC_PID) is gone"
  if [ -s "$D/dst.pid" ]; then
    p=$(cat "$D/dst.pid")
    alive "$p" && fail "a new QEMU (pid $p) still runs after the failure"
  fi
  [ "$(heartbeats src 1)" -ge 10 ] || fail "the source guest is not running"
  DST_PID=0 # expect_guest_on src: no other QEMU
}

# lock_image FILE: another process holds FILE as a QEMU that has it open
# does (an OFD write lock on byte 100), until `kill "$LOCKER"`; returns once
# /proc/locks shows the lock.
lock_image() {
  need python3
  python3 -c 'import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, 37, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 100, 1, 0))  # F_OFD_SETLK
time.sleep(120)' "$1" &
  LOCKER=$!
  echo "$LOCKER" >>"$D/pids"
  local ino
  ino=$(stat -c %i "$1")
  for _ in $(seq 100); do grep -q "OFDLCK .*:$ino " /proc/locks && break; sleep 0.1; done
  grep -q "OFDLCK .*:$ino " /proc/locks || fail "the test's lock on $1 was not taken"
}
