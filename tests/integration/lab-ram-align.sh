# SPDX-License-Identifier: LGPL-2.1-or-later
# The lab's 8 KiB more RAM (dodging QEMU < 9.0's lost dirty pages under TCG)
# only where it is needed: on QEMU 7.2 under TCG, never on QEMU 10; and
# ram-align aligned|unaligned overrides it.  A migration on QEMU 10 with
# exact RAM: no lost-page warning, the guest's memory intact.  The engine's
# warning for QEMU 7.2 with aligned RAM states what the workaround costs.
. "$(dirname "$0")/lib.sh"
need_qemu10
# mem_arg: the -m of the source QEMU's command line.
mem_arg() { tr '\0' '\n' < "/proc/$SRC_PID/cmdline" | sed -n '/^-m$/{n;p;q}'; }
expect_mem() { # want what...
  local m; m=$(mem_arg)
  [ "$m" = "$1" ] || fail "$2: -m $m, want $1"
  echo "$2: -m $m"
}
v72=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p;q')

if [ "$v72" -lt 9 ]; then
  start_lab --fill 8 --mem 40
  expect_mem 40968K "QEMU $v72 TCG, ram-align auto"
  "$QMIG" lab stop --dir "$D" >/dev/null
  start_lab --fill 8 --mem 40 --ram-align aligned
  expect_mem 40960K "QEMU $v72 TCG, ram-align aligned"
  "$QMIG" check --lab "$D" --json "$D/check.json" >/dev/null || fail "qmig check"
  w=$(jq -r '.warnings[] | select(test("lose dirty pages"))' "$D/check.json")
  echo "warning: $w"
  for p in "QEMU >= 9.0" "8 KiB" "freezes the guest at setup" "in proportion to RAM"; do
    grep -qF "$p" <<<"$w" || fail "the lost-page warning does not say '$p': $w"
  done
  "$QMIG" lab stop --dir "$D" >/dev/null
fi

start_lab --qemu "$QEMU10" --fill 8 --mem 40 --ram-align unaligned
expect_mem 40968K "QEMU 10 TCG, ram-align unaligned"
"$QMIG" lab stop --dir "$D" >/dev/null
start_lab --qemu "$QEMU10" --fill 8 --mem 40 --dirty 4
expect_mem 40960K "QEMU 10 TCG, ram-align auto"
# A unix stream: QEMU 10 refuses a second migrate-incoming after a busy
# port, and other tests may hold 49152.
migrate --data-uri "unix:$D/stream.sock"
expect_migrated
[ "$(jr '.src.qemu_version | startswith("10.")')" = true ] || fail "source QEMU $(jr .src.qemu_version)"
[ "$(jr '[.warnings[] | select(test("lose dirty pages"))] | length')" = 0 ] ||
  fail "lost-page warning on QEMU 10: $(jr .warnings)"
expect_guest_on dst
