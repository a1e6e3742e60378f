# SPDX-License-Identifier: LGPL-2.1-or-later
# The first port of the data-port range is taken: the destination listens on
# the next one.  A QEMU 10 destination refuses a second migrate-incoming
# after a failed bind ("Illegal migration incoming state: setup"), so qmig
# gives QEMU the whole range at once (tcp:HOST:LO,to=HI); on 10.0 -> 10.0
# and on 7.2 -> 7.2, memory check and one QEMU each.
. "$(dirname "$0")/lib.sh"
need_qemu10
need python3
# A listener on the range's first port, for the whole test (bounded: 120 s).
python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 49230)); s.listen(); time.sleep(120)' &
echo $! >>"$D/pids"
for _ in $(seq 50); do ss -Hltn | grep -q '127.0.0.1:49230 ' && break; sleep 0.1; done
ss -Hltn | grep -q '127.0.0.1:49230 ' || fail "could not take port 49230"
for q in "$QEMU10" qemu-system-x86_64; do
  QMIG_LAB_QEMU=$q start_lab --fill 32 --dirty 10
  migrate --data-port 49230-49233
  expect_migrated
  grep -q "stream tcp:127.0.0.1:4923[123]" "$D/migrate.out" || fail "stream not on 49231-49233"
  expect_guest_on dst
  "$QMIG" lab stop --dir "$D" >/dev/null
done
