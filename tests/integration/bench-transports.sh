# The transports this build has, side by side: native, QEMU-native TLS
# (PSK) and stunnel (TLS 1.3 PSK between two stunnels; the source sends to
# the stunnel client, the destination listens behind the stunnel server).
# Every run migrates with its memory verified; nothing is left running.
. "$(dirname "$0")/lib.sh"
need stunnel
mkdir "$D/work"
cat > "$D/sc.json" <<'J'
{"base": {"fill": 64, "mem": 96, "dirty": 10},
 "scenarios": [{"name": "native"}, {"name": "qemu-tls", "transport": "qemu-tls"},
               {"name": "stunnel", "transport": "stunnel"}]}
J
"$QMIG" bench --scenario "$D/sc.json" --runs 1 --warmup 0 --out "$D/out" --workdir "$D/work" \
  --resamples 50 > "$D/bench.out" 2>&1 || fail "bench: $(cat "$D/bench.out")"
J="$D/out/runs.jsonl"
[ "$(jq -s '[.[] | select(.bench.ok and .bench.memory.rc == 0 and .bench.memory.side == "dst" and .report.outcome_name == "migrated")] | length' "$J")" = 3 ] ||
  fail "not every transport migrated and verified: $(jq -c .bench "$J")"
jq -se 'map(select(.bench.scenario == "qemu-tls"))[0].report.config.tls == "psk"' "$J" > /dev/null ||
  fail "qemu-tls did not use QEMU's TLS"
# stunnel: QEMU listened on one port, the source sent to another; only the
# two stunnels join them.
read -r uri to < <(jq -sr 'map(select(.bench.scenario == "stunnel"))[0] | [.report.data_uri, .report.config."data-connect"] | @tsv' "$J")
case $uri in tcp:127.0.0.1:*) ;; *) fail "stunnel: data_uri '$uri'";; esac
case $to in tcp:127.0.0.1:*) ;; *) fail "stunnel: data-connect '$to'";; esac
[ "$uri" != "$to" ] || fail "stunnel: the source sent straight to QEMU ($uri)"
[ -z "$(ls -A "$D/work")" ] || fail "left in $D/work: $(ls -R "$D/work")"
for p in /proc/[0-9]*; do
  grep -qF "$D/work" "$p/cmdline" 2>/dev/null && fail "process ${p#/proc/} ($(tr '\0' ' ' < "$p/cmdline")) still runs"
done
echo "native, qemu-tls and stunnel migrated and verified; stunnel path $to -> $uri"
