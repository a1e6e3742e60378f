# The link between the two namespaces goes down mid-migration.  QEMU's send
# blocks (TCP retransmits for ~15 min, the status stays "active"); qmig's
# stall watchdog (--stall-timeout) must notice that nothing moves, cancel
# within a bounded time, name the cause, and leave the guest running on the
# source only, its memory intact.
. "$(dirname "$0")/lib.sh"
need_netns
STALL=${STALL:-4}
# 100 Mbit/s: 256 MiB take ~20 s, time enough to cut the link mid-stream.
start_lab --netns --link-rate 100mbit --fill 256
set +e
$IN_SRC "$QMIG" migrate --lab "$D" --json "$D/report.json" --stall-timeout "$STALL" \
  --timeout 120 >"$D/migrate.out" 2>&1 &
mig=$!
set -e
echo "$mig" >>"$D/pids"
# Cut the link once at least 8 MiB crossed it (bounded: 30 s).
rx0=$(rx_bytes "$DST_NS" "$DST_IF")
for _ in $(seq 300); do
  [ $(( $(rx_bytes "$DST_NS" "$DST_IF") - rx0 )) -ge $((8 << 20)) ] && break
  alive "$mig" || break
  sleep 0.1
done
alive "$mig" || { cat "$D/migrate.out"; fail "qmig ended before the link went down"; }
ip -n "$SRC_NS" link set "$SRC_IF" down
t0=$(date +%s)
# Bounded: the watchdog, plus cancel and recovery; 60 s is a hang.
for _ in $(seq 600); do alive "$mig" || break; sleep 0.1; done
alive "$mig" && fail "qmig still running 60 s after the link went down"
set +e; wait "$mig"; RC=$?; set -e
t=$(( $(date +%s) - t0 ))
cat "$D/migrate.out"
echo "qmig ended ${t} s after the link went down (stall-timeout $STALL s), exit $RC"
[ "$RC" = 1 ] || fail "exit $RC, expected 1 (not migrated, guest on the source)"
jr .error | grep -q "stream stalled: no progress for $STALL s" || fail "cause not named: $(jr .error)"
[ "$t" -le $((STALL + 30)) ] || fail "took $t s to give up"
expect_guest_on src
