# SPDX-License-Identifier: LGPL-2.1-or-later
# The NBD path fails while a disk is copied: nbdkit's error filter sits
# between the source QEMU and the destination's NBD server and starts
# failing every request when a trigger file appears.  Once before the copy
# (the mirror fails while syncing: exit 3, nothing moved) and once during
# the RAM migration, after the mirror is in sync (exit 1: the migration is
# cancelled and the destination stopped).  Each time the source guest keeps
# running with its memory and its disk right, the cause is named, and
# nothing of the copy is left on the source.
. "$(dirname "$0")/lib.sh"
need qemu-img; need nbdkit
nbdkit --dump-plugin nbd >/dev/null 2>&1 || { echo "skip: nbdkit nbd plugin missing"; exit 77; }

proxy() { # start nbdkit: proxy.sock -> nbd.sock, errors while $D/inject exists
  rm -f "$D/proxy.sock" "$D/nbdkit.pid"
  nbdkit -P "$D/nbdkit.pid" -U "$D/proxy.sock" --filter=error nbd socket="$D/nbd.sock" \
    export=drive0 error=EIO error-rate=100% error-file="$D/inject"
  for _ in $(seq 50); do [ -s "$D/nbdkit.pid" ] && break; sleep 0.1; done
  cat "$D/nbdkit.pid" >> "$D/pids"
}
src_jobs() {
  printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-block-jobs"}' \
    '{"execute":"query-named-block-nodes"}' | socat -t 2 - "UNIX-CONNECT:$D/src.qmp" |
    jq -r 'select(.return | type == "array") | .return | map(.device // ."node-name") | join(",")'
}
source_intact() {
  alive "$SRC_PID" || fail "source QEMU gone"
  [ "$(src_jobs | tr '\n' ' ')" = " drive0,drive0-file " ] || fail "source left with: $(src_jobs)"
  "$QMIG" verify-memory --qmp "unix:$D/src.qmp" --tmpdir "$D" > "$D/memcheck.out" ||
    fail "memory check on src: $(cat "$D/memcheck.out")"
  expect_disk "$(jq -r .disk "$D/lab.json")" raw
}
NBD=(--copy-disks drive0 --nbd-addr "unix:$D/nbd.sock" --nbd-connect "unix:$D/proxy.sock")

# 1. Failing from the start: the mirror never gets in sync.
start_lab --fill 32 --dirty 10 --disk 16 --disk-copy --disk-write 1024
proxy
touch "$D/inject"
migrate "${NBD[@]}"
[ "$RC" = 3 ] || fail "exit $RC, expected 3"
grep -q "disk drive0: mirror failed: .*Input/output error" "$D/migrate.out" ||
  fail "cause not named"
source_intact
kill "$(cat "$D/nbdkit.pid")"
"$QMIG" lab stop --dir "$D" >/dev/null

# 2. Failing during the RAM migration (slowed to 4 MiB/s), the mirror in sync.
start_lab --fill 32 --dirty 10 --disk 16 --disk-copy --disk-write 1024
rm -f "$D/inject"
proxy
set +e
"$QMIG" migrate --lab "$D" --json "$D/report.json" --verbose --max-bandwidth 4M "${NBD[@]}" \
  > "$D/migrate.out" 2>&1 &
q=$!
echo $q >> "$D/pids"
for _ in $(seq 300); do grep -q "qmig: active" "$D/migrate.out" && break; sleep 0.1; done
grep -q "qmig: active" "$D/migrate.out" || fail "migration never became active"
sleep 0.5
touch "$D/inject"
wait $q; RC=$?
set -e
cat "$D/migrate.out"
[ "$RC" = 1 ] || fail "exit $RC, expected 1 (not migrated, source runs)"
[ "$(jr .outcome_name)" = not-migrated ] || fail "outcome $(jr .outcome_name)"
jr .error | grep -q "disk drive0: mirror failed: writing to the destination over NBD" ||
  fail "error: $(jr .error)"
expect_guest_on src
source_intact
echo "mirror-nbd-fault: ok"
