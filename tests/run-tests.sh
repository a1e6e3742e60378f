#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the unit test binaries given as arguments, then (unless --unit-only)
# every tests/integration/*.sh.  Exit 77 from a test means skipped.
# Prints "N passed, N failed, N skipped" last.
unit_only=0
[ "$1" = "--unit-only" ] && { unit_only=1; shift; }
pass=0 fail=0 skip=0 failed=""
run() {
  name=$1; shift
  start=$(date +%s)
  out=$("$@" 2>&1); rc=$?
  t=$(( $(date +%s) - start ))
  case $rc in
    0) pass=$((pass + 1)); echo "PASS $name (${t}s)" ;;
    77) skip=$((skip + 1)); echo "SKIP $name: $(echo "$out" | tail -n 1)" ;;
    *) fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (rc $rc, ${t}s)"
       echo "$out" | tail -n 40 | sed 's/^/    /' ;;
  esac
}
for t in "$@"; do run "$(basename "$t")" "$t"; done
if [ $unit_only = 0 ]; then
  for t in tests/integration/*.sh; do
    [ "$(basename "$t")" = lib.sh ] && continue
    run "$(basename "$t" .sh)" bash "$t"
  done
fi
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
