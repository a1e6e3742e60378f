# SPDX-License-Identifier: LGPL-2.1-or-later
# A disk copied through the qmig tunnel with TLS 1.3 (mutual x509): the
# source QEMU's NBD client reaches the destination's NBD server as an nbd
# channel of the tunnel, beside the main and 2 multifd channels, while the
# guest writes its disk.  Then the report shows the nbd channel, the agent
# refused nothing, and: one QEMU, memory and the destination's disk right.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"
need qemu-img
make_pki
start_lab --fill 32 --dirty 10 --disk 16 --disk-format qcow2 --disk-copy --disk-write 1024
start_agent --once --tls x509 --tls-dir "$C/ca"
migrate --tunnel "$AGENT" --tunnel-tls x509 --tunnel-tls-dir "$C/ca" --multifd-channels 2 \
  --copy-disks drive0
expect_migrated
expect_tunnel_report 2
[ "$(jr '[.tunnel.channels[] | select(.kind == "nbd")] | length')" -ge 1 ] ||
  fail "no nbd channel: $(jr .tunnel.channels)"
nbd_bytes=$(jr '[.tunnel.channels[] | select(.kind == "nbd") | .bytes_to_dst] | add')
[ "$nbd_bytes" -ge 16777216 ] || fail "nbd channels carried $nbd_bytes bytes, the disk has 16 MiB"
case "$(jr .storage.nbd_connect)" in unix:/tmp/qmig-tunnel.*) ;; *) fail "nbd_connect $(jr .storage.nbd_connect)" ;; esac
jr .tunnel.tls | grep -q "^TLSv1.3" || fail "tls: $(jr .tunnel.tls)"
grep -q "refused" "$D/agent.log" && fail "agent refused something: $(cat "$D/agent.log")"
expect_guest_on dst
expect_disk "$(jq -r .dst_disk "$D/lab.json")" qcow2
echo "mirror-tunnel-tls: ok"
