# SPDX-License-Identifier: LGPL-2.1-or-later
# Tunnelled (TLS PSK) migration with a copied disk, qmig migrate SIGKILLed
# while the RAM moves (the disk's mirror READY, its NBD connection through
# the tunnel): stream and NBD are cut.  qmig recover --lab --tunnel removes
# the mirror job and NBD node on the source (and what is left on the
# destination), the guest stays on the source (exit 1): one QEMU, memory and
# the source's disk right.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
need qemu-img
start_lab --fill 64 --dirty 5 --disk 16 --disk-copy --disk-write 256
SRC_IMG=$(jq -r .disk "$D/lab.json")
make_psk "$D/keys.psk"
start_agent --tls psk --tls-psk-file "$D/keys.psk"
TUN=(--tunnel "$AGENT" --tunnel-tls psk --tunnel-psk-file "$D/keys.psk")
migrate_bg --lab "$D" "${TUN[@]}" --copy-disks drive0 --max-bandwidth 8M
wait_for 120 grep -q 'active *pass' "$D/migrate.out"
sleep 1
kill -KILL "$MIG_PID"
wait "$MIG_PID" 2>/dev/null || true

recover "${TUN[@]}"
[ "$RC" = 1 ] || fail "qmig recover exit $RC, expected 1 (guest on the source)"
grep -q 'found: source .*qmig mirror jobs/NBD nodes' "$D/recover.out" || fail "mirror not found"
grep -q 'disk mirrors cancelled' "$D/recover.out" || fail "mirror not cancelled"
grep -q 'the guest runs on the source' "$D/recover.out" || fail "conclusion missing"
[ "$(qmp_peek src query-block-jobs)" = "[]" ] || fail "jobs left: $(qmp_peek src query-block-jobs)"
qmp_peek src query-named-block-nodes | jq -e 'map(select(.["node-name"] | startswith("qmig-"))) | length == 0' \
  >/dev/null || fail "qmig NBD node left on the source"
expect_guest_on src
expect_disk "$SRC_IMG" raw
