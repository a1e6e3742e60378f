# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig calibrate on the Linux lab guest of a switched L2 lab (--netns): three
# controlled pauses of 80 ms on the running source (QMP stop, 80 ms, cont),
# watched by the heartbeat reader on its serial and the UDP probe from the
# lab's client namespace.  On one warm QEMU the two instruments must agree
# (issue 12's "within a few ms"): median |net gap - stall| <= max(10 ms, two
# heartbeat periods); every pause within [80, 130] ms; both gaps at least the
# pause less 5 ms; the JSON valid against docs/schema/calibrate.schema.json.
# The lab's destination (incoming state) is refused with exit 3, naming the
# state.  Afterwards the source guest still runs, its own memory check
# passes and, the destination ended, exactly one QEMU runs.
. "$(dirname "$0")/lib.sh"
need_netns
need_linux_guest
need python3

# Bad options: exit 2, the option named, nothing on stdout, nothing paused.
for bad in "pause:--pause 0" "repeat:--repeat 101" "qmp:--qmp tcp:127.0.0.1:4444" \
  "heartbeat-ms:--qmp unix:$D/none.qmp --serial $D/none.serial"; do
  set +e
  # shellcheck disable=SC2086
  "$QMIG" calibrate --probe udp:198.18.1.2:7 ${bad#*:} > "$D/bad.out" 2> "$D/bad.err"
  rc=$?
  set -e
  [ $rc = 2 ] || fail "calibrate ${bad#*:}: exit $rc, want 2"
  grep -q "'${bad%%:*}'" "$D/bad.err" || fail "calibrate ${bad#*:}: '$(cat "$D/bad.err")' does not name ${bad%%:*}"
  [ ! -s "$D/bad.out" ] || fail "calibrate ${bad#*:} wrote to stdout"
done
start_lab --guest linux --netns --fill 32 --dirty 4
CLI=$(jq -r .client_netns "$D/lab.json")
ADDR=$(jq -r .guest_addr "$D/lab.json")
PORT=$(jq -r .guest_udp_echo_port "$D/lab.json")
HB=$(jq -r .heartbeat_ms "$D/lab.json")
[ -e "/run/netns/$CLI" ] || fail "no client namespace $CLI"
SCHEMA=$TOP/docs/schema/calibrate.schema.json
validate() { python3 "$TOP/tests/helpers/validate-json.py" "$SCHEMA" "$1" || fail "$1 does not match $SCHEMA"; }

# The destination waits for a migration stream: refused, nothing paused.
set +e
"$QMIG" calibrate --lab "$D" --side dst --pause 80 --repeat 1 --json "$D/refused.json" \
  > "$D/refused.out" 2>&1
rc=$?
set -e
cat "$D/refused.out"
[ $rc = 3 ] || fail "calibrate on the incoming destination: exit $rc, want 3"
grep -q 'incoming state' "$D/refused.out" || fail "the refusal does not name the incoming state"
validate "$D/refused.json"
[ "$(jq -r .outcome_name "$D/refused.json")" = not-started ] || fail "refusal outcome $(jq -r .outcome_name "$D/refused.json")"
[ "$(jq -r .error_code "$D/refused.json")" = preflight ] || fail "refusal error_code $(jq -r .error_code "$D/refused.json")"
[ "$(jq '.rounds | length' "$D/refused.json")" = 0 ] || fail "rounds measured on a refused QEMU"
printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-status"}' |
  timeout 5 socat -t 2 - "UNIX-CONNECT:$D/dst.qmp" | grep -q '"inmigrate"' ||
  fail "the destination is no longer waiting for a migration"

# The source: three rounds.
set +e
"$QMIG" calibrate --lab "$D" --pause 80 --repeat 3 --probe "udp:$ADDR:$PORT" --probe-netns "$CLI" \
  --json "$D/cal.json" > "$D/cal.out" 2>&1
rc=$?
set -e
cat "$D/cal.out"
[ $rc = 0 ] || fail "qmig calibrate exit $rc"
validate "$D/cal.json"
jq -c '.rounds[]' "$D/cal.json"
jq -c '.median, .probe, .heartbeat' "$D/cal.json"
[ "$(jq -r .outcome_name "$D/cal.json")" = measured ] || fail "outcome $(jq -r .outcome_name "$D/cal.json")"
[ "$(jq '.rounds | length' "$D/cal.json")" = 3 ] || fail "$(jq '.rounds | length' "$D/cal.json") rounds, want 3"
[ "$(jq -r .probe.method "$D/cal.json")" = udp ] || fail "probe method $(jq -r .probe.method "$D/cal.json")"
[ "$(jq -r .heartbeat.period_ms "$D/cal.json")" = "$HB" ] || fail "heartbeat period not the lab's $HB ms"
for i in 0 1 2; do
  r=$(jq -c ".rounds[$i]" "$D/cal.json")
  for f in pause_ms stall_ms net_gap_ms first_reply_after_resume_ms first_heartbeat_after_resume_ms; do
    [ "$(jq -r ".$f" <<<"$r")" != null ] || fail "round $((i + 1)): $f not measured"
  done
  jq -e '.pause_ms >= 80 and .pause_ms <= 130' <<<"$r" >/dev/null ||
    fail "round $((i + 1)): pause $(jq .pause_ms <<<"$r") ms outside [80, 130]"
  jq -e '.stall_ms >= .pause_ms - 5 and .net_gap_ms >= .pause_ms - 5' <<<"$r" >/dev/null ||
    fail "round $((i + 1)): a gap shorter than the pause less 5 ms: $r"
done
lim=$((2 * HB > 10 ? 2 * HB : 10))
jq -e --argjson lim "$lim" '.median.net_gap_minus_stall_ms | (if . < 0 then -. else . end) <= $lim' "$D/cal.json" >/dev/null ||
  fail "median |net gap - stall| = |$(jq .median.net_gap_minus_stall_ms "$D/cal.json")| ms > $lim ms"
echo "ok: median net gap - stall $(jq .median.net_gap_minus_stall_ms "$D/cal.json") ms (limit $lim ms)"

# The source guest runs on; with the idle destination ended, it is the only QEMU.
kill "$DST_PID"
for _ in $(seq 100); do alive "$DST_PID" || break; sleep 0.1; done
printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-status"}' |
  timeout 5 socat -t 2 - "UNIX-CONNECT:$D/src.qmp" | grep -q '"status": *"running"' ||
  fail "the source guest is not running after calibrate"
expect_guest_on src
