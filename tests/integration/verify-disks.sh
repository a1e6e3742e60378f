# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig verify-disks from the command line: exit codes 0/1/2/3, the summary
# lines, --json, and no qemu-nbd left behind.  (The comparison itself is
# tested in tests/unit/test_verifydisks.c.)
. "$(dirname "$0")/lib.sh"
need qemu-img; need qemu-nbd
run() { set +e; out=$("$QMIG" verify-disks "$@" 2>&1); rc=$?; set -e; }
expect() { # rc text
  [ "$rc" = "$1" ] || fail "exit $rc, expected $1: $out"
  echo "$out" | grep -q -- "$2" || fail "output '$out' lacks '$2'"
}
"$QMIG" verify-disks --help | grep -q 'never probes' || fail "--help"
head -c 8M /dev/urandom > "$D/a.raw"
cp "$D/a.raw" "$D/b.raw"
qemu-img convert -f raw -O qcow2 "$D/a.raw" "$D/a.qcow2"

run --src "$D/a.raw" --src-format raw --dst "$D/a.qcow2" --dst-format qcow2
expect 0 "disks identical: 8388608 bytes compared in"
# Flip every bit of byte 4096 (a constant could equal the random byte there).
old=$(od -An -tu1 -j 4096 -N1 "$D/b.raw" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - old)))" | dd of="$D/b.raw" bs=1 seek=4096 conv=notrunc status=none
cmp -s "$D/a.raw" "$D/b.raw" && fail "the planted difference did not land"
run --src "$D/a.raw" --src-format raw --dst "$D/b.raw" --dst-format raw --json "$D/r.json"
expect 1 "disks DIFFER: 1 bytes in 1 range; first: 4096..4097"
[ "$(jq -r '.result + " " + (.ranges[0].offset|tostring)' "$D/r.json")" = "different 4096" ] ||
  fail "json: $(cat "$D/r.json")"
run --src "$D/a.raw" --src-format raw --dst "$D/a.qcow2" --dst-format raw
expect 1 "DIFFER in size"
run --src "$D/a.raw" --dst "$D/b.raw" --dst-format raw
expect 2 "give its format with --src-format"
run --src "$D/a.raw" --src-format vmdk --dst "$D/b.raw" --dst-format raw
expect 2 "not raw or qcow2"
run --src "$D/a.raw" --src-format raw
expect 2 "both needed"
run --src "$D/a.raw" --src-format qcow2 --dst "$D/b.raw" --dst-format raw
expect 3 "not in qcow2 format"
run --src "$D/a.raw" --src-format raw --dst "$D/none.raw" --dst-format raw --json -
expect 3 '"result": "error"'
! pgrep -f "qemu-nbd.*$D" >/dev/null || fail "qemu-nbd left running: $(pgrep -af qemu-nbd)"
echo "verify-disks: ok"
