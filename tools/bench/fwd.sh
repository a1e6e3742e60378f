#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tools/bench/fwd.sh - make bench-fwd: the tunnel forwarder alone on loopback
# (tools/bench/tunnel_fwd.c: raw TCP, copy, splice, TLS), CPU-s per GB of the
# two forwarders, ROUNDS interleaved rounds, medians and ratios printed in one
# run.  With BASE=<git ref> the same bench built from that ref runs in the
# same rounds, interleaved (its modes printed as old-MODE), so a change to the
# forwarder is measured before/after side by side.
#
#   make bench-fwd [GIB=1] [ROUNDS=5] [BASE=<ref>]
#   tools/bench/fwd.sh BENCH GIB ROUNDS [BASE_BENCH]
set -eu
bench=$1 gib=$2 rounds=$3 base=${4:-}
k=$(mktemp)
raw=$(mktemp)
trap 'rm -f "$k" "$raw"' EXIT
echo "qemu:$(openssl rand -hex 32)" >"$k"
chmod 600 "$k"
echo "bench-fwd: $gib GiB per mode, $rounds rounds; $(nproc) CPUs; loadavg before: $(cat /proc/loadavg)"
for ((i = 1; i <= rounds; i++)); do
  if [ -n "$base" ]; then
    "$base" "$gib" 1 "$k" | sed 's/^/old-/' | tee -a "$raw"
  fi
  "$bench" "$gib" 1 "$k" | tee -a "$raw"
done
echo "loadavg after: $(cat /proc/loadavg)"
# Lines: MODE GB "GB" S "s" MB/s "MB/s" "forwarders" CPU "CPU-s" "=" PERGB "CPU-s/GB"
awk '
  function median(arr, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
  }
  / CPU-s\/GB/ { m = $1; n[m]++; c[m, n[m]] = $12; s[m, n[m]] = $6; if (!(m in seen)) { seen[m] = 1; order[++k] = m } }
  END {
    printf "\n%-12s %5s %12s %12s %10s\n", "mode", "runs", "CPU-s/GB", "(min-max)", "MB/s"
    for (i = 1; i <= k; i++) {
      m = order[i]; lo = 1e9; hi = 0
      for (j = 1; j <= n[m]; j++) { a[j] = c[m, j]; b[j] = s[m, j]; lo = a[j] < lo ? a[j] : lo; hi = a[j] > hi ? a[j] : hi }
      med[m] = median(a, n[m]); mbs = median(b, n[m])
      printf "%-12s %5d %12.3f %5.3f-%-6.3f %10.0f\n", m, n[m], med[m], lo, hi, mbs
    }
    if (("old-tls" in med) && ("tls" in med)) {
      # pairwise: round r of tls against round r of old-tls
      for (j = 1; j <= n["tls"] && j <= n["old-tls"]; j++) r[j] = c["tls", j] / c["old-tls", j]
      printf "\ntls / old-tls CPU-s/GB: %.2f (median of %d pairwise ratios)\n", median(r, j - 1), j - 1
    }
    if (("copy" in med) && med["copy"] > 0)
      printf "tls / copy CPU-s/GB: %.2f; splice / copy: %.2f\n", med["tls"] / med["copy"], med["splice"] / med["copy"]
  }' "$raw"
