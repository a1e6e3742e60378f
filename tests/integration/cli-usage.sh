# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad input is refused with a message naming the option, exit 2, and the
# CLI's basics work.
. "$(dirname "$0")/lib.sh"
"$QMIG" --version | grep -q '^qmig ' || fail "--version"
for c in migrate lab verify-memory demo check dirty-rate; do "$QMIG" $c --help >/dev/null || fail "$c --help"; done
bad() { # expected-text args...: exit 2, the message on stderr, nothing on stdout
  local want=$1; shift
  set +e; "$QMIG" migrate "$@" >"$D/bad.out" 2>"$D/bad.err"; rc=$?; set -e
  out=$(cat "$D/bad.err")
  [ $rc = 2 ] || fail "migrate $*: exit $rc, expected 2"
  echo "$out" | grep -q -- "$want" || fail "migrate $*: message '$out' lacks '$want'"
  [ ! -s "$D/bad.out" ] || fail "migrate $*: wrote to stdout: $(cat "$D/bad.out")"
}
bad "'src'" --src /tmp/x.qmp --dst unix:/y
bad "multifd-channels" --src unix:/a --dst unix:/b --multifd-channels 999
bad "max-bandwidth" --src unix:/a --dst unix:/b --max-bandwidth 12Q
bad "xbzrle" --src unix:/a --dst unix:/b --xbzrle maybe
bad "tls" --src unix:/a --dst unix:/b --tls kerberos
bad "needs tls-dir" --src unix:/a --dst unix:/b --tls psk
bad "needs multifd-channels" --src unix:/a --dst unix:/b --multifd-compression zstd
bad "same" --src unix:/a --dst unix:/a
bad "data-port" --src unix:/a --dst unix:/b --data-port 70000
bad "both a source" --dst unix:/b
set +e; "$QMIG" lab start --dir "$D" --accel xen >/dev/null 2>&1; rc=$?; set -e
[ $rc = 2 ] || fail "lab start with a bad accel: exit $rc"
# Every command: an unknown option and (where some are required) none at
# all are usage errors: exit 2, said on stderr, nothing on stdout.
usage() { # args...
  set +e; timeout 60 "$QMIG" "$@" >"$D/u.out" 2>"$D/u.err" </dev/null; rc=$?; set -e
  [ $rc = 2 ] || fail "qmig $*: exit $rc, expected 2 ($(cat "$D/u.err"))"
  [ -s "$D/u.err" ] || fail "qmig $*: no message on stderr"
  [ ! -s "$D/u.out" ] || fail "qmig $*: wrote to stdout: $(cat "$D/u.out")"
}
for c in migrate recover check dirty-rate "lab start" "lab stop" "lab status" verify-memory \
  verify-disks create-disks verify-disk-image demo bench agent update; do
  # shellcheck disable=SC2086 # "lab start" is two words
  usage $c --no-such-option
done
for c in migrate recover check dirty-rate lab verify-memory verify-disks create-disks \
  verify-disk-image bench agent; do
  usage $c
done
usage no-such-command
usage agent --listen 127.0.0.1:1
grep -q "needs listen (HOST:PORT) and qmp" "$D/u.err" || fail "agent without qmp: $(cat "$D/u.err")"
exit 0
