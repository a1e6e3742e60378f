# SPDX-License-Identifier: LGPL-2.1-or-later
# Every transport side by side (the transports preset, shrunk): native,
# qmig's tunnel with authenticated plaintext and TLS data (its agent on a
# thread of the bench, the run's PSK its credential), QEMU's
# TLS (PSK) and stunnel (TLS 1.3 PSK between two stunnels; the source sends
# to the stunnel client, the destination listens behind the stunnel
# server).  Every run migrates with its memory verified; nothing is left
# running.
. "$(dirname "$0")/lib.sh"
need stunnel
[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ] ||
  { echo "skip: io_uring is disabled (kernel.io_uring_disabled): no tunnel"; exit 77; }
mkdir "$D/work"
"$QMIG" bench --preset transports --set fill=64 --set mem=96 --set dirty=10 --runs 1 \
  --warmup 0 --out "$D/out" --workdir "$D/work" --resamples 50 > "$D/bench.out" 2>&1 ||
  fail "bench: $(cat "$D/bench.out")"
J="$D/out/runs.jsonl"
[ "$(jq -s '[.[] | select(.bench.ok and .bench.memory.rc == 0 and .bench.memory.side == "dst" and .report.outcome_name == "migrated")] | length' "$J")" = 5 ] ||
  fail "not every transport migrated and verified: $(jq -c .bench "$J")"
jq -se 'map(select(.bench.scenario == "qemu-tls"))[0].report.config.tls == "psk"' "$J" > /dev/null ||
  fail "qemu-tls did not use QEMU's TLS"
# The tunnel: through the agent, authenticated with the run's PSK (control
# and QMP over TLS 1.3); data in authenticated plaintext or TLS.
r() { jq -sr --arg s "$1" "map(select(.bench.scenario == \$s))[0] | $2" "$J"; }
r tunnel .report.tunnel.tls | grep -q '^TLSv1.3 .*(psk); data plain (authenticated)$' ||
  fail "tunnel: tls $(r tunnel .report.tunnel.tls)"
r tunnel-tls .report.tunnel.tls | grep -q '^TLSv1.3 .*(psk); data TLS$' ||
  fail "tunnel-tls: tls $(r tunnel-tls .report.tunnel.tls)"
r tunnel-tls '.bench.agent_log | join("\n")' | grep -q "session .* opened" ||
  fail "tunnel-tls: no session in the agent's log"
awk -v c="$(r stunnel .bench.cpu_s.stunnel)" 'BEGIN { exit !(c > 0) }' ||
  fail "stunnel: its CPU time not counted"
# stunnel: QEMU listened on one port, the source sent to another; only the
# two stunnels join them.
read -r uri to < <(jq -sr 'map(select(.bench.scenario == "stunnel"))[0] | [.report.data_uri, .report.config.data_connect] | @tsv' "$J")
case $uri in tcp:127.0.0.1:*) ;; *) fail "stunnel: data_uri '$uri'";; esac
case $to in tcp:127.0.0.1:*) ;; *) fail "stunnel: data-connect '$to'";; esac
[ "$uri" != "$to" ] || fail "stunnel: the source sent straight to QEMU ($uri)"
[ -z "$(ls -A "$D/work")" ] || fail "left in $D/work: $(ls -R "$D/work")"
for p in /proc/[0-9]*; do
  grep -qF "$D/work" "$p/cmdline" 2>/dev/null && fail "process ${p#/proc/} ($(tr '\0' ' ' < "$p/cmdline")) still runs"
done
echo "native, tunnel, tunnel-tls, qemu-tls and stunnel migrated and verified; stunnel $to -> $uri"
