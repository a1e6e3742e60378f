# SPDX-License-Identifier: LGPL-2.1-or-later
# After switchover the destination announces the guest's MAC: QEMU itself
# does once after an incoming migration (its announce-* parameters, 5 rounds
# by default), and qmig's announce-self adds exactly --announce-rounds more;
# --announce off sets the destination's announce-rounds to 0: no RARP at all.
# The lab's --nic dumps the e1000's frames to DIR/dst.pcap; QEMU sends the
# RARPs itself (the lab guest has no NIC driver).
. "$(dirname "$0")/lib.sh"

# rarps FILE: RARP frames (ethertype 0x8035) from the lab NIC's MAC in a
# little-endian pcap (QEMU's filter-dump writes host order).
rarps() {
  [ -s "$1" ] || { echo 0; return; }
  od -An -v -tx1 "$1" | awk '
    function num(s,   i, v) { v = 0; for (i = 1; i <= length(s); i++)
                                v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
                              return v }
    { for (i = 1; i <= NF; i++) b[n++] = $i }
    END {
      if (b[0] b[1] b[2] b[3] != "d4c3b2a1") { print "bad-magic"; exit }
      c = 0
      for (p = 24; p + 16 <= n; p = f + len) {
        len = num(b[p+11] b[p+10] b[p+9] b[p+8]); f = p + 16
        mac = b[f+6] b[f+7] b[f+8] b[f+9] b[f+10] b[f+11]
        if (len >= 14 && mac == "525400716d01" && b[f+12] b[f+13] == "8035") c++
      }
      print c
    }'
}

# settled_rarps: the count once no frame came for 1.5 s (QEMU's own rounds
# span about 1.3 s).
settled_rarps() {
  local last=-1 n
  for _ in $(seq 40); do
    n=$(rarps "$D/dst.pcap")
    [ "$n" = "$last" ] && { echo "$n"; return; }
    last=$n
    sleep 1.5
  done
  echo "$n"
}

start_lab --fill 16 --nic
migrate --announce-rounds 0 --quiet
expect_migrated
[ "$(jr .announce.sent)" = false ] || fail "announce sent with --announce-rounds 0"
[ "$(jr .announce.mode)" = on ] || fail "announce mode $(jr .announce.mode)"
[ "$(jr .announce.qemu_rounds)" -ge 1 ] || fail "destination announce-rounds $(jr .announce.qemu_rounds)"
qemu_own=$(settled_rarps)
echo "RARPs from the destination without qmig's announce: $qemu_own"
[ "$qemu_own" -ge 1 ] 2>/dev/null || fail "QEMU sent no RARP after migration ($qemu_own)"
[ "$(rarps "$D/src.pcap")" = 0 ] || fail "the source announced"
"$QMIG" lab stop --dir "$D" >/dev/null

start_lab --fill 16 --nic
migrate --announce off --quiet
expect_migrated
[ "$(jr .announce.mode)" = off ] || fail "announce mode $(jr .announce.mode)"
[ "$(jr .announce.qemu_rounds)" = 0 ] || fail "destination announce-rounds $(jr .announce.qemu_rounds)"
[ "$(jr .announce.sent)" = false ] || fail "announce-self sent with announce off"
n=$(settled_rarps)
echo "RARPs from the destination with --announce off: $n"
[ "$n" = 0 ] || fail "$n RARPs with announce off"
"$QMIG" lab stop --dir "$D" >/dev/null

start_lab --fill 16 --nic
migrate --announce-rounds 3 --quiet
expect_migrated
[ "$(jr .announce.sent)" = true ] || fail "announce not sent: $(jr .warnings)"
[ "$(jr .announce.rounds)" = 3 ] || fail "announce rounds $(jr .announce.rounds)"
n=$(settled_rarps)
echo "RARPs from the destination with --announce-rounds 3: $n"
[ "$n" -eq $((qemu_own + 3)) ] || fail "$n RARPs, expected $qemu_own from QEMU + 3 from qmig"
expect_guest_on dst
