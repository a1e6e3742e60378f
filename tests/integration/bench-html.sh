# SPDX-License-Identifier: LGPL-2.1-or-later
# The bench's HTML report renders in a real headless browser (Debian's
# chromium): the rendered DOM holds the charts (downtime distributions,
# total time vs the swept knob, throughput over time) with their marks,
# the tables, a timeline per run with its switchover, stalls and network
# probe gaps drawn where they happened, and the screenshot is not blank.
. "$(dirname "$0")/lib.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "skip: chromium not installed (make deps installs it)"; exit 77; }
mkdir "$D/work" "$D/home"
"$QMIG" bench --sweep dirty=0,20 --set fill=32 --set mem=64 --runs 2 --warmup 0 \
  --out "$D/out" --workdir "$D/work" --resamples 200 > "$D/bench.out" 2>&1 ||
  fail "bench: $(cat "$D/bench.out")"
# chromium wants a writable HOME and no session bus; bounded in time.
run_chromium() {
  HOME="$D/home" timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
    --user-data-dir="$D/home/profile" --no-first-run "$@" "file://$D/out/report.html" \
    2> "$D/chromium.err"
}
run_chromium --dump-dom > "$D/dom.html" || fail "chromium --dump-dom: $(tail -3 "$D/chromium.err")"
[ -s "$D/dom.html" ] || fail "empty DOM: $(tail -3 "$D/chromium.err")"
n() { grep -o "$1" "$D/dom.html" | wc -l; }
[ "$(n 'class="chart box-chart"')" = 4 ] || fail "box charts in the DOM: $(n 'class="chart box-chart"')"
grep -q 'largest stall per scenario' "$D/dom.html" || fail "no largest-stall distribution"
# One timeline per run (4), each with the switchover, at least one stall
# (the switchover's own gap exceeds two 2 ms periods), its three lines.
[ "$(n 'class="chart timeline-chart"')" = 4 ] || fail "timelines: $(n 'class="chart timeline-chart"')"
[ "$(n 'class="switchover"')" = 4 ] || fail "switchover marks: $(n 'class="switchover"')"
[ "$(n 'class="stall"')" -ge 4 ] || fail "stall marks: $(n 'class="stall"')"
for l in bandwidth dirty-rate remaining; do
  [ "$(n "<polyline class=\"$l\"")" = 4 ] || fail "$l lines: $(n "<polyline class=\"$l\"")"
done
# Each run's stalls are all drawn: as many marks as the reports list.
want=$(jq -s '[.[].report.stalls | length] | add' "$D/out/runs.jsonl")
[ "$(n 'class="stall"')" = "$want" ] || fail "$(n 'class="stall"') stall marks, reports list $want"
# And every gap of the network probe, apart from the stalls: as many marks
# as the reports' network sections list (none here: these runs have no
# probe, so neither marks nor a legend entry; bench-linux-probe.sh renders
# probed runs), plus the network figures' charts only with a probe.
nets=$(jq -s '[.[].report.network.gaps // [] | length] | add' "$D/out/runs.jsonl")
[ "$(n 'class="net-gap"')" = "$nets" ] || fail "$(n 'class="net-gap"') network gap marks, reports list $nets"
[ "$(n '>network gap</text>')" = "$(jq -s '[.[] | select(.report.network)] | length' "$D/out/runs.jsonl")" ] ||
  fail "network gap legends: $(n '>network gap</text>')"
[ "$(n 'class="chart sweep-chart"')" = 2 ] || fail "sweep charts: $(n 'class="chart sweep-chart"')"
[ "$(n 'class="chart throughput-chart"')" = 1 ] || fail "no throughput chart"
[ "$(n '<circle')" -ge 8 ] || fail "charts have no marks ($(n '<circle') circles)"
[ "$(n '<polyline')" -ge 2 ] || fail "no lines in the charts"
grep -q 'dirty=20' "$D/dom.html" || fail "scenario names not rendered"
grep -q '<table class="summary">' "$D/dom.html" || fail "no summary table"
run_chromium --screenshot="$D/shot.png" --window-size=1000,1800 > /dev/null ||
  fail "chromium --screenshot: $(tail -3 "$D/chromium.err")"
[ -s "$D/shot.png" ] || fail "no screenshot"
# A blank page compresses to a few KB; charts and tables do not.
size=$(stat -c %s "$D/shot.png")
[ "$size" -gt 30000 ] || fail "screenshot only $size bytes: blank?"
# The charts' colours are on screen (the first scenario's blue, #1f77b4):
# decode the PNG and count those pixels.
if command -v python3 > /dev/null; then
  blue=$(python3 - "$D/shot.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, out, i = bytearray(stride), 0, 0
for _ in range(h):
    f, row = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = row[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: row[x] = (row[x] + a) & 255
        elif f == 2: row[x] = (row[x] + b) & 255
        elif f == 3: row[x] = (row[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    out += sum(1 for x in range(0, stride, bpp)
               if abs(row[x] - 0x1f) < 24 and abs(row[x + 1] - 0x77) < 24 and abs(row[x + 2] - 0xb4) < 24)
    prev = row
print(out)
PY
) || fail "could not decode the screenshot"
  [ "$blue" -gt 200 ] || fail "only $blue chart-coloured pixels on screen"
  echo "chart-coloured pixels on screen: $blue"
fi
echo "report renders: 11 charts in the DOM ($want stalls drawn), screenshot $size bytes"
