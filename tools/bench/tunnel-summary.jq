# SPDX-License-Identifier: LGPL-2.1-or-later
# tools/bench/tunnel-summary.jq - the summary of tools/bench/tunnel.sh, from its JSON
# lines alone (jq -rs --argjson runs N -f tools/bench/tunnel-summary.jq FILE), so
# anyone can recompute it.  Prints text; the last line is "exit N".
# A failed run is counted and left out of the medians; ratios are taken
# within a round (same channel count), then their median.

def median: sort | if length == 0 then null
  elif length % 2 == 1 then .[(length - 1) / 2]
  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def mn: if length == 0 then null else min end;
def mx: if length == 0 then null else max end;
def f(d): if . == null then "n/a" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
def cpg: if (.transferred_bytes // 0) > 0 and .qmig_cpu_s != null
  then (.qmig_cpu_s + .bench.helper_cpu_s) / (.transferred_bytes / 1e9) else null end;
# CPU-s/GB of one part: the engine while the stream moved (qmig_cpu_stream_s,
# the part that grows with the guest), the agent's start (before any
# migration: a daemon pays it once), the agent per migration.
def part(fig): if (.transferred_bytes // 0) > 0 and (fig) != null
  then (fig) / (.transferred_bytes / 1e9) else null end;
def pad(n): tostring | if length >= n then . else . + (" " * (n - length)) end;
def lpad(n): tostring | if length >= n then . else (" " * (n - length)) + . end;

. as $all
| ["native", "tls", "stunnel", "tunnel", "tunnel-handoff", "tunnel-tls"] as $order
| ($all | map(.bench.variant) | unique) as $present
| ($order | map(select(. as $v | $present | index($v)))) as $vars
| ($all | map(.bench.channels) | unique) as $chs
| ($all | map(select(.bench.skipped | not))) as $ran
| ($ran | map(select(.bench.ok | not)) | length) as $failed
| ($all | map(.bench.round) | unique | length) as $rounds
# one run: [ch][var][round] -> record (ok runs only)
| (reduce ($ran[] | select(.bench.ok)) as $r ({};
    .[$r.bench.channels | tostring][$r.bench.variant][$r.bench.round | tostring] = $r)) as $ok
# pairwise: A's figure over (or minus) B's, per round where both ran
| def pairs($ch; $a; $b; fig; op):
    [ ($ok[$ch | tostring][$a] // {}) | to_entries[]
      | .key as $k | (.value | fig) as $x
      | (($ok[$ch | tostring][$b] // {})[$k] | if . == null then null else fig end) as $y
      | select($x != null and $y != null and (op != "ratio" or $y != 0))
      | if op == "ratio" then $x / $y else $x - $y end ];
  def stat($ch; $v; fig): [ ($ok[$ch | tostring][$v] // {})[] | fig | select(. != null) ];
  # [status, text] of a target
  # pass: a filter applied to the value
  def target($ch; $name; $value; pass; $unit):
    if $value == null then ["n/a", "\($name) at \($ch) ch: n/a (variant skipped or every run failed)"]
    else ($value | pass) as $ok
    | [(if $ok then "PASS" else "MISS" end),
       "\($name) at \($ch) ch: \($value | f(3))\($unit)  \(if $ok then "PASS" else "MISS" end)"]
    end;
  # issue 11's targets: value <= limit, a miss says by how much
  def upto($ch; $name; $value; $limit; $unit):
    if $value == null then ["n/a", "\($name) at \($ch) ch: n/a (variant skipped or every run failed)"]
    elif $value <= $limit then ["PASS", "\($name) at \($ch) ch: \($value | f(3))\($unit)  PASS"]
    else ["MISS", "\($name) at \($ch) ch: \($value | f(3))\($unit)  MISS by \($value - $limit | f(3))\($unit)"]
    end;

  [ "summary: \($rounds) of \($runs) rounds, \($ran | length) runs, \($failed) failed, "
    + "\($all | map(select(.bench.skipped)) | length) skipped",
    "" ]
  + [ $chs[] as $ch
      | "channels \($ch) (\(if $ch == 1 then "one stream, multifd off" else "multifd" end)):",
        "  \("variant" | pad(15)) \("n" | lpad(3)) \("fail" | lpad(4)) \("total" | lpad(9)) \("min" | lpad(9)) \("max" | lpad(9)) \("x native" | lpad(9)) \("pause" | lpad(8)) \("+pause" | lpad(7)) \("cpu/GB" | lpad(7))",
        ( $vars[] as $v
          | ($all | map(select(.bench.channels == $ch and .bench.variant == $v))) as $rs
          | if ($rs | all(.bench.skipped)) then
              "  \($v | pad(15)) skipped: \($rs[0].bench.note)"
            else
              "  \($v | pad(15)) \(stat($ch; $v; .total_ms) | length | lpad(3)) "
              + "\($rs | map(select((.bench.skipped | not) and (.bench.ok | not))) | length | lpad(4)) "
              + "\(stat($ch; $v; .total_ms) | median | f(1) | lpad(9)) "
              + "\(stat($ch; $v; .total_ms) | mn | f(1) | lpad(9)) "
              + "\(stat($ch; $v; .total_ms) | mx | f(1) | lpad(9)) "
              + "\(pairs($ch; $v; "native"; .total_ms; "ratio") | median | f(3) | lpad(9)) "
              + "\(stat($ch; $v; .stop_to_resume_pause_ms) | median | f(1) | lpad(8)) "
              + "\(pairs($ch; $v; "native"; .stop_to_resume_pause_ms; "diff") | median | f(1) | lpad(7)) "
              + "\(stat($ch; $v; cpg) | median | f(3) | lpad(7))"
            end ) ]
  + [ "",
      "  total = QEMU total-time, median over ok runs (ms); x native = median of the per-round",
      "  ratios to native plain; pause = STOP->RESUME (ms); +pause = median per-round pause minus",
      "  native's; cpu/GB = CPU s of qmig's processes (and stunnel's) per GB transferred",
      "" ]
  | . as $lines
  | [ $chs[] as $ch
      | target($ch; "(1) tunnel plain total <= 1.05x native plain";
               pairs($ch; "tunnel"; "native"; .total_ms; "ratio") | median;
               . <= 1.05; "x"),
        target($ch; "(2) tunnel TLS total <= 1.15x native plain";
               pairs($ch; "tunnel-tls"; "native"; .total_ms; "ratio") | median;
               . <= 1.15; "x"),
        target($ch; "(3) QEMU-native TLS / tunnel TLS >= 2";
               pairs($ch; "tls"; "tunnel-tls"; .total_ms; "ratio") | median;
               . >= 2; "x"),
        target($ch; "(4) stunnel / tunnel TLS > 1";
               pairs($ch; "stunnel"; "tunnel-tls"; .total_ms; "ratio") | median;
               . > 1; "x"),
        target($ch; "(5) tunnel plain adds <= 3 ms to the pause";
               pairs($ch; "tunnel"; "native"; .stop_to_resume_pause_ms; "diff") | median;
               . <= 3; " ms"),
        target($ch; "(5) tunnel TLS adds <= 3 ms to the pause";
               pairs($ch; "tunnel-tls"; "native"; .stop_to_resume_pause_ms; "diff") | median;
               . <= 3; " ms"),
        target($ch; "(6) tunnel plain <= 0.1 CPU-s/GB";
               stat($ch; "tunnel"; cpg) | median; . <= 0.1; " CPU-s/GB"),
        target($ch; "(6) tunnel TLS <= 0.35 CPU-s/GB";
               stat($ch; "tunnel-tls"; cpg) | median; . <= 0.35; " CPU-s/GB") ] as $t
  | ([ $chs[] | select(. == 1) as $ch
      | upto($ch; "P1 tunnel handoff time / native plain <= 1.02";
             pairs($ch; "tunnel-handoff"; "native"; .total_ms; "ratio") | median; 1.02; "x"),
        upto($ch; "P1 tunnel handoff <= 0.05 CPU-s/GB (engine + agent; native's engine alone: \(stat($ch; "native"; cpg) | median | f(3)))";
             stat($ch; "tunnel-handoff"; cpg) | median; 0.05; " CPU-s/GB"),
        ["info", "  of which (medians, CPU-s/GB): engine while the stream moved "
          + "\(stat($ch; "tunnel-handoff"; part(.qmig_cpu_stream_s)) | median | f(4)), "
          + "engine in all \(stat($ch; "tunnel-handoff"; part(.qmig_cpu_s)) | median | f(3)), "
          + "agent's start \(stat($ch; "tunnel-handoff"; part(.bench.helper_start_cpu_s // null)) | median | f(3)), "
          + "agent per migration \(stat($ch; "tunnel-handoff"; part(if .bench.helper_start_cpu_s == null then null else .bench.helper_cpu_s - .bench.helper_start_cpu_s end)) | median | f(3))"],
        upto($ch; "P3 tunnel handoff adds <= 3 ms to the median pause";
             pairs($ch; "tunnel-handoff"; "native"; .stop_to_resume_pause_ms; "diff") | median;
             3; " ms") ]
     | if ($vars | index("tunnel-handoff")) then . else [] end) as $t11
  | $lines + ["targets (issue 3)"] + ($t | map("  " + .[1]))
  + (if ($t11 | length) > 0 then ["targets (issue 11, socket handoff)"] + ($t11 | map("  " + .[1]))
     else [] end)
  + [ "exit \(if $failed > 0 or $rounds < $runs then 2
              elif ($t + $t11 | all(.[0] == "PASS" or .[0] == "info")) then 0 else 1 end)" ]
  | .[]
