# SPDX-License-Identifier: LGPL-2.1-or-later
# Accelerator choice: auto ends with a guest that runs (KVM where it brings
# the guest up in time, TCG otherwise); an unusable KVM is a clear error.
. "$(dirname "$0")/lib.sh"
if [ ! -w /dev/kvm ]; then
  set +e; out=$("$QMIG" lab start --dir "$D" --accel kvm --fill 16 2>&1); rc=$?; set -e
  [ $rc = 3 ] || fail "lab start --accel kvm without /dev/kvm: exit $rc"
  echo "$out" | grep -qi "kvm" || fail "message does not mention KVM: $out"
  [ -z "$(ls "$D"/*.pid 2>/dev/null)" ] || fail "pidfile left behind"
fi
"$QMIG" lab start --dir "$D" --accel auto --fill 16 >/dev/null
"$QMIG" lab status --dir "$D" | grep -q "accel \(kvm\|tcg\)" || fail "status"
SRC_PID=$(cat "$D/src.pid"); DST_PID=$(cat "$D/dst.pid")
[ "$(heartbeats src 1)" -ge 10 ] || fail "auto: guest not running"
"$QMIG" lab stop --dir "$D"
alive "$SRC_PID" && fail "source still running after lab stop"
alive "$DST_PID" && fail "destination still running after lab stop"
exit 0
