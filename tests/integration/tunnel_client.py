#!/usr/bin/env python3
"""A stranger's QMP client through a qmig agent: opens a session and a qmp
channel with the documented wire protocol (docs/TUNNEL.md), then sends each
line of stdin as a QMP command and prints "ID REPLY" for every reply that
carries an id.  usage: tunnel_client.py HOST:PORT < commands"""
import json
import os
import socket
import struct
import sys

KIND_CONTROL, KIND_QMP = 1, 2


def open_channel(addr, kind, session):
    """The tunnel handshake, the only part that knows it: TCP, the 32-byte
    hello, the reply.  Returns (socket, reply text); raises on refusal."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"QMTH" + struct.pack(">BBH", 1, kind, 0) + session + bytes(8))
    hdr = recv_exact(s, 8)
    if hdr[:4] != b"QMTR":
        raise RuntimeError("bad reply magic %r" % hdr[:4])
    status, n = hdr[4], struct.unpack(">H", hdr[6:8])[0]
    msg = recv_exact(s, n).decode()
    if status != 0:
        raise RuntimeError("refused (status %d): %s" % (status, msg))
    return s, msg


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise RuntimeError("connection closed")
        b += c
    return b


def main():
    session = os.urandom(16)
    control, hello = open_channel(sys.argv[1], KIND_CONTROL, session)
    print("session:", hello, file=sys.stderr)
    qmp, _ = open_channel(sys.argv[1], KIND_QMP, session)
    f = qmp.makefile("rb")
    greeting = json.loads(f.readline())
    if "QMP" not in greeting:
        raise RuntimeError("no QMP greeting: %r" % greeting)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        qmp.sendall(line.encode())
        while True:  # skip events until this command's reply
            r = json.loads(f.readline())
            if r.get("id") == cmd.get("id"):
                print(cmd.get("id"), json.dumps(r))
                break
    qmp.close()
    control.close()


if __name__ == "__main__":
    main()
