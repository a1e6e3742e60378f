# SPDX-License-Identifier: LGPL-2.1-or-later
# A link-rate sweep: each run's pair in two network namespaces joined by a
# veth shaped to the scenario's rate.  Every run migrates across the link
# (to 198.18.0.2) with its memory verified; the throughput stays under the
# rate, and the faster link is the faster migration.  Namespaces are gone
# afterwards.
. "$(dirname "$0")/lib.sh"
need_netns
mkdir "$D/work"
"$QMIG" bench --sweep link-rate=100mbit,400mbit --set fill=32 --runs 1 --warmup 0 \
  --out "$D/out" --workdir "$D/work" --resamples 50 > "$D/bench.out" 2>&1 ||
  fail "bench: $(cat "$D/bench.out")"
J="$D/out/runs.jsonl"
[ "$(jq -s '[.[] | select(.bench.ok and .bench.memory.rc == 0 and .bench.memory.side == "dst" and (.report.data_uri | startswith("tcp:198.18.0.2:")))] | length' "$J")" = 2 ] ||
  fail "not every run crossed the link and verified: $(jq -c '[.bench.scenario, .bench.ok, .bench.error, .report.data_uri]' "$J")"
mbit() { jq -sr --arg s "$1" 'map(select(.bench.scenario == $s))[0].report.throughput_bytes_per_s * 8 / 1e6' "$J"; }
slow=$(mbit link-rate=100mbit) fast=$(mbit link-rate=400mbit)
awk -v s="$slow" -v f="$fast" 'BEGIN { exit !(s <= 120 && f <= 480) }' ||
  fail "throughput above the link rate: $slow Mbit/s at 100mbit, $fast at 400mbit"
awk -v s="$slow" -v f="$fast" 'BEGIN { exit !(f >= 1.5 * s) }' ||
  fail "the 4x faster link was not faster: $slow vs $fast Mbit/s"
for ns in $(ip netns list | awk '{print $1}'); do
  case $ns in *qmig-bench*) fail "namespace $ns left";; esac
done
[ -z "$(ls -A "$D/work")" ] || fail "left in $D/work: $(ls -R "$D/work")"
echo "link-rate: $slow Mbit/s over 100mbit, $fast Mbit/s over 400mbit, both verified"
