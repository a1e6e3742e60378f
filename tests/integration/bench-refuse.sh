# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig bench refuses a scenario file with an unknown knob or a bad value
# before anything runs: exit 2, the message names the file, the scenario,
# the knob and why, and no lab was started, no output written.
. "$(dirname "$0")/lib.sh"
mkdir "$D/work"
cat > "$D/typo.json" <<'J'
{"base": {"fill": 32},
 "scenarios": [{"name": "ok"}, {"name": "typo", "multifd-chanels": 2}]}
J
cat > "$D/bad.json" <<'J'
[{"name": "ok"}, {"name": "bad", "downtime-limit": "soon"}]
J
cat > "$D/lab.json.bad" <<'J'
[{"name": "fat", "fill": "lots"}]
J
for f in typo.json:"scenario 'typo': unknown knob 'multifd-chanels'" \
         bad.json:"scenario 'bad': knob 'downtime-limit' = 'soon'" \
         lab.json.bad:"scenario 'fat': knob 'fill' = 'lots'"; do
  file=${f%%:*} want=${f#*:}
  set +e
  "$QMIG" bench --scenario "$D/$file" --runs 1 --out "$D/out" --workdir "$D/work" \
    > "$D/bench.out" 2>&1
  rc=$?
  set -e
  [ "$rc" = 2 ] || fail "$file: exit $rc, want 2: $(cat "$D/bench.out")"
  grep -qF "$D/$file: $want" "$D/bench.out" || fail "$file: message lacks '$want': $(cat "$D/bench.out")"
done
# A sweep value and a knob this build lacks are refused the same way.
set +e
"$QMIG" bench --sweep multifd-channels=1,many --set fill=16 --runs 1 --warmup 0 --out "$D/out" \
  --workdir "$D/work" > "$D/bench.out" 2>&1
rc=$?
# (Small and short, should it ever be accepted.)
"$QMIG" bench --sweep dirty-pattern=sequential,random --set fill=16 --runs 1 --warmup 0 \
  --out "$D/out" --workdir "$D/work" > "$D/bench2.out" 2>&1
rc2=$?
set -e
[ "$rc" = 2 ] && grep -qF "scenario 'multifd-channels=many': knob 'multifd-channels' = 'many'" "$D/bench.out" ||
  fail "sweep: exit $rc: $(cat "$D/bench.out")"
[ "$rc2" = 2 ] && grep -qF "scenario 'dirty-pattern=random': knob 'dirty-pattern' = 'random': not available" "$D/bench2.out" ||
  fail "dirty-pattern: exit $rc2: $(cat "$D/bench2.out")"
[ ! -e "$D/out" ] || fail "output written for a refused bench"
[ -z "$(ls -A "$D/work")" ] || fail "a lab was started: $(ls "$D/work")"
echo "refused with the knob named, nothing ran"
