# SPDX-License-Identifier: LGPL-2.1-or-later
# The QEMU version matrix (bash), sourced by tests/integration/qemu10-*.sh
# after lib.sh: an existing test re-run on QEMU 10 through lib.sh's
# start_lab (QMIG_LAB_QEMU, QMIG_LAB_DST_QEMU), so the same assertions
# (memory check, one QEMU) hold on every cell.  The plain runs of those
# tests are the 7.2 -> 7.2 cell.
need_qemu10

# on_qemu10 TEST [CELL...]: TEST (a tests/integration/TEST.sh using
# start_lab) on each CELL, by default "10.0 -> 10.0" then "7.2 -> 10.0" (the
# destination gets the source's machine type, pc-i440fx-7.2).  Fails on the
# first failing cell; a skip skips.
on_qemu10() {
  local t=$TOP/tests/integration/$1.sh cell rc
  shift
  [ $# -gt 0 ] || set -- "10.0 -> 10.0" "7.2 -> 10.0"
  for cell in "$@"; do
    echo "== $(basename "$t" .sh) on $cell"
    set +e
    if [ "$cell" = "10.0 -> 10.0" ]; then
      QMIG_LAB_QEMU=$QEMU10 QMIG_LAB_DST_QEMU="" bash "$t" >"$D/out" 2>&1
    else
      QMIG_LAB_QEMU="" QMIG_LAB_DST_QEMU=$QEMU10 bash "$t" >"$D/out" 2>&1
    fi
    rc=$?
    set -e
    cat "$D/out"
    [ $rc = 77 ] && exit 77
    [ $rc = 0 ] || fail "$(basename "$t" .sh) on $cell: exit $rc"
    # The lab said which binaries ran (start_lab checked /proc/PID/exe).
    grep -q "^lab: source .*, destination $QEMU10" "$D/out" ||
      fail "$(basename "$t" .sh) did not run on $cell"
  done
}
