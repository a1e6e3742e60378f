#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pcap-frames.py FILE MAC ETHERTYPE: how many Ethernet frames in the pcap
FILE (as QEMU's filter-dump writes it, either byte order) have source MAC
(aa:bb:cc:dd:ee:ff) and ETHERTYPE (0x8035: RARP, QEMU's announcement).
pcap-frames.py --first FILE MAC: whether the first frame other than a RARP
was sent by MAC ("from") or to it ("to"); "none" without one.
Prints the answer; 0 / none for an absent or empty file; exit 2 on a file
that is not a pcap."""
import os
import struct
import sys

RARP = 0x8035


def frames(path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\xd4\xc3\xb2\xa1":
        e = "<"
    elif data[:4] == b"\xa1\xb2\xc3\xd4":
        e = ">"
    else:
        raise ValueError(f"{path}: not a pcap file")
    p = 24
    while p + 16 <= len(data):
        incl = struct.unpack_from(e + "I", data, p + 8)[0]
        frame = data[p + 16:p + 16 + incl]
        p += 16 + incl
        if len(frame) >= 14:
            yield frame[6:12], struct.unpack(">H", frame[12:14])[0]


def mac_bytes(s):
    return bytes.fromhex(s.replace(":", ""))


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "--first":
            mac = mac_bytes(argv[3])
            for src, etype in frames(argv[2]):
                if etype != RARP:
                    print("from" if src == mac else "to")
                    return 0
            print("none")
            return 0
        if len(argv) == 4:
            mac, etype = mac_bytes(argv[2]), int(argv[3], 0)
            print(sum(1 for s, t in frames(argv[1]) if s == mac and t == etype))
            return 0
    except (ValueError, OSError) as e:
        print(e, file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 2


sys.exit(main(sys.argv))
