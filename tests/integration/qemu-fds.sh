# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMUs qmig starts inherit none of qmig's descriptors and run sandboxed:
# during a one-run bench (runs.jsonl open the whole time, labs started and
# migrated by the library), every lab QEMU seen has no descriptor on
# runs.jsonl, a log, lab.json or anything else in the bench's output, only
# QEMU's own beyond stdin/out/err, and seccomp on (-sandbox: Seccomp 2).
. "$(dirname "$0")/lib.sh"
mkdir -m 700 "$D/work"
cat > "$D/sc.json" <<'J'
{"base": {"fill": 32, "mem": 64, "dirty": 5}, "scenarios": [{"name": "plain"}]}
J
"$QMIG" bench --scenario "$D/sc.json" --runs 1 --warmup 0 --out "$D/out" --workdir "$D/work" \
  --resamples 100 > "$D/bench.out" 2> "$D/bench.err" & bpid=$!
echo "$bpid" >> "$D/pids"
seen=0 bad=""
# Bounded: 600 polls of 0.1 s (a run takes ~10 s here).
for _ in $(seq 600); do
  alive "$bpid" || break
  for pf in $(find "$D/work" -name '*.pid' 2>/dev/null); do
    p=$(cat "$pf" 2>/dev/null) || continue
    [ -n "$p" ] && [ -d "/proc/$p/fd" ] && grep -qF "$D/work" "/proc/$p/cmdline" 2>/dev/null || continue
    grep -q '^Seccomp:[[:space:]]*2' "/proc/$p/status" || bad="$bad; QEMU $p: not sandboxed"
    for fd in /proc/"$p"/fd/*; do
      n=${fd##*/}; t=$(readlink "$fd" 2>/dev/null) || continue
      [ "$n" -le 2 ] && continue
      case $t in
        "$D/out"*|*.log|*/lab.json|*runs.jsonl) bad="$bad; QEMU $p fd $n -> $t" ;;
      esac
    done
    seen=$((seen + 1))
  done
  sleep 0.1
done
wait "$bpid" || fail "bench failed: $(cat "$D/bench.err")"
[ "$seen" -gt 0 ] || fail "no lab QEMU was seen while the bench ran"
[ -z "$bad" ] || fail "${bad#; }"
[ "$(jq -s 'length' "$D/out/runs.jsonl")" = 1 ] || fail "runs.jsonl: not one run"
jq -e '.bench.ok and .bench.memory.rc == 0 and .bench.memory.side == "dst"' "$D/out/runs.jsonl" \
  >/dev/null || fail "the run did not migrate with its memory verified"
echo "lab QEMUs inspected $seen times: sandboxed, no descriptor of qmig's"
