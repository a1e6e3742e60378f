# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig pingpong (issue 13): the guest of a running QEMU migrated back and
# forth, each leg to a new QEMU made from the running one's definition.
# 1. usage errors (--repeat 0, abc, 1001; --names a,a): exit 2, nothing started;
# 2. --repeat 4 on a lab source: every leg migrated, each leg's source the
#    process the leg before started, a migrate option (downtime-limit) in
#    every leg's config, exactly one QEMU left (the last leg's) with its
#    memory intact, the JSON schema-valid with 4 legs and statistics;
# 3. the new process of leg 2 killed while the stream moves: exit 1 naming
#    leg 2, the guest on leg 1's process (memory checked), one QEMU left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/update-lib.bash"
python3 -c 'import jsonschema' 2>/dev/null || { echo "skip: python3-jsonschema not installed"; exit 77; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
validate() { python3 "$ROOT/tests/helpers/validate-json.py" "$ROOT/docs/schema/pingpong.schema.json" "$1"; }
pj() { jq -r "$1" "$D/pp.json"; }

# qemus: the pids of the QEMUs running with this test's directory on their
# command line (the lab's and every one qmig started from them).
qemus() {
  local p
  for p in /proc/[0-9]*; do
    case $(cat "$p/comm" 2>/dev/null) in qemu-system*) ;; *) continue ;; esac
    grep -qF "$D/" "$p/cmdline" 2>/dev/null && alive "${p#/proc/}" && echo "${p#/proc/}"
  done
  return 0
}

# 1. Usage errors, before anything runs.
for bad in "--repeat 0" "--repeat abc" "--repeat 1001" "--names a,a"; do
  set +e
  # shellcheck disable=SC2086
  "$QMIG" pingpong --src "unix:$D/none.qmp" $bad >"$D/usage.out" 2>&1
  RC=$?
  set -e
  [ "$RC" = 2 ] || { cat "$D/usage.out"; fail "pingpong $bad: exit $RC, want 2"; }
  opt=${bad%% *}
  grep -q "option '${opt#--}'" "$D/usage.out" || { cat "$D/usage.out"; fail "pingpong $bad: message does not name the option"; }
done
echo "ok: usage errors exit 2"

# 2. Four legs.
start_lab --fill 64 --dirty 10
ORIG=$SRC_PID
ORIG_EXE=$(readlink -f "/proc/$ORIG/exe")
drop_lab_dst
set +e
timeout 300 "$QMIG" pingpong --lab "$D" --repeat 4 --downtime-limit 400 --json "$D/pp.json" \
  >"$D/pp.out" 2>&1
RC=$?
set -e
cat "$D/pp.out"
[ "$RC" = 0 ] || fail "pingpong --repeat 4: exit $RC"
validate "$D/pp.json" || fail "the JSON does not validate against docs/schema/pingpong.schema.json"
[ "$(pj '.legs | length')" = 4 ] || fail "$(pj '.legs | length') legs, want 4"
[ "$(pj .outcome_name)" = migrated ] || fail "outcome $(pj .outcome_name)"
[ "$(pj .failed_leg)" = null ] || fail "failed_leg $(pj .failed_leg)"
[ "$(pj .stats.migrated)" = 4 ] || fail "stats.migrated $(pj .stats.migrated)"
for f in qemu_downtime_ms total_ms guest_stall_ms; do
  [ "$(pj ".stats.figures.$f.n")" = 4 ] || fail "stats $f over $(pj ".stats.figures.$f.n") legs"
  pj ".stats.figures.$f | .p5 <= .median and .median <= .p95 and .min <= .p5 and .p95 <= .max" |
    grep -qx true || fail "stats $f not ordered: $(pj ".stats.figures.$f")"
done
grep -q "QEMU downtime (ms)" "$D/pp.out" || fail "no statistics in the summary"
for i in 1 2 3 4; do grep -q "^leg $i/4: .*migrated, downtime" "$D/pp.out" || fail "no line for leg $i"; done
# The chain: leg 1 from the lab's source, every later leg from the process
# the leg before started, names alternating dst, src.
prev=$ORIG
for i in 0 1 2 3; do
  [ "$(pj ".legs[$i].report.outcome_name")" = migrated ] || fail "leg $((i + 1)): $(pj ".legs[$i].report.error")"
  [ "$(pj ".legs[$i].src_pid")" = "$prev" ] || fail "leg $((i + 1)) source pid $(pj ".legs[$i].src_pid"), want $prev"
  want=$([ $((i % 2)) = 0 ] && echo dst || echo src)
  [ "$(pj ".legs[$i].dst")" = "unix:$D/$want.qmp" ] || fail "leg $((i + 1)) new process $(pj ".legs[$i].dst")"
  [ "$(pj ".legs[$i].report.config.downtime_limit")" = 400 ] ||
    fail "leg $((i + 1)): downtime-limit not passed on ($(pj ".legs[$i].report.config.downtime_limit"))"
  [ "$(pj ".legs[$i].report.config.dst_spawn")" = true ] || fail "leg $((i + 1)) without dst_spawn"
  [ "$(pj ".legs[$i].report.qemu_downtime_ms")" != null ] || fail "leg $((i + 1)) without downtime"
  prev=$(pj ".legs[$i].dst_pid")
  if [ "$i" != 3 ]; then alive "$prev" && fail "leg $((i + 1))'s process $prev still runs"; fi
done
alive "$ORIG" && fail "the lab's source $ORIG still runs"
[ "$(pj .guest.pid)" = "$prev" ] && [ "$(pj .guest.qmp)" = "unix:$D/src.qmp" ] ||
  fail "guest $(pj .guest.qmp) pid $(pj .guest.pid), want unix:$D/src.qmp pid $prev"
[ "$(cat "$D/src.pid")" = "$prev" ] || fail "$D/src.pid is $(cat "$D/src.pid"), want $prev"
[ "$(qemus)" = "$prev" ] || fail "QEMUs running: $(qemus | tr '\n' ' '), want only $prev"
[ "$(readlink -f "/proc/$prev/exe")" = "$ORIG_EXE" ] || fail "the last process does not run $ORIG_EXE"
SRC_PID=$prev DST_PID=$(pj '.legs[2].dst_pid')
expect_guest_on src
qmp_peek src cont >/dev/null # the memory check stopped the guest
[ "$(heartbeats src 1)" -ge 10 ] || fail "the guest does not run again after cont"

# 3. Leg 2's new process killed while its stream moves (bandwidth capped so
# that it still moves): the guest stays on leg 1's process.
P0=$SRC_PID
set +e
timeout 300 "$QMIG" pingpong --lab "$D" --repeat 3 --max-bandwidth 32M --verbose \
  --json "$D/pp.json" >"$D/pp.out" 2>&1 &
PP=$!
set -e
echo "$PP" >>"$D/pids"
# Leg 2 is active once the second "active" state is printed.
wait_lines "$D/pp.out" '^qmig: active' 2 "$PP" 120
[ "$(grep -c '^qmig: active' "$D/pp.out")" -ge 2 ] || { cat "$D/pp.out"; fail "leg 2 never became active"; }
L1=$(cat "$D/dst.pid") L2=$(cat "$D/src.pid")
[ "$L2" != "$P0" ] && alive "$L2" || fail "leg 2's new process not found (src.pid $L2)"
sleep 1
kill -9 "$L2"
for _ in $(seq 1200); do alive "$PP" || break; sleep 0.1; done
alive "$PP" && fail "pingpong still runs 120 s after its destination was killed"
set +e
wait "$PP"
RC=$?
set -e
cat "$D/pp.out"
[ "$RC" = 1 ] || fail "killed leg: exit $RC (want 1: not migrated, the guest on the leg's source)"
grep -qF "qmig pingpong: leg 2 of 3 failed, the guest runs on its source unix:$D/dst.qmp (pid $L1)" "$D/pp.out" ||
  fail "the message does not name leg 2 and where the guest runs"
validate "$D/pp.json" || fail "the failure's JSON does not validate"
[ "$(pj .failed_leg)" = 2 ] || fail "failed_leg $(pj .failed_leg)"
[ "$(pj '.legs | length')" = 2 ] || fail "$(pj '.legs | length') legs after a failed leg 2"
[ "$(pj .outcome_name)" = not-migrated ] || fail "outcome $(pj .outcome_name)"
[ "$(pj .error_code)" != none ] || fail "no error_code"
[ "$(pj .stats.migrated)" = 1 ] || fail "stats.migrated $(pj .stats.migrated)"
[ "$(pj .guest.pid)" = "$L1" ] || fail "guest pid $(pj .guest.pid), want $L1"
[ "$(qemus)" = "$L1" ] || fail "QEMUs running: $(qemus | tr '\n' ' '), want only $L1"
DST_PID=$L1 SRC_PID=$L2
expect_guest_on dst
