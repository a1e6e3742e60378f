#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A QMP man in the middle for the fault matrix (tests/faults/run.sh).

Listens on a unix socket and relays every connection to QEMU's QMP unix
socket, message by message (QMP messages end in a newline).  One rule, armed
until it fires once in the proxy's lifetime: the first message in direction
--dir ("from-qemu" or "to-qemu") whose text matches --match triggers --action:

  signal     create --flag and keep relaying (a moment for the test to act on)
  hold       create --flag; this message and everything after it on this
             connection is swallowed in both directions, as if qmig hung
             there (the test then kills qmig: the QEMU is left as it was)
  malformed  relay the message, then send qmig a line that is not JSON
  truncated  relay the message, then the next message from QEMU only half
             (the stream goes on: qmig's parser never sees that value end)
  oversized  relay the message, then a 17 MiB value (QMP_MAX_MESSAGE is 16)
  refuse     (--dir to-qemu) do not relay this command: answer qmig with a
             GenericError under the command's id, as a QEMU refusing it

Garbage always goes to qmig's side (from QEMU).  Connections after the one
the rule fired on are relayed untouched (qmig's recovery reconnects).  The
proxy runs until killed; --pidfile and --log (every message, cut to 300
bytes, for whoever reads a failure) are optional.
"""
import argparse
import json
import os
import re
import socket
import sys
import threading

MALFORMED = b'{"return": {"status": "active",, "ram": {"total": tru}}}\r\n'
OVERSIZED_MIB = 17


class Framer:
    """Cuts a byte stream into JSON values (QMP puts no newline after qmig's
    commands): tracks strings, escapes and bracket depth, as QEMU's json
    streamer does.  Whitespace after a value goes with it."""

    def __init__(self):
        self.buf = b""
        self.scan = 0
        self.depth = 0
        self.in_str = False
        self.esc = False

    def feed(self, data):
        self.buf += data
        out = []
        while self.scan < len(self.buf):
            c = self.buf[self.scan]
            self.scan += 1
            if self.in_str:
                if self.esc:
                    self.esc = False
                elif c == 0x5C:
                    self.esc = True
                elif c == 0x22:
                    self.in_str = False
                continue
            if c == 0x22:
                self.in_str = True
            elif c in (0x7B, 0x5B):
                self.depth += 1
            elif c in (0x7D, 0x5D):
                self.depth -= 1
                if self.depth <= 0:
                    self.depth = 0
                    while self.scan < len(self.buf) and self.buf[self.scan] in b" \t\r\n":
                        self.scan += 1
                    out.append(self.buf[: self.scan])
                    self.buf = self.buf[self.scan:]
                    self.scan = 0
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--match", default=None)
    ap.add_argument("--dir", default="from-qemu", choices=["from-qemu", "to-qemu"])
    ap.add_argument("--action", default="signal",
                    choices=["signal", "hold", "malformed", "truncated", "oversized", "refuse"])
    ap.add_argument("--flag", default=None)
    ap.add_argument("--log", default=None)
    ap.add_argument("--pidfile", default=None)
    a = ap.parse_args()

    lock = threading.Lock()
    state = {"armed": a.match is not None}
    pat = re.compile(a.match.encode()) if a.match else None
    logf = open(a.log, "ab", buffering=0) if a.log else None

    def log(tag, msg):
        if logf:
            with lock:
                logf.write(tag + b" " + msg[:300].rstrip(b"\r\n") + b"\n")

    def fire():
        """True once: the rule fires on this message."""
        with lock:
            if not state["armed"]:
                return False
            state["armed"] = False
        if a.flag:
            with open(a.flag, "w") as f:
                f.write(a.action + "\n")
        return True

    def relay(src, dst, direction, conn):
        framer = Framer()
        to_client = direction == "from-qemu"
        ok = True
        while ok:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            for msg in framer.feed(data):
                if conn["hold"]:
                    break
                out = msg
                if conn["cut_next"] and to_client:
                    conn["cut_next"] = False
                    out = msg[: max(1, len(msg) // 2)]
                    log(b"INJECT", b"truncated: " + out)
                elif pat and direction == a.dir and pat.search(msg) and fire():
                    log(b"FIRE", msg)
                    if a.action == "hold":
                        conn["hold"] = True
                        break
                    if a.action == "malformed":
                        conn["inject"].append(MALFORMED)
                    elif a.action == "truncated":
                        conn["cut_next"] = True
                    elif a.action == "oversized":
                        conn["inject"].append(b"BIG")
                    elif a.action == "refuse" and not to_client:
                        try:
                            cid = json.loads(msg).get("id")
                        except ValueError:
                            cid = None
                        err = {"error": {"class": "GenericError",
                                         "desc": "Refused by the test's QMP proxy"}}
                        if cid is not None:
                            err["id"] = cid
                        conn["inject"].append(json.dumps(err).encode() + b"\r\n")
                        log(b"REFUSED", msg)
                        try:
                            with conn["send_lock"]:
                                send_injected(conn["client"], conn)
                        except OSError:
                            ok = False
                            break
                        continue
                log(b">" if direction == "to-qemu" else b"<", msg)
                try:
                    with conn["send_lock"]:
                        dst.sendall(out)
                        send_injected(conn["client"], conn)
                except OSError:
                    ok = False
                    break
        # One side closed (or failed): the other sees it at once.
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def send_injected(client, conn):
        while conn["inject"]:
            what = conn["inject"].pop(0)
            if what == b"BIG":
                log(b"INJECT", b"oversized value")
                client.sendall(b'{"return": {"pad": "')
                chunk = b"A" * (1 << 20)
                for _ in range(OVERSIZED_MIB):
                    client.sendall(chunk)
                client.sendall(b'"}}\r\n')
            else:
                log(b"INJECT", what)
                client.sendall(what)

    try:
        os.unlink(a.listen)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(a.listen)
    ls.listen(8)
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    while True:
        client, _ = ls.accept()
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            up.connect(a.upstream)
        except OSError as e:
            log(b"UPSTREAM", str(e).encode())
            client.close()
            continue
        conn = {"hold": False, "cut_next": False, "inject": [],
                "client": client, "send_lock": threading.Lock()}
        log(b"CONNECT", a.upstream.encode())
        for s, d, direction in ((client, up, "to-qemu"), (up, client, "from-qemu")):
            threading.Thread(target=relay, args=(s, d, direction, conn), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
