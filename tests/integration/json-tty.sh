# SPDX-License-Identifier: LGPL-2.1-or-later
# Every JSON document of the commands that print a result (issue 14): lab
# status, verify-memory, verify-disk-image, migrate's report (a success and
# an unreachable QMP, told apart by error_code) and verify-disks carry
# "schema" and only snake_case keys, and each validates against its JSON
# Schema in docs/schema/ (tests/helpers/validate-json.py; a report with a
# key renamed must not); and the TTY progress line of qmig migrate on a
# terminal (script(1) gives it one), without --progress.
. "$(dirname "$0")/lib.sh"
need jq
need script
python3 -c 'import jsonschema' 2>/dev/null || { echo "skip: python3-jsonschema not installed"; exit 77; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
validate() { python3 "$ROOT/tests/helpers/validate-json.py" "$ROOT/docs/schema/$1.schema.json" "${@:2}"; }
start_lab --fill 64 --dirty 4 --disk 4
schema=$(sed -n 's/^#define QMIG_REPORT_SCHEMA \([0-9]*\)$/\1/p' "$(dirname "$0")/../../include/qmig.h")
[ -n "$schema" ] || fail "no QMIG_REPORT_SCHEMA in qmig.h"
# doc FILE WHAT SCHEMA: valid JSON, this schema version, no key with a '-'
# at any depth, valid against docs/schema/SCHEMA.schema.json
doc() {
  jq -e . "$1" >/dev/null || fail "$2: not JSON: $(head -c 300 "$1")"
  validate "$3" "$1" || fail "$2: does not validate against docs/schema/$3.schema.json"
  [ "$(jq .schema "$1")" = "$schema" ] || fail "$2: schema $(jq .schema "$1"), expected $schema"
  bad=$(jq -r '[.. | objects | keys[] | select(test("-"))] | unique | join(" ")' "$1")
  [ -z "$bad" ] || fail "$2: kebab-case keys: $bad"
}

"$QMIG" lab status --dir "$D" --json - >"$D/status.json" || fail "lab status --json"
doc "$D/status.json" "lab status" lab-status
[ "$(jq -r .src.qmp "$D/status.json")" = "unix:$D/src.qmp" ] || fail "lab status: src.qmp $(jq -r .src.qmp "$D/status.json")"
[ "$(jq .src.pid "$D/status.json")" = "$SRC_PID" ] || fail "lab status: src.pid"
[ "$(jq .fill_mib "$D/status.json")" = 64 ] || fail "lab status: fill_mib"

# The migration on a terminal: the progress line (carriage return, then
# the elapsed time and the pass) appears without --progress.
set +e
script -qfec "$QMIG migrate --lab $D --max-bandwidth 8M --json $D/report.json" "$D/tty.out" >/dev/null 2>&1
RC=$?
set -e
[ "$RC" = 0 ] || { cat "$D/tty.out"; fail "migrate under script: exit $RC"; }
grep -aq $'\r\033\[K *[0-9.]*s active *pass [0-9]' "$D/tty.out" ||
  { cat -v "$D/tty.out" | head -20; fail "no progress line on the terminal"; }
grep -aq "qmig: MIGRATED" "$D/tty.out" || fail "no summary on the terminal"
doc "$D/report.json" "migrate report" report
[ "$(jr .error_code)" = none ] || fail "error_code $(jr .error_code) after a success"
# The schema test can fail: a key renamed, a closed section given a new
# key, an undocumented value are each refused, and the failure names where.
jq '.total_time_ms = .total_ms | del(.total_ms)' "$D/report.json" >"$D/broken.json"
! validate report "$D/broken.json" 2>"$D/broken.err" || fail "a report with total_ms renamed validates"
grep -q 'total_ms' "$D/broken.err" || fail "the failure does not name the key: $(cat "$D/broken.err")"
jq '.heartbeat.extra_key = 1' "$D/report.json" >"$D/broken2.json"
! validate report "$D/broken2.json" 2>"$D/broken.err" || fail "an undocumented heartbeat key validates"
grep -qF '$.heartbeat' "$D/broken.err" || fail "the failure does not name the path: $(cat "$D/broken.err")"
jq '.error_code = "qmp-connect"' "$D/report.json" >"$D/broken3.json"
! validate report "$D/broken3.json" 2>/dev/null || fail "an unknown error_code validates"
expect_guest_on dst # stops the guest: verify-memory --json next sees it stopped

"$QMIG" verify-memory --lab "$D" --tmpdir "$D" --json - >"$D/mem.json" || fail "verify-memory --json: exit $?"
doc "$D/mem.json" "verify-memory" verify-memory
[ "$(jq -r .result "$D/mem.json")" = ok ] || fail "verify-memory result $(jq -r .result "$D/mem.json")"
[ "$(jq .pages_checked "$D/mem.json")" -gt 0 ] || fail "verify-memory: no pages checked"
[ "$(jq .pages_bad "$D/mem.json")" = 0 ] || fail "verify-memory: bad pages"

"$QMIG" verify-disk-image --image "$D/disk.raw" --format raw --json - >"$D/disk.json" ||
  fail "verify-disk-image --json: exit $?"
doc "$D/disk.json" "verify-disk-image" verify-disk-image
[ "$(jq -r .result "$D/disk.json")" = ok ] && [ "$(jq .units_checked "$D/disk.json")" -gt 0 ] ||
  fail "verify-disk-image: $(cat "$D/disk.json")"

# verify-disks on two small files.
head -c 1048576 /dev/zero >"$D/a.raw"; cp "$D/a.raw" "$D/b.raw"
if command -v qemu-nbd >/dev/null; then
  "$QMIG" verify-disks --src "$D/a.raw" --src-format raw --dst "$D/b.raw" --dst-format raw --json "$D/vd.json" >/dev/null ||
    fail "verify-disks: exit $?"
  doc "$D/vd.json" "verify-disks" verify-disks
  [ "$(jq -r .result "$D/vd.json")" = identical ] || fail "verify-disks result"
fi

# A failed run says its kind: an unreachable destination QMP.
set +e
"$QMIG" migrate --src "unix:$D/none-src.qmp" --dst "unix:$D/none-dst.qmp" --json "$D/fail.json" >"$D/fail.out" 2>"$D/fail.err"
rc=$?
set -e
[ $rc = 3 ] || fail "unreachable QMP: exit $rc"
[ ! -s "$D/fail.out" ] || fail "a failure summary on stdout: $(cat "$D/fail.out")"
grep -q "^qmig: NOT STARTED" "$D/fail.err" || fail "no failure summary on stderr: $(cat "$D/fail.err")"
doc "$D/fail.json" "failed report" report
[ "$(jq -r .error_code "$D/fail.json")" = qmp_connect ] || fail "error_code $(jq -r .error_code "$D/fail.json")"
exit 0
