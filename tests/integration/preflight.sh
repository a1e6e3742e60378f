# SPDX-License-Identifier: LGPL-2.1-or-later
# Preflight: two QEMUs with different -cpu models and the stream port taken
# by a listener of ours.  `qmig check` names every problem at once (each CPU
# feature the destination lacks, the port in use) and changes nothing;
# `qmig migrate` refuses before anything moves; with equal CPU models both
# pass and the guest migrates.
. "$(dirname "$0")/lib.sh"
# Both run the guest under TCG; Westmere has SSSE3, SSE4.1/4.2, POPCNT, AES,
# PCLMULQDQ and ARAT, which qemu64 lacks.
start_lab --fill 32 --cpu Westmere --dst-cpu qemu64

# Something else listens on the one stream port we will ask for.
for _ in $(seq 20); do
  PORT=$((40000 + RANDOM % 8000))
  socat -u "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" OPEN:/dev/null 2>/dev/null &
  LPID=$!; echo $LPID >> "$D/pids"
  sleep 0.2
  kill -0 $LPID 2>/dev/null && break
done
kill -0 $LPID 2>/dev/null || fail "could not start a listener on a free port"

set +e
"$QMIG" check --lab "$D" --data-port "$PORT" --multifd-channels 4 --json "$D/check.json" \
  > "$D/check.out" 2>&1
RC=$?
set -e
cat "$D/check.out"
[ "$RC" = 3 ] || fail "check exit $RC, expected 3"
# finding CHECK: "true|false DETAIL" of that finding in the JSON report.
finding() { jq -r --arg c "$1" '.preflight[] | select(.check == $c) | "\(.ok) \(.detail)"' "$D/check.json"; }
grep -q '^FAIL cpu: destination vCPU qemu64 lacks .* Westmere' "$D/check.out" || fail "CPU problem not printed"
grep -q "^FAIL data-port: 127.0.0.1:$PORT is in use" "$D/check.out" || fail "port problem not printed"
finding cpu | grep -q '^false ' || fail "cpu finding: $(finding cpu)"
for f in aes arat pclmulqdq popcnt sse4.1 sse4.2 ssse3; do
  finding cpu | grep -qwF -- "$f" || fail "missing feature $f not named: $(finding cpu)"
done
finding cpu | grep -q 'closest model both hosts can run: Westmere' || fail "no model suggested"
finding data-port | grep -q "^false 127.0.0.1:$PORT is in use" || fail "data-port: $(finding data-port)"
finding multifd | grep -q '^true 4 channels on both sides' || fail "multifd: $(finding multifd)"
for c in versions machine uuid destination capabilities cpu-host memory; do
  finding $c | grep -q '^true ' || fail "$c: $(finding $c)"
done
[ "$(jq '[.preflight[] | select(.ok == false)] | length' "$D/check.json")" = 2 ] ||
  fail "expected exactly 2 problems"
jq -r .error "$D/check.json" | grep -q '^preflight: 2 problems: cpu: .*; data-port: ' ||
  fail "error does not list every problem: $(jq -r .error "$D/check.json")"

# migrate runs the same preflight first and refuses: nothing moves.
migrate --data-port "$PORT" --multifd-channels 4
[ "$RC" = 3 ] || fail "migrate exit $RC, expected 3"
[ "$(jr .outcome_name)" = not-started ] || fail "outcome $(jr .outcome_name)"
jr .error | grep -q '^preflight: 2 problems: cpu: .*; data-port: .*nothing moved' ||
  fail "error: $(jr .error)"
[ "$(jr .transferred_bytes)" = 0 ] || fail "bytes moved"
# Source guest still running, destination still waiting with no incoming
# migration (probing would refuse it otherwise), source memory intact.
alive "$SRC_PID" || fail "source QEMU gone"
alive "$DST_PID" || fail "destination QEMU gone"
n=$(heartbeats src 1); [ "$n" -ge 10 ] || fail "source guest printed $n heartbeats in 1 s"
set +e; "$QMIG" check --lab "$D" --json "$D/check2.json" >/dev/null 2>&1; set -e
[ "$(jq -r '.preflight[] | select(.check == "destination") | .ok' "$D/check2.json")" = true ] ||
  fail "destination no longer waiting: $(jq -r .error "$D/check2.json")"
"$QMIG" verify-memory --qmp "unix:$D/src.qmp" --tmpdir "$D" || fail "memory check on src"

# Equal CPU models: every check passes, then the migration goes through.
"$QMIG" lab stop --dir "$D" >/dev/null
start_lab --fill 32 --dirty 5 --cpu Westmere
"$QMIG" check --lab "$D" > "$D/check.out" 2>&1 || { cat "$D/check.out"; fail "check exit $?"; }
cat "$D/check.out"
grep -q '^ok   cpu: destination vCPU Westmere has the same CPUID features' "$D/check.out" ||
  fail "cpu line"
grep -q '^FAIL' "$D/check.out" && fail "a check failed"
migrate
expect_migrated
[ "$(jr '[.preflight[] | select(.ok)] | length')" = "$(jr '.preflight | length')" ] ||
  fail "preflight findings in the report: $(jr .preflight)"
expect_guest_on dst
