# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig pingpong on a pair that is not a lab, and cancelled:
# 1. --src/--src-serial/--heartbeat-ms of a running QEMU, new processes in --spawn-dir as
#    --names a,b: two legs, the guest on b with its memory intact, the
#    heartbeats followed to each new process (guest stall measured);
# 2. SIGTERM during leg 2 of 4: the leg is cancelled, exit 1 naming leg 2,
#    error_code cancelled, the guest on leg 1's process, one QEMU left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"
P=$D/pp
mkdir -m 700 "$P"
# The processes qmig starts in $P, by pidfile, even when the test fails.
end_pp() {
  local f p
  for f in "$P"/*.pid; do
    p=$(cat "$f" 2>/dev/null) && [ -n "$p" ] && grep -qF "$P/" "/proc/$p/cmdline" 2>/dev/null &&
      kill "$p" 2>/dev/null
  done
  return 0
}
# (set +e: the subshell that hands the exit status on must not end the trap)
trap 'rc0=$?; set +e; end_pp; (exit $rc0); cleanup' EXIT
pj() { jq -r "$1" "$D/pp.json"; }
hb() { timeout 1 socat -u "UNIX-CONNECT:$P/$1.serial" - 2>/dev/null | grep -c '^HB' || true; }
qemus() {
  local p
  for p in /proc/[0-9]*; do
    case $(cat "$p/comm" 2>/dev/null) in qemu-system*) ;; *) continue ;; esac
    grep -qF "$D/" "$p/cmdline" 2>/dev/null && alive "${p#/proc/}" && echo "${p#/proc/}"
  done
  return 0
}
memcheck() { # NAME: the guest of $P/NAME.qmp holds what it wrote
  "$QMIG" verify-memory --qmp "unix:$P/$1.qmp" --tmpdir "$D" >"$D/memcheck.out" ||
    { cat "$D/memcheck.out"; fail "memory check on $1"; }
  cat "$D/memcheck.out"
}

# 1. Not a lab.
start_lab --fill 32 --dirty 5
drop_lab_dst
set +e
timeout 300 "$QMIG" pingpong --src "unix:$D/src.qmp" --src-serial "$D/src.serial" \
  --heartbeat-ms 2 --spawn-dir "$P" --names a,b --repeat 2 --json "$D/pp.json" >"$D/pp.out" 2>&1
RC=$?
set -e
cat "$D/pp.out"
[ "$RC" = 0 ] || fail "pingpong --src: exit $RC"
[ "$(pj .guest.qmp)" = "unix:$P/b.qmp" ] || fail "guest on $(pj .guest.qmp), want unix:$P/b.qmp"
B=$(cat "$P/b.pid")
[ "$(pj .guest.pid)" = "$B" ] || fail "guest pid $(pj .guest.pid), b.pid $B"
[ "$(pj .legs[1].src)" = "unix:$P/a.qmp" ] || fail "leg 2 from $(pj .legs[1].src)"
for i in 0 1; do
  [ "$(pj ".legs[$i].report.guest_stall_ms")" != null ] ||
    fail "leg $((i + 1)): no guest stall (heartbeats not followed)"
done
[ "$(qemus)" = "$B" ] || fail "QEMUs running: $(qemus | tr '\n' ' '), want only $B"
[ "$(hb b)" -ge 10 ] || fail "the guest on b is not running"
memcheck b
printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"cont"}' |
  timeout 5 socat -t 2 - "UNIX-CONNECT:$P/b.qmp" >/dev/null
[ "$(hb b)" -ge 10 ] || fail "the guest on b does not run again after cont"

# 2. Cancelled during leg 2 (bandwidth capped so that it still moves).
set +e
timeout 300 "$QMIG" pingpong --src "unix:$P/b.qmp" --src-serial "$P/b.serial" --names a,b \
  --repeat 4 --max-bandwidth 32M --verbose --json "$D/pp.json" >"$D/pp.out" 2>&1 &
PP=$!
set -e
echo "$PP" >>"$D/pids"
wait_lines "$D/pp.out" '^qmig: active' 2 "$PP" 120
[ "$(grep -c '^qmig: active' "$D/pp.out")" -ge 2 ] || { cat "$D/pp.out"; fail "leg 2 never became active"; }
A=$(cat "$P/a.pid")
kill -TERM "$PP"
for _ in $(seq 1200); do alive "$PP" || break; sleep 0.1; done
alive "$PP" && fail "pingpong still runs 120 s after SIGTERM"
set +e
wait "$PP"
RC=$?
set -e
cat "$D/pp.out"
[ "$RC" = 1 ] || fail "cancelled: exit $RC, want 1"
grep -qF "qmig pingpong: leg 2 of 4 failed, the guest runs on its source unix:$P/a.qmp (pid $A)" \
  "$D/pp.out" || fail "the message does not name leg 2 and where the guest runs"
[ "$(pj .error_code)" = cancelled ] || fail "error_code $(pj .error_code)"
[ "$(pj .failed_leg)" = 2 ] || fail "failed_leg $(pj .failed_leg)"
[ "$(pj '.legs | length')" = 2 ] || fail "$(pj '.legs | length') legs"
[ "$(qemus)" = "$A" ] || fail "QEMUs running: $(qemus | tr '\n' ' '), want only $A"
[ "$(hb a)" -ge 10 ] || fail "the guest on a is not running"
memcheck a
