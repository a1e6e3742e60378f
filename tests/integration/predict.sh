# SPDX-License-Identifier: LGPL-2.1-or-later
# Dirty-rate prediction against the outcome: for three dirty rates the
# predicted total time is within a factor 1.5 of QEMU's measured total-time,
# the prediction says it converges, and the memory check passes.  And
# `qmig dirty-rate` measures a 20 MiB/s guest within 30 %.
# The lab guest sweeps its fill region at exactly --dirty MiB/s, and 24 MiB/s
# of bandwidth makes its first pass last about 2.7 s.
. "$(dirname "$0")/lib.sh"

# within A B FACTOR: A and B differ by at most FACTOR either way.
within() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { exit !(a > 0 && b > 0 && a <= b * f && b <= a * f) }'; }

start_lab --fill 64 --dirty 20
"$QMIG" dirty-rate --lab "$D" --max-bandwidth 24M --json "$D/dr.json" > "$D/dr.out" ||
  fail "qmig dirty-rate exit $?: $(cat "$D/dr.out")"
cat "$D/dr.out"
grep -q "^dirty rate: [0-9.]* MiB/s" "$D/dr.out" || fail "no dirty rate printed"
rate=$(jq -r .prediction.dirty_rate_bytes_per_s "$D/dr.json")
within "$rate" $((20 << 20)) 1.3 || fail "dirty rate $rate B/s, guest dirties 20 MiB/s"
"$QMIG" lab stop --dir "$D" >/dev/null

for dirty in 0 8 16; do
  start_lab --fill 64 --dirty "$dirty"
  migrate --predict on --max-bandwidth 24M --quiet
  expect_migrated
  p=$(jr .prediction.total_ms) t=$(jr .total_ms)
  echo "dirty $dirty MiB/s (QEMU measured $(jr .prediction.qemu_dirty_rate_mib_per_s)):" \
    "predicted ${p%.*} ms in $(jr .prediction.passes) passes," \
    "migrated in $t ms in $(jr '.passes | length') passes"
  [ "$(jr .prediction.converges)" = true ] || fail "dirty $dirty: predicted not to converge"
  within "$p" "$t" 1.5 || fail "dirty $dirty: predicted $p ms, took $t ms"
  expect_guest_on dst
  "$QMIG" lab stop --dir "$D" >/dev/null
done
