#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tools/bench/native.sh - repeated native live migrations of the lab guest, one
# line per run, medians and the two downtime/overhead targets at the end.
# Run by `make bench-native`; docs/BENCHMARKING.md explains every figure.
#
# Environment (defaults in brackets):
#   RUNS   measured runs [10]; one warm-up run before them is discarded
#   FILL   MiB of guest RAM filled with verifiable random data [1024]
#   MEM    guest RAM in MiB [FILL + 76]
#   DIRTY  MiB/s the guest rewrites while migrating [0]
#   HB     guest heartbeat period in ms [2]
#   ACCEL  kvm|tcg|auto [tcg]
#   QMIG   the qmig binary [build/qmig]; GUEST the lab guest ELF
#          [build/guest/qmig-guest.elf]. Both are copied before the first
#          run, so a rebuild (or `make clean`) meanwhile cannot mix binaries.
#   OUTDIR where the JSON lines and the summary go [build/bench]
#   MIGRATE_OPTS  extra options for `qmig migrate` (word-split) []
#
# Exit: 0 every run migrated and verified and both targets PASS,
#       1 a target MISSed, 2 a run failed (migration, lab or memory check)
#       or the bench could not run.
set -u

cd "$(dirname "$0")/../.." || exit 2

RUNS=${RUNS:-10}
FILL=${FILL:-1024}
MEM=${MEM:-$((FILL + 76))}
DIRTY=${DIRTY:-0}
HB=${HB:-2}
ACCEL=${ACCEL:-tcg}
QMIG=${QMIG:-build/qmig}
GUEST=${GUEST:-build/guest/qmig-guest.elf}
OUTDIR=${OUTDIR:-build/bench}
MIGRATE_OPTS=${MIGRATE_OPTS:-}

for tool in jq awk; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool not found" >&2; exit 2; }
done
for f in "$QMIG" "$GUEST"; do
  [ -f "$f" ] || { echo "bench: $f not found (run make first)" >&2; exit 2; }
done
case $RUNS in ''|*[!0-9]*|0) echo "bench: RUNS must be a positive integer" >&2; exit 2;; esac

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUTDIR" || exit 2
JSONL=$OUTDIR/native-$STAMP.jsonl
LOG=$OUTDIR/native-$STAMP.txt
: >"$JSONL" && : >"$LOG" || exit 2

# Everything scratch (the lab's sockets and logs, the memory dump of
# verify-memory, each run's report) lives under WORK, removed on any exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/qmig-bench.XXXXXX") || exit 2
LAB=$WORK/lab
if ! { mkdir -p "$WORK/bin" && cp "$QMIG" "$WORK/bin/qmig" &&
        cp "$GUEST" "$WORK/bin/qmig-guest.elf"; }; then
  rm -rf "$WORK"
  exit 2
fi
QMIG=$WORK/bin/qmig
GUEST=$WORK/bin/qmig-guest.elf

# shellcheck disable=SC2317  # called from the trap
cleanup() {
  trap '' INT TERM HUP
  if [ -d "$LAB" ] && ! "$QMIG" lab stop --dir "$LAB" >/dev/null 2>&1; then
    # Keep the pid files: whoever reads this can stop them by pid.
    echo "bench: could not stop the lab in $LAB; its pids: $(cat "$LAB"/*.pid 2>/dev/null)" >&2
    return
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'echo "bench: terminated" >&2; exit 143' TERM
trap 'exit 129' HUP

# say: print a line and keep it in the summary file.
say() {
  printf '%s\n' "$*"
  printf '%s\n' "$*" >>"$LOG"
}

HDR=$(printf '%-7s %8s %8s %8s %6s %9s %8s %8s %7s  %s' \
  run downtime pause stall period st-pe-pa total overhead cpu_s result)

say "qmig native bench $STAMP on $(uname -n): $(nproc 2>/dev/null || echo '?') cores, $(uname -sr)"
say "guest: fill $FILL MiB, mem $MEM MiB, dirty $DIRTY MiB/s, heartbeat $HB ms, accel $ACCEL;" \
  "runs $RUNS + 1 warm-up; migrate options: ${MIGRATE_OPTS:-(defaults)}"
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
say "raw reports: $JSONL"
say ""
say "all times in ms except cpu_s; st-pe-pa = guest stall - heartbeat period - pause"
say "$HDR"

# run_one LABEL WARMUP(0|1): start a fresh lab, migrate, verify, stop.
# Appends one JSON line (the report plus a "bench" object) to $JSONL.
run_one() {
  label=$1 warm=$2
  rep=$WORK/report.json
  rm -rf "$LAB" "$rep" "$WORK/migrate.out"
  lab_rc=0 mig_rc=-1 ver_rc=-1 ver_msg=""
  "$QMIG" lab start --dir "$LAB" --accel "$ACCEL" --fill "$FILL" --mem "$MEM" \
    --dirty "$DIRTY" --heartbeat "$HB" --guest "$GUEST" >"$WORK/lab.out" 2>&1 || lab_rc=$?
  if [ "$lab_rc" -eq 0 ]; then
    # shellcheck disable=SC2086
    "$QMIG" migrate --lab "$LAB" --json "$rep" --quiet $MIGRATE_OPTS \
      >"$WORK/migrate.out" 2>&1
    mig_rc=$?
    mkdir -p "$WORK/dump"
    ver_msg=$("$QMIG" verify-memory --lab "$LAB" --tmpdir "$WORK/dump" 2>&1)
    ver_rc=$?
    ver_msg=$(printf '%s' "$ver_msg" | tr '\n' ' ')
  fi
  stop_rc=0
  "$QMIG" lab stop --dir "$LAB" >"$WORK/stop.out" 2>&1 || stop_rc=$?

  # A report that is missing or not JSON still becomes a line.
  if [ -s "$rep" ] && jq -e . "$rep" >/dev/null 2>&1; then
    base=$(jq -c . "$rep")
  else
    base='{}'
  fi
  why=""
  [ "$lab_rc" -ne 0 ] && why="lab start failed ($lab_rc): $(tr '\n' ' ' <"$WORK/lab.out")"
  rec=$(printf '%s\n' "$base" | jq -c \
    --arg runlabel "$label" --argjson warm "$warm" --arg date "$(date -Is)" \
    --argjson lab_rc "$lab_rc" --argjson mig_rc "$mig_rc" --argjson ver_rc "$ver_rc" \
    --arg ver_msg "$ver_msg" --arg why "$why" \
    --arg load "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)" \
    '. + {bench: {run: $runlabel, warmup: ($warm == 1), date: $date, load1: $load,
                  lab_rc: $lab_rc, migrate_rc: $mig_rc, verify_rc: $ver_rc,
                  verify: $ver_msg, lab_error: $why,
                  ok: ($lab_rc == 0 and $mig_rc == 0 and $ver_rc == 0)}}') ||
    rec=$(printf '{"bench":{"run":"%s","warmup":%s,"ok":false,"lab_rc":%s,"migrate_rc":%s,"verify_rc":-1,"verify":"bench: could not record this run","lab_error":""}}' \
      "$label" "$([ "$warm" -eq 1 ] && echo true || echo false)" "$lab_rc" "$mig_rc")
  printf '%s\n' "$rec" >>"$JSONL"

  line=$(tail -n 1 "$JSONL" | jq -r '
    def r(k): (. * k | round / k) | if . == 0 then 0 else . end;  # no "-0"
    def f: if . == null then "n/a" else (r(10) | tostring) end;
    def c: if . == null then "n/a" else (r(1000) | tostring) end;
    [ .bench.run,
      (.qemu_downtime_ms | f), (.stop_to_resume_pause_ms | f), (.guest_stall_ms | f),
      (.heartbeat.period_ms | f),
      (if .guest_stall_ms != null and .heartbeat.period_ms != null
          and .stop_to_resume_pause_ms != null
       then (.guest_stall_ms - .heartbeat.period_ms - .stop_to_resume_pause_ms) | f
       else "n/a" end),
      (.total_ms | f), (.engine_overhead_ms | f), (.qmig_cpu_s | c),
      (if .bench.ok then "ok"
       elif .bench.lab_rc != 0 then "FAIL lab: \(.bench.lab_error)"
       elif .bench.migrate_rc != 0 then
         "FAIL migrate rc=\(.bench.migrate_rc) \(.outcome_name // "no report"): \(.error // "")"
         + (if .bench.verify_rc == 0 then "; memory ok" else "; memory: \(.bench.verify)" end)
       else "FAIL memory (rc=\(.bench.verify_rc)): \(.bench.verify)" end)
    ] | @tsv')
  printf '%s\n' "$line" | awk -F'\t' '{
    printf "%-7s %8s %8s %8s %6s %9s %8s %8s %7s  %s\n",
      $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }' | tee -a "$LOG"
  if [ "$mig_rc" -ne 0 ] && [ "$lab_rc" -eq 0 ]; then
    sed 's/^/        | /' "$WORK/migrate.out" | tee -a "$LOG"
  fi
  # A lab that did not stop would be lost by the next run: stop the bench
  # (cleanup keeps the lab directory and its pid files).
  if [ "$stop_rc" -ne 0 ]; then
    say "bench: lab stop failed, giving up: $(tr '\n' ' ' <"$WORK/stop.out")"
    exit 2
  fi
}

run_one warm-up 1
i=1
while [ "$i" -le "$RUNS" ]; do
  run_one "$i" 0
  i=$((i + 1))
done

say ""
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

# Statistics over the measured runs (warm-up excluded).  A figure missing
# from a run (failed migration) is left out of that figure's statistics;
# n says how many runs each one is taken over.
jq -r 'select(.bench.warmup | not) | [
    (.bench.ok | if . then 1 else 0 end),
    (.bench.migrate_rc == 0 | if . then 1 else 0 end),
    (.bench.verify_rc == 0 | if . then 1 else 0 end),
    .qemu_downtime_ms, .stop_to_resume_pause_ms, .guest_stall_ms, .heartbeat.period_ms,
    (if .guest_stall_ms != null and .heartbeat.period_ms != null
        and .stop_to_resume_pause_ms != null
     then .guest_stall_ms - .heartbeat.period_ms - .stop_to_resume_pause_ms else null end),
    (if .guest_stall_ms != null and .heartbeat.period_ms != null
        and .stop_to_resume_pause_ms != null
     then (.guest_stall_ms - .heartbeat.period_ms - .stop_to_resume_pause_ms) | fabs
     else null end),
    .total_ms, .engine_overhead_ms, .wall_ms, .qmig_cpu_s, .setup_ms,
    (if .transferred_bytes != null then .transferred_bytes / 1048576 else null end),
    (if .stop_to_resume_pause_ms != null and .qemu_downtime_ms != null
     then .stop_to_resume_pause_ms - .qemu_downtime_ms else null end)
  ] | map(if . == null then "NA" else tostring end) | @tsv' "$JSONL" >"$WORK/stats.tsv"

WARM_OK=$(jq -r 'select(.bench.warmup) | if .bench.ok then 1 else 0 end' "$JSONL")
awk -F'\t' -v runs="$RUNS" -v logf="$LOG" -v warm_ok="${WARM_OK:-0}" '
function out(s) { print s; print s >> logf }
function isort(a, n,    i, j, t) {
  for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
}
function stat(col, name, unit,    i, n, v) {
  n = 0
  for (i = 1; i <= rows; i++) if (val[i, col] != "NA") v[++n] = val[i, col] + 0
  if (n == 0) { out(sprintf("  %-28s n=0", name)); med[col] = "NA"; return }
  isort(v, n)
  med[col] = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  out(sprintf("  %-28s n=%-3d median %9.2f %s   min %9.2f   max %9.2f", name, n, med[col], unit, v[1], v[n]))
}
{ rows++; for (c = 1; c <= NF; c++) val[rows, c] = $c
  ok += $1; mig += $2; ver += $3 }
END {
  out(sprintf("summary over %d measured runs (warm-up discarded)", rows))
  out(sprintf("  migrated %d/%d, memory verified %d/%d, failed runs %d%s", mig, rows, ver, rows,
      rows - ok, warm_ok == 1 ? "" : " (and the warm-up run FAILED)"))
  stat(4, "QEMU downtime", "ms")
  stat(5, "STOP->RESUME pause", "ms")
  stat(6, "guest stall", "ms")
  stat(7, "heartbeat period", "ms")
  stat(8, "stall - period - pause", "ms")
  stat(9, "|stall - period - pause|", "ms")
  stat(10, "QEMU total", "ms")
  stat(11, "engine overhead", "ms")
  stat(16, "pause - QEMU downtime", "ms")
  stat(12, "qmig wall", "ms")
  stat(13, "qmig CPU", "s ")
  stat(14, "QEMU setup", "ms")
  stat(15, "transferred", "MiB")
  t1 = med[9] != "NA" && med[9] <= 3
  t2 = med[11] != "NA" && med[11] < 100
  out("targets")
  out(sprintf("  (1) median |(stall - period) - pause| <= 3 ms : %s ms  %s",
      med[9] == "NA" ? "n/a" : sprintf("%.2f", med[9]), t1 ? "PASS" : "MISS"))
  out(sprintf("  (2) median engine overhead < 100 ms          : %s ms  %s",
      med[11] == "NA" ? "n/a" : sprintf("%.2f", med[11]), t2 ? "PASS" : "MISS"))
  if (rows < runs) out(sprintf("  WARNING: only %d of %d runs recorded", rows, runs))
  if (ok < rows || rows < runs || warm_ok != 1) exit 2
  exit (t1 && t2) ? 0 : 1
}' "$WORK/stats.tsv"
rc=$?
say "raw reports: $JSONL  summary: $LOG"
exit "$rc"
