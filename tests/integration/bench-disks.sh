# SPDX-License-Identifier: LGPL-2.1-or-later
# The disks preset, shrunk: a shared disk, one copied over NBD, one copied
# with write-blocking.  Every run migrates, the guest's memory is verified,
# and its disk is verified where the guest now runs (the destination's own
# image when it was copied).
. "$(dirname "$0")/lib.sh"
need qemu-img
mkdir "$D/work"
"$QMIG" bench --preset disks --set fill=32 --set mem=64 --set disk=4 --runs 1 --warmup 0 \
  --out "$D/out" --workdir "$D/work" --resamples 50 > "$D/bench.out" 2>&1 ||
  fail "bench: $(cat "$D/bench.out")"
J="$D/out/runs.jsonl"
[ "$(wc -l < "$J")" = 3 ] || fail "$(wc -l < "$J") runs, want 3"
[ "$(jq -s '[.[] | select(.bench.ok and .bench.memory.rc == 0 and .bench.disk.rc == 0 and .bench.disk.units_checked > 0)] | length' "$J")" = 3 ] ||
  fail "not every run verified: $(jq -c .bench "$J")"
for s in copied copied-write-blocking; do
  # (jq -s: jq 1.6's -e looks only at the last input line)
  jq -se --arg s "$s" 'map(select(.bench.scenario == $s)) | length == 1 and (.[0].bench.disk.image | endswith("disk-dst.raw"))' "$J" > /dev/null ||
    fail "$s: the destination's own disk was not the one checked"
  jq -se --arg s "$s" 'map(select(.bench.scenario == $s)) | .[0].report.config.copy_all_disks == true' "$J" > /dev/null ||
    fail "$s: copy-all-disks not applied"
done
jq -se 'map(select(.bench.scenario == "shared")) | .[0].bench.disk.image | endswith("/disk.raw")' "$J" > /dev/null ||
  fail "shared: not the shared image checked"
echo "disks: shared and copied (both modes) migrated, memory and disk verified"
