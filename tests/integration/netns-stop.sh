# SPDX-License-Identifier: LGPL-2.1-or-later
# The two-namespace lab leaves nothing behind: a start that fails after
# creating the network removes it, a bad rate creates nothing, and lab stop
# finds the namespaces and veth of a lab whose QEMUs were killed and whose
# lab.json is gone (by the names its directory gives), twice in a row.
. "$(dirname "$0")/lib.sh"
need_netns
before=$(ip netns list | grep -c '^qmig-' || true)
"$QMIG" lab start --dir "$D" --netns --link-rate fast >/dev/null 2>"$D/err" && fail "bad rate accepted"
grep -q "not a rate" "$D/err" || fail "bad rate: $(cat "$D/err")"
"$QMIG" lab start --dir "$D" --accel tcg --link-rate 1gbit >/dev/null 2>"$D/err" && fail "rate without --netns accepted"
"$QMIG" lab start --dir "$D" --accel tcg --netns --qemu /nonexistent/qemu >/dev/null 2>"$D/err" &&
  fail "lab with a missing QEMU started"
[ "$(ip netns list | grep -c '^qmig-' || true)" = "$before" ] || fail "failed start left namespaces: $(ip netns list)"

start_lab --netns --link-rate 500mbit --fill 16
[ -e "/run/netns/$SRC_NS" ] && [ -e "/run/netns/$DST_NS" ] || fail "namespaces not created"
tc -n "$SRC_NS" qdisc show dev "$SRC_IF" | grep -q 'tbf.*rate 500Mbit' || fail "no tbf on $SRC_IF"
tc -n "$DST_NS" qdisc show dev "$DST_IF" | grep -q 'tbf.*rate 500Mbit' || fail "no tbf on $DST_IF"
"$QMIG" lab status --dir "$D" | grep -q "198.18.0.2 in netns $DST_NS" || fail "status without network"
kill -9 "$SRC_PID" "$DST_PID"
for _ in $(seq 50); do alive "$SRC_PID" || alive "$DST_PID" || break; sleep 0.1; done
rm -f "$D/lab.json"
"$QMIG" lab stop --dir "$D" || fail "lab stop after a crash"
ns_gone
"$QMIG" lab stop --dir "$D" || fail "second lab stop"
