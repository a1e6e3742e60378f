# SPDX-License-Identifier: LGPL-2.1-or-later
# The option tables behind the command lines: every handle (migrate, lab,
# agent, bench) refuses an unknown option or a bad value with exit 2 and a
# message naming the option, flags work without a value, and the help and
# knob lists are generated from the tables.  Nothing is started.
. "$(dirname "$0")/lib.sh"
refused() { # expected-text command...
  local want=$1; shift
  set +e; out=$("$QMIG" "$@" 2>&1); rc=$?; set -e
  [ $rc = 2 ] || fail "$*: exit $rc, expected 2: $out"
  echo "$out" | grep -qF -- "$want" || fail "$*: message '$out' lacks '$want'"
}
# An unknown long option is an unknown option, not some table key without
# its value (getopt's '?' was once read as a key index).
refused "try --help" migrate --bogus
refused "try --help" lab start --dir "$D/lab" --bogus
refused "option 'fill': 'lots' is not a number" lab start --dir "$D/lab" --fill lots
refused "option 'heartbeat': '0' is not a number from 1 to 10000" lab start --dir "$D/lab" --heartbeat 0
refused "option 'accel': 'xen' is not kvm, tcg or auto" lab start --dir "$D/lab" --accel xen
refused "option 'disk-format': 'vmdk' is not raw or qcow2" lab start --dir "$D/lab" --disk 4 --disk-format vmdk
refused "option 'link-rate': 'fast' is not a rate" lab start --dir "$D/lab" --netns --link-rate fast
[ ! -e "$D/lab" ] || fail "a refused lab start created its directory"
refused "agent option 'max-connections': '1' is not a number in 2-65536" agent --listen 127.0.0.1:1 --max-connections 1
refused "agent option 'plain-data': 'maybe' is not allow or refuse" agent --plain-data maybe
refused "agent option 'qmp': '/x.qmp' is not unix:PATH" agent --qmp /x.qmp
refused "option 'downtime-limit': '0' is not a number from 1 to 2000000" migrate --src unix:/a --dst unix:/b --downtime-limit 0
# Flags take no value: the agent with --once and --insecure-no-auth gets as
# far as its own checks (no qmp given: a usage error too, exit 2), not a
# complaint about the flags.
set +e; out=$("$QMIG" agent --once --insecure-no-auth --listen 127.0.0.1:1 2>&1); rc=$?; set -e
[ $rc = 2 ] && echo "$out" | grep -qF "the agent needs listen (HOST:PORT) and qmp (unix:PATH)" &&
  ! echo "$out" | grep -q "unrecognized\|requires an argument" ||
  fail "agent flags: exit $rc: $out"
# Every agent and lab option is in its help (bar the lab's --dir, --qemu,
# --guest, --dst-disk and --dst-no-disk, which the usage lines carry).
"$QMIG" agent --help > "$D/agent.help"
for k in listen qmp run-dir tls tls-dir tls-psk-file plain-data insecure-no-auth handshake-timeout \
         once qemu-tls-dir max-connections max-qmp-channels max-main-channels \
         max-multifd-channels max-nbd-channels control-idle-timeout test-clock-skew-ms; do
  grep -qE -- "^  --$k( |$)" "$D/agent.help" || fail "agent --help lacks --$k"
done
"$QMIG" lab --help > "$D/lab.help"
for k in fill mem dirty heartbeat accel cpu dst-cpu exact-mem ram-align nic disk disk-format disk-write \
         disk-cache disk-copy dst-disk-format data-disk data-disk-top data-disk-copy netns \
         link-rate qmp-tls-dir; do
  grep -qE -- "^  --$k( |,|$)" "$D/lab.help" || fail "lab --help lacks --$k"
done
# The bench's lab knobs are the lab's own options (disk-copy and netns too).
"$QMIG" bench --list-knobs > "$D/knobs"
for k in fill mem dirty heartbeat cpu exact-mem ram-align disk disk-format disk-write disk-cache disk-copy \
         netns link-rate transport dirty-pattern guest probe; do
  sed -n '/^lab knobs:/,/^migration knobs/p' "$D/knobs" | grep -qw -- "$k" ||
    fail "bench --list-knobs lacks lab knob $k"
done
echo "options refused with their names, flags without values, help from the tables"
