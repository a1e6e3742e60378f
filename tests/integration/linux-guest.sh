# SPDX-License-Identifier: LGPL-2.1-or-later
# The Linux lab guest (lab --guest linux): a Debian kernel whose /init is
# qmig's guest/linux/init.c fills and dirties memory, prints the lab
# guest's heartbeats and checks its own working set when asked on serial.
# A migration under load: the destination guest runs, its own check finds
# every page right after it wrote more, and exactly one QEMU runs.
. "$(dirname "$0")/lib.sh"
need_linux_guest
start_lab --guest linux --fill 32 --dirty 8
[ "$(jq -r .guest "$D/lab.json")" = linux ] || fail "lab.json does not say guest linux"
"$QMIG" verify-memory --serial "$D/src.serial" > "$D/before.out" ||
  { cat "$D/before.out"; fail "source guest's own check before the migration"; }
cat "$D/before.out"
grep -q "OK: 8192 pages checked, 0 bad" "$D/before.out" || fail "not the 32 MiB working set"
pos0=$(sed -n 's/.*guest page writes \([0-9]*\).*/\1/p' "$D/before.out")
migrate
expect_migrated
expect_guest_on dst
grep -q "OK: 8192 pages checked, 0 bad" "$D/memcheck.out" || fail "destination check"
pos1=$(sed -n 's/.*guest page writes \([0-9]*\).*/\1/p' "$D/memcheck.out")
[ "$pos1" -gt "$pos0" ] || fail "the guest did not dirty memory ($pos0 -> $pos1 page writes)"
echo "linux guest: page writes $pos0 before, $pos1 after; stall $(jr .guest_stall_ms) ms"
