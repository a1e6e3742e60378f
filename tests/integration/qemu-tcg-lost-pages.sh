# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU < 9.0 under TCG loses dirty pages when guest RAM is a multiple of
# 256 KiB (fixed upstream by 03bfc2188f; docs/DESIGN.md).  With the lab's
# workaround off (--exact-mem) and a migration that iterates many passes,
# the lost pages must show: which pages go stale varies, so either the memory
# check fails (the guest's control page or data went stale) or the
# destination guest is dead (its stack or counters did: #GP on iret, or a
# hang), which a correct migration never causes (migrate-autoconverge.sh runs
# the same migration with the workaround and passes both checks).  If this QEMU no longer
# loses them (a backported fix), the test says so: drop the workaround then.
. "$(dirname "$0")/lib.sh"
v=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -1)
[ "${v:-0}" -lt 9 ] || { echo "skip: QEMU $v has the fix"; exit 77; }
# Which pages go stale depends on timing: up to 2 attempts, a fresh pair
# each.  Since the guest became interrupt-driven (disk support) the bug shows
# rarely in this scenario; when it does not show, the test skips (it cannot
# prove detection) rather than pass.  docs/DESIGN.md has the whole-RAM-dump
# evidence that does not depend on chance.
for attempt in 1 2; do
  "$QMIG" lab stop --dir "$D" >/dev/null 2>&1 || true
  start_lab --fill 64 --dirty 40 --exact-mem
  migrate --auto-converge on --max-bandwidth 16M --downtime-limit 100 --timeout 120
  [ "$RC" = 0 ] || fail "qmig migrate exit $RC"
  jr '.warnings[0]' | grep -q 03bfc2188f || fail "qmig did not warn about the QEMU bug"
  hb=$(heartbeats dst 2)
  set +e
  "$QMIG" verify-memory --qmp "unix:$D/dst.qmp" --tmpdir "$D" > "$D/verify.out" 2>&1
  vrc=$?
  set -e
  cat "$D/verify.out"
  echo "attempt $attempt: memory check exit $vrc, destination heartbeats $hb in 2 s"
  [ $vrc = 0 ] || [ $vrc = 1 ] || fail "verify-memory could not run (exit $vrc)"
  if [ $vrc = 1 ] || [ "$hb" -lt 10 ]; then
    echo "lost pages detected on attempt $attempt"
    exit 0
  fi
done
echo "skip: the QEMU 7.2 TCG dirty-page bug did not show in 2 attempts (timing-dependent; if it never shows again, this QEMU may be fixed)"
exit 77
