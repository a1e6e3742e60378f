# SPDX-License-Identifier: LGPL-2.1-or-later
# The soak test, short (make soak runs 100 rounds): 5 migrations back and
# forth between two lab QEMUs in one process through libqmig, the emptied
# side restarted with -incoming defer each time; every round checks the
# guest's memory and that exactly one QEMU is left; fds and RSS stay flat.
. "$(dirname "$0")/lib.sh"
SOAK=$(dirname "$QMIG")/soak
[ -x "$SOAK" ] || { echo "skip: $SOAK not built (make $(basename "$(dirname "$QMIG")")/soak)"; exit 77; }
set +e
out=$("$SOAK" -n 5 -d "$D" 2>&1)
rc=$?
set -e
echo "$out"
[ $rc = 0 ] || fail "soak exited $rc"
echo "$out" | grep -q "^soak: round 5/5 ok" || fail "round 5 not reached"
echo "$out" | grep -q "^soak: passed$" || fail "no pass line"
for f in "$D/src.pid" "$D/dst.pid"; do
  p=$(cat "$f" 2>/dev/null) || continue
  ! grep -qF "$D/" "/proc/$p/cmdline" 2>/dev/null || fail "a lab QEMU outlived the soak ($f)"
done
