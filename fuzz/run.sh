#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# fuzz/run.sh SECONDS RUNS BIN... - run each libFuzzer target BIN (named
# fuzz_NAME) from its committed seed corpus fuzz/corpus/NAME for SECONDS
# (or, when RUNS is not empty, for RUNS inputs), FUZZ_JOBS targets at a time
# (default 1).  The committed corpus is only read: new inputs go to a
# scratch copy.  Prints one line per target (executions, seconds, crash or
# not) and exits non-zero when any target crashed, leaked or timed out; the
# crashing input is kept as $FUZZ_OUT/NAME.crash-* (or .leak-, .timeout-,
# .oom-; FUZZ_OUT defaults to build-fuzz/artifacts) and the tail of the
# target's log ($FUZZ_OUT/NAME.log) printed.
secs=$1 runs=$2
shift 2
out=${FUZZ_OUT:-build-fuzz/artifacts}
jobs=${FUZZ_JOBS:-1}
mkdir -p "$out" || exit 1

# One target; its verdict goes to $out/NAME.result ("ok LINE" / "fail LINE").
run_one() {
  bin=$1
  name=$(basename "$bin" | sed 's/^fuzz_//')
  res=$out/$name.result
  seeds=fuzz/corpus/$name
  if [ ! -d "$seeds" ]; then
    echo "fail fuzz $name: no seed corpus $seeds" > "$res"
    return
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/qmig-fuzz-$name.XXXXXX") || {
    echo "fail fuzz $name: no scratch directory" > "$res"; return; }
  cp "$seeds"/* "$work"/
  log=$out/$name.log
  if [ -n "$runs" ]; then limit="-runs=$runs"; else limit="-max_total_time=$secs"; fi
  start=$(date +%s)
  # -timeout: one input taking 20 s is a hang; -rss_limit_mb: a leak or a
  # runaway allocation.  Inputs grow up to the largest seed (at least 4 KiB).
  "$bin" $limit -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/$name." "$work" >"$log" 2>&1
  rc=$?
  t=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [ -n "$execs" ] || execs=$(grep -o '#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  corpus=$(ls "$work" | wc -l)
  rm -rf "$work"
  if [ $rc = 0 ]; then
    echo "ok fuzz $name: ${execs:-?} executions in ${t}s, corpus $corpus, no crash" > "$res"
  else
    echo "fail fuzz $name: CRASH (rc $rc) after ${execs:-?} executions in ${t}s; see $log" \
      > "$res"
  fi
}

n=0
for bin in "$@"; do
  rm -f "$out/$(basename "$bin" | sed 's/^fuzz_//').result"
  run_one "$bin" &
  n=$((n + 1))
  [ $((n % jobs)) = 0 ] && wait
done
wait

failed=""
for bin in "$@"; do
  name=$(basename "$bin" | sed 's/^fuzz_//')
  line=$(cat "$out/$name.result" 2>/dev/null) || line="fail fuzz $name: no result"
  echo "${line#* }"
  case $line in
    ok*) ;;
    *) failed="$failed $name"
       ls "$out/$name".* 2>/dev/null | grep -v '\.log$\|\.result$' | sed 's/^/    input: /'
       [ -f "$out/$name.log" ] && tail -n 30 "$out/$name.log" | sed 's/^/    /' ;;
  esac
done
if [ -n "$failed" ]; then
  echo "fuzz: failed:$failed"
  exit 1
fi
echo "fuzz: $# targets, no crash"
