# SPDX-License-Identifier: LGPL-2.1-or-later
# A tiny bench of the linux-probe preset: the Linux lab guest (scenario
# knob guest linux) on the switched L2 of a two-namespace lab, probed with
# UDP and with ICMP echo from the client namespace (knob probe), one run
# each, small sizes.  Every run migrated with the guest's own memory check
# on the destination; each report carries the network section of its
# probe with one switchover gap; the bench's figures net_max_gap_ms and
# net_gap_minus_stall_ms are recomputed here from runs.jsonl; runs.jsonl
# and the summary validate against their schemas; the HTML timeline draws
# every network gap of every run (in the file and, with chromium, in the
# rendered DOM).  A probe without the Linux guest's switch is refused.
. "$(dirname "$0")/lib.sh"
need_netns
need_linux_guest
mkdir "$D/work" "$D/home"
! "$QMIG" bench --sweep probe=udp --set fill=32 --runs 1 --check > "$D/refuse.out" 2>&1 ||
  fail "a probe without guest linux and netns was accepted"
grep -q "knob 'probe' = 'udp': needs guest linux and netns on" "$D/refuse.out" ||
  fail "refusal does not say why: $(cat "$D/refuse.out")"
"$QMIG" bench --preset linux-probe --set fill=32 --set mem=128 --runs 1 --warmup 0 \
  --out "$D/out" --workdir "$D/work" --resamples 200 --json "$D/summary.json" > "$D/bench.out" 2>&1 ||
  fail "bench: $(tail -20 "$D/bench.out")"
cat "$D/bench.out"
J="$D/out/runs.jsonl"
count() { jq -s "[.[] | select($1)] | length" "$J"; }
[ "$(wc -l < "$J")" = 2 ] || fail "$(wc -l < "$J") runs, want 2"
[ "$(count '.bench.ok and .scenario.guest == "linux" and .bench.memory.side == "dst" and .bench.memory.rc == 0 and .bench.memory.pages_checked == 8192 and .report.outcome_name == "migrated"')" = 2 ] ||
  fail "not every run migrated with the Linux guest's own check right: $(jq -c .bench.memory "$J")"
[ "$(count '.scenario.probe == "udp" and .report.network.target == "udp:198.18.1.2:7" and .report.network.method == "udp"')" = 1 ] ||
  fail "the UDP run has no UDP network section"
[ "$(count '.scenario.probe == "icmp" and .report.network.target == "icmp:198.18.1.2" and (.report.network.method | startswith("icmp"))')" = 1 ] ||
  fail "the ICMP run has no ICMP network section"
[ "$(count '(.report.network.netns | endswith("-cli")) and .report.network.received > 100')" = 2 ] ||
  fail "probes not from the client namespace, or hardly answered"
# At least one gap holds the switchover.  A reply that was in flight when
# the source stopped (stamped a few ms into the pause on a loaded host) can
# split it in two; the figure takes the longest, as recomputed below.
[ "$(count '[.report.network.gaps[] | select(.phase == "switchover")] | length >= 1')" = 2 ] ||
  fail "a run without a switchover gap: $(jq -c '[.report.network.gaps[] | [.phase, .start_ms, .duration_ms]]' "$J")"
# The figures, from the reports by hand: the largest gap, and the
# switchover gap minus the heartbeat stall.
for s in probe=udp probe=icmp; do
  want=$(jq -r "select(.bench.scenario == \"$s\") | .report | .network.max_gap_ms" "$J")
  got=$(jq -r ".scenarios[] | select(.name == \"$s\") | .figures.net_max_gap_ms.median" "$D/summary.json")
  [ "$got" = "$want" ] || fail "$s: net_max_gap_ms $got, the report says $want"
  want=$(jq -r "select(.bench.scenario == \"$s\") | .report |
    ([.network.gaps[] | select(.phase == \"switchover\") | .duration_ms] | max) - .guest_stall_ms" "$J")
  got=$(jq -r ".scenarios[] | select(.name == \"$s\") | .figures.net_gap_minus_stall_ms.median" "$D/summary.json")
  awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }' ||
    fail "$s: net_gap_minus_stall_ms $got, the report gives $want"
  echo "$s: net gap minus heartbeat stall at the switchover $got ms"
done
grep -q "largest network gap" "$D/out/summary.txt" || fail "summary.txt lacks the network figure"
if python3 -c 'import jsonschema' 2>/dev/null; then
  V="$(dirname "$0")/../helpers/validate-json.py" S="$(dirname "$0")/../../docs/schema"
  python3 "$V" --lines "$S/bench-run.schema.json" "$J" || fail "runs.jsonl does not validate"
  python3 "$V" "$S/bench-summary.schema.json" "$D/summary.json" || fail "the summary does not validate"
else
  echo "bench-linux-probe: python3-jsonschema not installed, schemas not checked"
fi
# Every network gap drawn in the timelines, apart from the heartbeat's.
want=$(jq -s '[.[].report.network.gaps | length] | add' "$J")
[ "$(grep -o "class='net-gap'" "$D/out/report.html" | wc -l)" = "$want" ] ||
  fail "$(grep -o "class='net-gap'" "$D/out/report.html" | wc -l) network gap marks, reports list $want"
grep -q "largest network gap per scenario" "$D/out/report.html" || fail "no network gap distribution"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROMIUM" ]; then
  HOME="$D/home" timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
    --user-data-dir="$D/home/profile" --no-first-run --dump-dom "file://$D/out/report.html" \
    > "$D/dom.html" 2> "$D/chromium.err" || fail "chromium: $(tail -3 "$D/chromium.err")"
  n() { grep -o "$1" "$D/dom.html" | wc -l; }
  [ "$(n 'class="net-gap"')" = "$want" ] || fail "$(n 'class="net-gap"') network gap marks rendered, reports list $want"
  [ "$(n 'class="stall"')" = "$(jq -s '[.[].report.stalls | length] | add' "$J")" ] || fail "stall marks rendered"
  [ "$(n '>network gap</text>')" = 2 ] || fail "network gap legend: $(n '>network gap</text>')"
  echo "rendered: $want network gaps drawn"
fi
[ -z "$(ls -A "$D/work")" ] || fail "labs left in $D/work: $(ls "$D/work")"
for p in /proc/[0-9]*; do
  grep -qF "$D/work" "$p/cmdline" 2>/dev/null && fail "process ${p#/proc/} still runs for the bench"
done
echo "bench linux-probe: 2 runs, both probed, migrated and verified by the guest"
