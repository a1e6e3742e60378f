# The link between the two namespaces goes down in the middle of a
# tunnelled migration: the migration must fail within a bounded time with
# the failed tunnel connection named, the guest must keep running on the
# source only, its memory intact.  The engine's stall watchdog is off by
# default here (STALL=0) so that the tunnel's own dead-link detection is
# what is tested; STALL=N tests the watchdog in tunnelled mode.
. "$(dirname "$0")/lib.sh"
need_netns
need_tunnel
STALL=${STALL:-0}
start_lab --netns --link-rate 100mbit --fill 256
start_agent
set +e
$IN_SRC "$QMIG" migrate --lab "$D" --json "$D/report.json" --tunnel "$AGENT_ADDR" \
  --stall-timeout "$STALL" --timeout 120 ${TUNNEL_MIGRATE_OPTS:-} >"$D/migrate.out" 2>&1 &
mig=$!
set -e
echo "$mig" >>"$D/pids"
rx0=$(rx_bytes "$DST_NS" "$DST_IF")
for _ in $(seq 300); do
  [ $(( $(rx_bytes "$DST_NS" "$DST_IF") - rx0 )) -ge $((8 << 20)) ] && break
  alive "$mig" || break
  sleep 0.1
done
alive "$mig" || { cat "$D/migrate.out"; fail "qmig ended before the link went down"; }
ip -n "$SRC_NS" link set "$SRC_IF" down
t0=$(date +%s)
for _ in $(seq 600); do alive "$mig" || break; sleep 0.1; done
alive "$mig" && fail "qmig still running 60 s after the link went down"
set +e; wait "$mig"; RC=$?; set -e
t=$(( $(date +%s) - t0 ))
cat "$D/migrate.out"
echo "qmig ended ${t} s after the link went down, exit $RC"
[ "$RC" = 1 ] || fail "exit $RC, expected 1 (not migrated, guest on the source)"
if [ "$STALL" = 0 ]; then
  jr .error | grep -q "tunnel: .* to $AGENT_ADDR" || fail "failed tunnel connection not named: $(jr .error)"
else
  jr .error | grep -q "stream stalled" || fail "cause not named: $(jr .error)"
fi
[ "$t" -le $((STALL + 30)) ] || fail "took $t s to give up"
expect_guest_on src
