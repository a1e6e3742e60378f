#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make bench-update: live update vs a normal local migration (qmig bench
# --preset update: interleaved, 256 MiB and 2 GiB), then the issue's
# targets from runs.jsonl: QEMU downtime of the update <= 10 ms, and the
# ratio of the guest's stall at 2 GiB over 256 MiB <= 1.2 (the cost must
# not grow with RAM).  Medians over the runs that passed.
# Environment: QMIG, QEMU (default build/qemu10's if there: cpr-transfer),
# RUNS, OUT, EXTRA (more qmig bench options, e.g. "--set fill=32 --set mem=64"
# to prove it runs; the sizes then no longer differ).
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
QMIG=${QMIG:-$TOP/build/qmig}
Q10=$TOP/build/qemu10/usr/bin/qemu-system-x86_64
QEMU=${QEMU:-$( [ -x "$Q10" ] && echo "$Q10" || command -v qemu-system-x86_64 )}
RUNS=${RUNS:-10}
OUT=${OUT:-$TOP/build/bench/update}
uptime
# shellcheck disable=SC2086
"$QMIG" bench --preset update --runs "$RUNS" --qemu "$QEMU" --out "$OUT" ${EXTRA:-}
med() { # scenario field: median over passed, non-warmup runs
  jq -s --arg s "$1" --arg f "$2" '[.[] | select(.bench.scenario == $s and .bench.ok and
    (.bench.warmup | not)) | .report[$f] | select(. != null)] | sort |
    if length == 0 then null else .[(length - 1) / 2 | floor] end' "$OUT/runs.jsonl"
}
mech=$(jq -rs '[.[] | select(.bench.scenario == "update-2G") | .report.update.mechanism] | unique | join(",")' \
  "$OUT/runs.jsonl")
s256=$(med update-256M guest_stall_ms); s2g=$(med update-2G guest_stall_ms)
d256=$(med update-256M qemu_downtime_ms); d2g=$(med update-2G qemu_downtime_ms)
m256=$(med migrate-256M guest_stall_ms); m2g=$(med migrate-2G guest_stall_ms)
echo
echo "live update ($mech) with $QEMU, medians of $RUNS runs:"
printf '  guest stall   256 MiB %s ms, 2 GiB %s ms (normal migration: %s ms, %s ms)\n' "$s256" "$s2g" "$m256" "$m2g"
printf '  QEMU downtime 256 MiB %s ms, 2 GiB %s ms\n' "$d256" "$d2g"
awk -v a="$s256" -v b="$s2g" -v d1="$d256" -v d2="$d2g" 'BEGIN {
  if (a == "null" || b == "null" || a <= 0) { print "  ratio: n/a (runs failed)"; exit 1 }
  r = b / a; ok = r <= 1.2; dok = d1 != "null" && d2 != "null" && d1 <= 10 && d2 <= 10
  printf "  stall(2 GiB) / stall(256 MiB) = %.3f  target <= 1.2: %s\n", r, ok ? "met" : "MISSED"
  printf "  QEMU downtime target <= 10 ms: %s\n", dok ? "met" : "MISSED"
  exit !(ok && dok) }'
