# SPDX-License-Identifier: LGPL-2.1-or-later
# A tiny bench end to end: two scenarios that migrate and one that cannot
# (2 s timeout over an 8 MiB/s stream), 2 runs each, interleaved, one
# warm-up.  Every output exists, the JSON lines parse and count right,
# every migrated run had its destination memory verified, the failures are
# recorded with their error, and no QEMU is left behind.
. "$(dirname "$0")/lib.sh"
mkdir "$D/work"
cat > "$D/sc.json" <<'J'
{"base": {"fill": 64, "mem": 96, "dirty": 10},
 "scenarios": [
   {"name": "plain"},
   {"name": "multifd", "multifd-channels": 2},
   {"name": "too-slow", "max-bandwidth": "8M", "timeout": 2}]}
J
set +e
"$QMIG" bench --scenario "$D/sc.json" --runs 2 --warmup 1 --out "$D/out" \
  --workdir "$D/work" --resamples 500 > "$D/bench.out" 2> "$D/bench.err"
rc=$?
set -e
cat "$D/bench.out"
[ "$rc" = 1 ] || fail "exit $rc, want 1 (runs failed): $(cat "$D/bench.err")"
for f in runs.jsonl runs.csv summary.csv summary.txt report.html; do
  [ -s "$D/out/$f" ] || fail "$f missing or empty"
done
J="$D/out/runs.jsonl"
jq -e . "$J" > /dev/null || fail "runs.jsonl does not parse"
[ "$(wc -l < "$J")" = 7 ] || fail "$(wc -l < "$J") lines, want 7 (1 warm-up + 3 x 2)"
count() { jq -s "[.[] | select($1)] | length" "$J"; }
[ "$(count '.bench.warmup')" = 1 ] || fail "warm-up runs: $(count '.bench.warmup')"
[ "$(jq -r 'select(.bench.warmup) | .bench.scenario' "$J")" = plain ] || fail "warm-up not of plain"
for s in plain multifd too-slow; do
  [ "$(count "(.bench.warmup | not) and .bench.scenario == \"$s\"")" = 2 ] || fail "$s: not 2 runs"
done
# Interleaved: A B C A B C after the warm-up.
order=$(jq -r 'select(.bench.warmup | not) | .bench.scenario' "$J" | tr '\n' ' ')
[ "$order" = "plain multifd too-slow plain multifd too-slow " ] || fail "order: $order"
# The migrating runs: ok, memory checked on the destination, figures there.
[ "$(count '.bench.scenario != "too-slow" and .bench.ok and .bench.memory.side == "dst" and .bench.memory.rc == 0 and .bench.memory.pages_checked > 0 and .report.outcome_name == "migrated" and .report.stop_to_resume_pause_ms > 0')" = 5 ] ||
  fail "not every migrating run is ok with its memory verified"
[ "$(count '.bench.scenario == "multifd" and .report.config.multifd_channels == 2')" = 2 ] ||
  fail "multifd-channels not applied"
[ "$(count '(.samples | length) > 0')" -ge 1 ] || fail "no progress samples recorded"
# The failing runs: recorded, failed, their error kept, the guest still
# on the source with its memory right.
[ "$(count '.bench.scenario == "too-slow" and (.bench.ok | not) and .bench.stage == "migrate" and (.bench.error | length) > 0 and .bench.memory.side == "src" and .bench.memory.rc == 0')" = 2 ] ||
  fail "failed runs not recorded as failed with their error: $(jq -c 'select(.bench.scenario == "too-slow") | .bench' "$J")"
grep -q "too-slow: 2 runs, 2 failed" "$D/bench.out" || fail "summary does not count the failures"
# CSV: 3 scenarios x 10 figures + header; runs.csv one row per run + header.
[ "$(wc -l < "$D/out/summary.csv")" = 31 ] || fail "summary.csv rows: $(wc -l < "$D/out/summary.csv")"
[ "$(wc -l < "$D/out/runs.csv")" = 8 ] || fail "runs.csv rows: $(wc -l < "$D/out/runs.csv")"
grep -q '^"multifd",stop_to_resume_pause_ms,ms,2,' "$D/out/summary.csv" || fail "multifd pause stats missing"
grep -q '^"too-slow",total_ms,ms,0,' "$D/out/summary.csv" || fail "too-slow has statistics"
grep -q "class='chart box-chart'" "$D/out/report.html" || fail "no box chart in the HTML"
# The outputs again from the JSON lines alone give the same summary.
"$QMIG" bench --render "$J" --out "$D/again" > "$D/again.out"
diff "$D/out/summary.txt" "$D/again/summary.txt" || fail "render from runs.jsonl differs"
# One key case and a schema in every line (the scenario's knobs too), and
# the summary as JSON (--json -: only the JSON on stdout).
schema=$(sed -n 's/^#define QMIG_REPORT_SCHEMA \([0-9]*\)$/\1/p' "$(dirname "$0")/../../include/qmig.h")
[ "$(count ".schema == $schema")" = 7 ] || fail "lines without schema $schema"
kebab=$(jq -r '[.. | objects | keys[] | select(test("-"))] | unique | join(" ")' "$J" | sort -u | tr '\n' ' ')
[ -z "${kebab// /}" ] || fail "kebab-case keys in runs.jsonl: $kebab"
[ "$(count '.bench.scenario == "multifd" and .scenario.multifd_channels == "2"')" = 2 ] || fail "scenario knobs not in snake_case"
"$QMIG" bench --render "$J" --out "$D/again2" --json - > "$D/summary.json" || fail "bench --render --json"
jq -e ".schema == $schema and (.scenarios | length) == 3 and (.scenarios[] | select(.name == \"multifd\") | .figures.stop_to_resume_pause_ms.n) == 2 and (.scenarios[] | select(.name == \"too-slow\") | .figures.total_ms.n) == 0" "$D/summary.json" > /dev/null ||
  fail "bench summary JSON: $(head -c 600 "$D/summary.json")"
# Both against their JSON Schemas (docs/schema/; a line's report against
# the report's), when python3-jsonschema is there.
if python3 -c 'import jsonschema' 2>/dev/null; then
  V="$(dirname "$0")/../helpers/validate-json.py" S="$(dirname "$0")/../../docs/schema"
  python3 "$V" --lines "$S/bench-run.schema.json" "$J" || fail "runs.jsonl does not validate against bench-run.schema.json"
  python3 "$V" "$S/bench-summary.schema.json" "$D/summary.json" || fail "the summary does not validate against bench-summary.schema.json"
  jq -c '.bench.stage = 1' "$J" > "$D/broken.jsonl"
  ! python3 "$V" --lines "$S/bench-run.schema.json" "$D/broken.jsonl" 2>/dev/null || fail "a line with a numeric stage validates"
else
  echo "bench-tiny: python3-jsonschema not installed, schemas not checked"
fi
# Nothing left: every lab stopped and removed.
[ -z "$(ls -A "$D/work")" ] || fail "labs left in $D/work: $(ls "$D/work")"
for p in /proc/[0-9]*; do
  grep -qF "$D/work" "$p/cmdline" 2>/dev/null && fail "process ${p#/proc/} still runs for the bench"
done
echo "bench: 7 runs recorded, 5 migrated and verified, 2 failures kept"
