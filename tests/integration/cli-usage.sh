# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad input is refused with a message naming the option, exit 2, and the
# CLI's basics work.
. "$(dirname "$0")/lib.sh"
"$QMIG" --version | grep -q '^qmig ' || fail "--version"
for c in migrate lab verify-memory demo check dirty-rate; do "$QMIG" $c --help >/dev/null || fail "$c --help"; done
bad() { # expected-text args...
  local want=$1; shift
  set +e; out=$("$QMIG" migrate "$@" 2>&1); rc=$?; set -e
  [ $rc = 2 ] || fail "migrate $*: exit $rc, expected 2"
  echo "$out" | grep -q -- "$want" || fail "migrate $*: message '$out' lacks '$want'"
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
exit 0
