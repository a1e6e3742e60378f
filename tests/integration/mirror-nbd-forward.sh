# SPDX-License-Identifier: LGPL-2.1-or-later
# Native mode with the destination's NBD server on TCP: the source QEMU's
# NBD client goes through qmig's forwarder (a private unix socket, one TCP
# connection with TCP_USER_TIMEOUT per NBD connection, engine/nbdfwd.c),
# with QEMU-native x509 TLS end to end through it (QEMU sees a unix socket:
# qmig gives it the name to verify, here --tls-hostname).  The guest
# writes its disk throughout.  Then the usual: one QEMU, memory and the
# destination's disk right; the socket directory is gone.
. "$(dirname "$0")/lib.sh"
need openssl; need qemu-img; need python3
[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ] ||
  { echo "skip: io_uring is disabled (the forwarder needs it)"; exit 77; }
make_pki "$D/pki"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_lab --fill 32 --dirty 10 --disk 16 --disk-format qcow2 --disk-copy --disk-write 1024
migrate --tls x509 --tls-dir "$D/pki" --tls-hostname dst.qmig.test --copy-disks drive0 \
  --nbd-tls on --nbd-addr "tcp:127.0.0.1:$port"
expect_migrated
[ "$(jr .storage.nbd_listen)" = "tcp:127.0.0.1:$port" ] || fail "nbd_listen $(jr .storage.nbd_listen)"
[ "$(jr .storage.nbd_forwarded_to)" = "127.0.0.1:$port" ] ||
  fail "not forwarded: $(jr .storage.nbd_forwarded_to)"
sock=$(jr .storage.nbd_connect)
case "$sock" in unix:/tmp/qmig-nbd.*/nbd.sock) ;; *) fail "nbd_connect $sock" ;; esac
[ ! -e "$(dirname "${sock#unix:}")" ] || fail "forwarder directory left: ${sock#unix:}"
[ "$(jr .storage.nbd_tls)" = true ] || fail "nbd_tls not in the report"
jr '.storage.disks[0].completed' | grep -qx true || fail "mirror not completed"
expect_guest_on dst
expect_disk "$(jq -r .dst_disk "$D/lab.json")" qcow2
