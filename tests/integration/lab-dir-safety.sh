# SPDX-License-Identifier: LGPL-2.1-or-later
# Files qmig writes and secrets it reads, against another local user:
# a lab directory that is a symlink, owned by someone else or writable by
# group/others is refused (start, status, stop) with the reason, and the
# file a planted symlink points at is never written; a symlink planted as
# src.log in the lab's own directory is not followed; key files that
# group/others can read are refused as ssh does.  No QEMU is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunnel-lib.bash"

# refused WHAT PATTERN CMD...: CMD exits 3 (lab start) or 1 with PATTERN in stderr.
refused() {
  local what=$1 pat=$2; shift 2
  set +e; "$@" >"$D/out" 2>"$D/err"; local rc=$?; set -e
  [ "$rc" != 0 ] || fail "$what: accepted"
  grep -qE "$pat" "$D/err" || fail "$what: no '$pat' in: $(cat "$D/err")"
  echo "refused ($what): $(head -c 300 "$D/err")"
}
echo precious > "$D/precious"; chmod 644 "$D/precious"

# A symlink as the lab directory.
mkdir -m 700 "$D/real"; ln -s "$D/real" "$D/link"
refused "symlink dir" "is a symbolic link" "$QMIG" lab start --dir "$D/link" --accel tcg
# Group/other writable.
mkdir -m 777 "$D/open"; chmod 777 "$D/open"
refused "world-writable dir" "writable by group or others" "$QMIG" lab start --dir "$D/open" --accel tcg
# Another user's, with a symlink planted as src.log (what truncated a
# root-owned file before).
if [ "$(id -u)" = 0 ]; then
  mkdir -m 755 "$D/planted"; ln -s "$D/precious" "$D/planted/src.log"
  chown -h 65534:65534 "$D/planted" "$D/planted/src.log"
  refused "other owner" "owned by another user" "$QMIG" lab start --dir "$D/planted" --accel tcg
  refused "status of other owner's lab" "owned by another user" "$QMIG" lab status --dir "$D/planted"
  refused "stop of other owner's lab" "owned by another user" "$QMIG" lab stop --dir "$D/planted"
  [ "$(cat "$D/precious")" = precious ] || fail "the planted symlink's target was written"
else
  echo "(not root: other-owner case not checked)"
fi
# Our own private directory with a symlink as src.log: not followed.
mkdir -m 700 "$D/own"; ln -s "$D/precious" "$D/own/src.log"
set +e; "$QMIG" lab start --dir "$D/own" --accel tcg --fill 8 --mem 32 >"$D/out" 2>"$D/err"; rc=$?; set -e
[ "$rc" = 3 ] || fail "lab start over a src.log symlink: exit $rc"
grep -qE "Too many levels of symbolic links|did not start" "$D/err" || fail "no reason: $(cat "$D/err")"
[ "$(cat "$D/precious")" = precious ] || fail "src.log symlink followed: target written"
"$QMIG" lab stop --dir "$D/own" >/dev/null 2>&1 || true
for p in /proc/[0-9]*; do
  grep -qF "$D/own" "$p/cmdline" 2>/dev/null && fail "a QEMU of the refused lab runs: ${p#/proc/}"
done

# Key files: a PSK file and an x509 private key readable by others.
make_psk "$D/keys.psk"; chmod 644 "$D/keys.psk"
port=$(free_port)
refused "PSK file 0644" "permissions 0644 for $D/keys.psk are too open: it must not be accessible by group or others" \
  timeout 20 "$QMIG" agent --listen "127.0.0.1:$port" --qmp "unix:$D/none.qmp" --run-dir "$D/agent" \
  --tls psk --tls-psk-file "$D/keys.psk" --once
make_pki; chmod 640 "$C/ca/server-key.pem"
refused "x509 key 0640" "permissions 0640 for $C/ca/server-key.pem are too open" \
  timeout 20 "$QMIG" agent --listen "127.0.0.1:$port" --qmp "unix:$D/none.qmp" --run-dir "$D/agent" \
  --tls x509 --tls-dir "$C/ca" --once
chmod 600 "$D/keys.psk"
# The same file with the right mode passes the check (the agent then starts).
timeout 20 "$QMIG" agent --listen "127.0.0.1:$port" --qmp "unix:$D/none.qmp" --run-dir "$D/agent" \
  --tls psk --tls-psk-file "$D/keys.psk" --once 2>"$D/ok.err" & apid=$!
echo "$apid" >> "$D/pids"
for _ in $(seq 50); do grep -q "listening on" "$D/ok.err" && break; sleep 0.1; done
grep -q "listening on" "$D/ok.err" || fail "agent with a 0600 PSK file did not start: $(cat "$D/ok.err")"
kill "$apid"; wait "$apid" 2>/dev/null || true
echo "lab dirs and key files: every unsafe case refused"
