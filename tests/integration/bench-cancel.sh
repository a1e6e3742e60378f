# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGTERM in the middle of a bench: the migration under way is cancelled,
# its lab stopped, the run recorded as failed, the outputs of what ran are
# written, the bench exits 3, and no QEMU or lab directory is left.
. "$(dirname "$0")/lib.sh"
mkdir "$D/work"
cat > "$D/sc.json" <<'J'
{"base": {"fill": 64, "mem": 96},
 "scenarios": [{"name": "fast"},
               {"name": "slow", "max-bandwidth": "4M", "timeout": 120}]}
J
"$QMIG" bench --scenario "$D/sc.json" --runs 3 --out "$D/out" --workdir "$D/work" \
  --resamples 100 > "$D/bench.out" 2>&1 &
pid=$!
echo "$pid" >> "$D/pids"
# Warm-up and fast run 1 recorded, then the slow run has begun (bounded).
for _ in $(seq 600); do
  [ "$(cat "$D/out/runs.jsonl" 2>/dev/null | wc -l)" -ge 2 ] && break
  alive "$pid" || fail "bench ended early: $(cat "$D/bench.out")"
  sleep 0.1
done
[ "$(wc -l < "$D/out/runs.jsonl")" = 2 ] || fail "the first two runs did not finish in time"
sleep 2
kill -TERM "$pid"
for _ in $(seq 300); do alive "$pid" || break; sleep 0.1; done
alive "$pid" && fail "bench still runs 30 s after SIGTERM"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" = 3 ] || fail "exit $rc, want 3: $(cat "$D/bench.out")"
grep -q "cancelled after 3 of 7 runs" "$D/bench.out" || fail "no cancel message: $(cat "$D/bench.out")"
J="$D/out/runs.jsonl"
[ "$(wc -l < "$J")" = 3 ] || fail "$(wc -l < "$J") runs recorded, want 3"
last=$(tail -n 1 "$J")
[ "$(jq -r .bench.scenario <<< "$last")" = slow ] || fail "last run not the slow one"
[ "$(jq -r .bench.ok <<< "$last")" = false ] || fail "cancelled run recorded as ok"
[ "$(jq -r .bench.stage <<< "$last")" = migrate ] || fail "stage $(jq -r .bench.stage <<< "$last")"
[ "$(jq -r .bench.memory.side <<< "$last")" = src ] && [ "$(jq -r .bench.memory.rc <<< "$last")" = 0 ] ||
  fail "guest not verified intact on the source after the cancel: $(jq -c .bench <<< "$last")"
for f in summary.txt summary.csv runs.csv report.html; do
  [ -s "$D/out/$f" ] || fail "$f not written after the cancel"
done
[ -z "$(ls -A "$D/work")" ] || fail "labs left in $D/work: $(ls "$D/work")"
for p in /proc/[0-9]*; do
  grep -qF "$D/work" "$p/cmdline" 2>/dev/null && fail "process ${p#/proc/} still runs for the bench"
done
echo "cancelled cleanly: 3 runs recorded, the last one failed with the guest intact on the source"
