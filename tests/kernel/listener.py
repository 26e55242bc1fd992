"""Tiny identity server for the kernel lab (tests/kernel/lab.py).

Run inside a network namespace::

    ip netns exec NS python3 listener.py --name web --tcp 80,443 --udp 53

It listens on every given port, on all IPv4 and IPv6 addresses, and answers each TCP
connection and each UDP datagram with ``"<name>:<port>\\n"``, where ``<port>`` is the port the
answering socket listens on (so a DNAT port rewrite is visible to the prober).

UDP replies are sent *from the address the datagram was sent to* (IP_PKTINFO / IPV6_PKTINFO),
so a prober talking to a secondary address (a bridge gateway, a DNAT'd address) recognises the
answer on its connected socket.

Prints ``READY`` on stdout once every socket is bound, and exits when stdin reaches EOF (the lab
closes it; if the lab process dies the pipe closes too) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import errno
import selectors
import signal
import socket
import struct
import sys

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)


def _ports(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p.strip()] if text else []


def _open(family: int, kind: int, port: int) -> socket.socket | None:
    try:
        s = socket.socket(family, kind)
    except OSError:
        return None  # e.g. IPv6 disabled in this namespace
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(("::", port))
        else:
            s.bind(("0.0.0.0", port))
        if kind == socket.SOCK_STREAM:
            s.listen(256)
        elif family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        else:
            s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.setblocking(False)
        return s
    except OSError as e:
        s.close()
        if family == socket.AF_INET6 and e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            return None
        raise


def _answer_udp(s: socket.socket, ident: bytes) -> None:
    try:
        _data, anc, _flags, peer = s.recvmsg(2048, socket.CMSG_SPACE(64))
    except (BlockingIOError, InterruptedError):
        return
    except OSError:
        return  # e.g. a queued ICMP error; nothing to answer
    cmsgs = []
    for level, ctype, cdata in anc:
        if level == socket.IPPROTO_IP and ctype == IP_PKTINFO and len(cdata) >= 12:
            _ifindex, _spec, addr = struct.unpack("i4s4s", cdata[:12])
            cmsgs.append((socket.IPPROTO_IP, IP_PKTINFO, struct.pack("i4s4s", 0, addr, b"\0" * 4)))
        elif level == socket.IPPROTO_IPV6 and ctype == IPV6_PKTINFO and len(cdata) >= 20:
            addr, _ifindex = struct.unpack("16si", cdata[:20])
            cmsgs.append((socket.IPPROTO_IPV6, IPV6_PKTINFO, struct.pack("16si", addr, 0)))
    try:
        s.sendmsg([ident], cmsgs, 0, peer)
    except OSError:
        pass


def _answer_tcp(s: socket.socket, ident: bytes) -> None:
    try:
        conn, _peer = s.accept()
    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
        return
    try:
        conn.settimeout(1.0)
        conn.sendall(ident)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True, help="identity to answer with, e.g. 'host' or a container name")
    ap.add_argument("--tcp", default="", help="comma-separated TCP ports")
    ap.add_argument("--udp", default="", help="comma-separated UDP ports")
    args = ap.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sel = selectors.DefaultSelector()
    socks: list[socket.socket] = []
    for kind, ports in ((socket.SOCK_STREAM, _ports(args.tcp)), (socket.SOCK_DGRAM, _ports(args.udp))):
        for port in ports:
            ident = f"{args.name}:{port}\n".encode()
            opened = [s for fam in (socket.AF_INET, socket.AF_INET6) if (s := _open(fam, kind, port))]
            if not opened:
                print(f"cannot listen on {port}", file=sys.stderr)
                return 1
            for s in opened:
                socks.append(s)
                handler = _answer_tcp if kind == socket.SOCK_STREAM else _answer_udp
                sel.register(s, selectors.EVENT_READ, (handler, ident))
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    print("READY", flush=True)
    while True:
        for key, _ in sel.select():
            if key.data is None:  # stdin: EOF means the lab is gone
                if not sys.stdin.readline():
                    return 0
                continue
            handler, ident = key.data
            handler(key.fileobj, ident)


if __name__ == "__main__":
    sys.exit(main())
