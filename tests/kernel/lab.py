"""The kernel lab: hold ipt-lint to what the real kernel does with packets.

A :class:`Lab` builds a small world out of network namespaces::

        outside (eth0) ──veth── (eth0) host (bridges) ──veth── container namespaces
      [outside2 (eth0) ──veth── (eth1) host]            (optional second uplink)

loads an ``iptables-save`` dump into the *host* namespace with the real ``iptables-restore``, and
sends real TCP/UDP probes from outside (or from a container, or from the host itself) to see where
they land: the host, a container (and on which port), dropped, or rejected.

Everything happens inside namespaces the lab creates and deletes itself; the root namespace's
interfaces and firewall are never touched. Namespace names carry the creating process id
(``<prefix>-<pid>-<n>-<role>``) so that a later run can remove namespaces left behind by a process
that died, without disturbing labs of processes that are still alive.

Usage::

    topo = Topology(bridges={"docker0": "172.17.0.1/16"},
                    containers=[Container("web", "docker0", "172.17.0.2", [("tcp", 80)])],
                    host_listen=[("tcp", 22)])
    with Lab(topo) as lab:
        lab.load(dump_text)
        assert lab.probe("tcp", "198.51.100.1", 8080) == Landing("delivered", "web", 80)

Probes run in threads that ``setns()`` into the source namespace, so no process is started per
probe; :meth:`Lab.probe_many` runs a batch in parallel (a dropped probe costs one timeout, a whole
batch costs about one timeout).

Kernel facts the lab relies on (and the semantic engine must reproduce), see ``test_lab.py``:

* ``net.bridge.bridge-nf-call-iptables`` is 1 in every new namespace on these kernels (br_netfilter is
  built in), so bridged container-to-container traffic crosses filter FORWARD with ``-i BR -o BR``.
* ``-m addrtype --dst-type LOCAL`` is true for every address of the host namespace: the uplink
  address, every bridge gateway address and 127.0.0.0/8, so published ports answer on all of them.
* nat PREROUTING runs before the routing decision: a packet to 127.0.0.1 arriving on eth0 is a
  martian only if nothing DNATs it first (Docker ≤27 loopback publishes are reachable from the
  link; the 28.x raw ``-d 127.0.0.1/32 ! -i lo`` DROP closes that).
* ICMP errors are rate limited per peer by default (``icmp_ratelimit``); the lab sets the limits to
  0 in its namespaces so a burst of REJECTs is not mistaken for drops.
* With ``route_localnet=1`` (kube-proxy sets it) 127.0.0.1 from the wire reaches host services
  unless a rule such as kubelet's KUBE-FIREWALL drops it (``Topology.host_sysctls``).
* No docker-proxy runs in the lab: traffic from a container to a published port on a host address
  hits ``-A DOCKER -i BR -j RETURN`` and then the host itself (usually "rejected"); on a real host
  with userland-proxy on, docker-proxy would accept it and relay it.

Other helpers: :func:`restore_test` (``iptables-restore --test`` in a scratch namespace),
:func:`cleanup_stale`, :func:`in_netns` / :func:`in_netns_many`; on a running lab ``lab.ns`` (role ->
namespace name), ``lab.save()``, ``lab.exec(role, *cmd)`` and ``lab.br_netfilter``.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import itertools
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

HERE = Path(__file__).resolve().parent
LISTENER = HERE / "listener.py"

DEFAULT_V4 = ("198.51.100.1/24", "198.51.100.2/24")
DEFAULT_V6 = ("2001:db8::1/64", "2001:db8::2/64")


# --------------------------------------------------------------------------------------------
# data


@dataclass
class Container:
    name: str
    bridge: str
    address: str  # "172.17.0.2" or "172.17.0.2/16"; without a prefix the bridge's prefix is used
    listen: list[tuple[str, int]] = field(default_factory=list)  # ("tcp", 80), ("udp", 53)


@dataclass
class Topology:
    bridges: dict[str, str]  # bridge name -> gateway address with prefix, e.g. {"docker0": "172.17.0.1/16"}
    containers: list[Container]
    host_listen: Sequence[tuple[str, int]] = ()  # services on the host itself (0.0.0.0 and ::)
    uplink: str = "eth0"  # the host's interface facing "outside"
    host_address: str = DEFAULT_V4[0]
    outside_address: str = DEFAULT_V4[1]
    outside_extra: Sequence[str] = ()  # extra source addresses on the outside host, e.g. "198.51.100.77/24"
    second_uplink: tuple[str, str, str] | None = None  # (host iface, host addr, other-host addr), e.g. ("eth1", "192.0.2.1/24", "192.0.2.2/24")
    family: int = 4  # 4 or 6: which iptables-restore load() uses by default
    host_sysctls: dict[str, str] = field(default_factory=dict)  # extra sysctls for the host namespace, e.g. {"net.ipv4.conf.all.route_localnet": "1"}

    def __post_init__(self) -> None:
        if self.family not in (4, 6):
            raise ValueError(f"family must be 4 or 6, not {self.family!r}")
        if self.family == 6:
            # Let Topology(family=6, ...) work without restating the uplink addresses.
            if self.host_address == DEFAULT_V4[0]:
                self.host_address = DEFAULT_V6[0]
            if self.outside_address == DEFAULT_V4[1]:
                self.outside_address = DEFAULT_V6[1]
        names = [c.name for c in self.containers]
        if len(set(names)) != len(names) or "host" in names:
            raise ValueError("container names must be unique and not 'host'")
        for c in self.containers:
            if c.bridge not in self.bridges:
                raise ValueError(f"container {c.name!r} is on unknown bridge {c.bridge!r}")
        for name in list(self.bridges) + [self.uplink] + ([self.second_uplink[0]] if self.second_uplink else []):
            if not 1 <= len(name) <= 15 or "/" in name or " " in name:
                raise ValueError(f"bad interface name {name!r} (1-15 characters)")


@dataclass
class Landing:
    outcome: str  # "delivered" | "dropped" (timeout) | "rejected" (RST / ICMP unreachable)
    where: str | None = None  # "host" or the container name that answered
    port: int | None = None  # the port the answering listener listens on
    detail: str | None = field(default=None, compare=False)  # e.g. "ECONNREFUSED", "timeout", raw reply

    def __str__(self) -> str:
        if self.outcome == "delivered":
            return f"delivered to {self.where}:{self.port}"
        return f"{self.outcome} ({self.detail})" if self.detail else self.outcome


class LabError(RuntimeError):
    """Setting up the lab, or loading a dump into it, failed."""


# --------------------------------------------------------------------------------------------
# helpers

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_NETNS_DIR = Path("/run/netns")
_counter = itertools.count()


def _run(cmd: Sequence[str], *, input: str | None = None, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), input=input, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise LabError(f"`{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _iface(addr: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    return ipaddress.ip_interface(addr)


def _bare(addr: str) -> str:
    return str(ipaddress.ip_interface(addr).ip)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_stale(prefix: str = "iptlint") -> list[str]:
    """Delete ``<prefix>-<pid>-…`` namespaces whose creating process is gone. Returns their names.

    Only namespaces named by this module's scheme are considered, and only listener processes this
    module started are killed inside them."""
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)-\d+-\S+$")
    removed = []
    proc = _run(["ip", "netns", "list"], check=False)
    for line in proc.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = pattern.match(name)
        if not m or _pid_alive(int(m.group(1))):
            continue
        pids = _run(["ip", "netns", "pids", name], check=False).stdout.split()
        for pid in pids:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if LISTENER.name.encode() in cmdline:
                try:
                    os.kill(int(pid), 9)
                except OSError:
                    pass
        _run(["ip", "netns", "del", name], check=False)
        removed.append(name)
    return removed


def in_netns(ns: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` in a fresh thread that has joined network namespace ``ns``; return its result.

    Sockets created by ``fn`` belong to ``ns``. The thread ends afterwards, so nothing else ever
    runs in that namespace by accident."""
    return in_netns_many([(ns, fn)])[0]


def in_netns_many(jobs: Iterable[tuple[str, Callable[[], Any]]]) -> list[Any]:
    """Run several ``(ns, fn)`` jobs in parallel, each in its own namespace-joined thread."""
    jobs = list(jobs)
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException | None] = [None] * len(jobs)

    def worker(i: int, ns: str, fn: Callable[[], Any]) -> None:
        try:
            fd = os.open(_NETNS_DIR / ns, os.O_RDONLY)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({ns}): {os.strerror(err)}")
            finally:
                os.close(fd)
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            errors[i] = e

    threads = [threading.Thread(target=worker, args=(i, ns, fn), daemon=True) for i, (ns, fn) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        if e is not None:
            raise e
    return results


def restore_test(dump_text: str, family: int = 4, prefix: str = "iptlint") -> subprocess.CompletedProcess:
    """``iptables-restore --test`` (or ip6tables-) of ``dump_text`` in a scratch namespace.

    Returns the CompletedProcess (returncode, stderr); the namespace is always deleted."""
    cleanup_stale(prefix)
    ns = f"{prefix}-{os.getpid()}-{next(_counter)}-restoretest"
    _run(["ip", "netns", "add", ns])
    try:
        tool = "ip6tables-restore" if family == 6 else "iptables-restore"
        return _run(["ip", "netns", "exec", ns, tool, "--test"], input=dump_text, check=False)
    finally:
        _run(["ip", "netns", "del", ns], check=False)


# --------------------------------------------------------------------------------------------
# probes (run inside a namespace-joined thread)

_REJECT_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM, errno.ECONNRESET}


def _parse_identity(data: bytes) -> tuple[str | None, int | None]:
    text = data.decode(errors="replace").strip()
    where, sep, port = text.rpartition(":")
    if sep and port.isdigit():
        return where, int(port)
    return None, None


def _probe(proto: str, src: str, sport: int, dst: str, dport: int, timeout: float) -> Landing:
    fam = socket.AF_INET6 if ipaddress.ip_address(dst).version == 6 else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, kind)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, sport))
        deadline = time.monotonic() + timeout
        s.settimeout(timeout)
        try:
            s.connect((dst, dport))
            if kind == socket.SOCK_DGRAM:
                s.send(b"probe\n")
        except socket.timeout:
            return Landing("dropped", detail="timeout")
        except OSError as e:
            if e.errno in _REJECT_ERRNOS:
                return Landing("rejected", detail=errno.errorcode.get(e.errno, str(e.errno)))
            raise
        if kind == socket.SOCK_DGRAM:
            try:
                s.settimeout(max(0.05, deadline - time.monotonic()))
                data = s.recv(256)
            except socket.timeout:
                return Landing("dropped", detail="timeout")
            except OSError as e:  # an ICMP error for the datagram (connected UDP socket)
                if e.errno in _REJECT_ERRNOS:
                    return Landing("rejected", detail=errno.errorcode.get(e.errno, str(e.errno)))
                raise
        else:
            # The handshake completed, so the SYN was delivered; read the listener's identity.
            data = b""
            try:
                while chunk := s.recv(256):
                    data += chunk
            except OSError as e:  # includes socket.timeout: a listener that says nothing
                if not data:
                    return Landing("delivered", detail=f"connected, then {type(e).__name__}")
        where, port = _parse_identity(data)
        return Landing("delivered", where, port, detail=data.decode(errors="replace").strip() or None)
    finally:
        s.close()


# --------------------------------------------------------------------------------------------
# the lab


class Lab:
    """Namespaces + veths + bridges + listeners for one :class:`Topology`. Use as a context manager."""

    def __init__(self, topology: Topology, prefix: str = "iptlint"):
        self.topology = topology
        self.prefix = prefix
        self.id = f"{prefix}-{os.getpid()}-{next(_counter)}"
        self.ns: dict[str, str] = {}  # role -> namespace name; roles: host, outside, outside2, c:<name>
        self._created: list[str] = []
        self._listeners: list[tuple[subprocess.Popen, Any]] = []
        self._sources: dict[str, tuple[str, list[str]]] = {}  # via -> (namespace, addresses)
        self._sport = itertools.count(20000)  # fresh namespaces: explicit, never-reused source ports
        self._sport_lock = threading.Lock()
        self._entered = False
        self.br_netfilter = False  # does bridged traffic traverse iptables in this lab? (set on enter)

    # ---- context manager ----------------------------------------------------------------

    def __enter__(self) -> "Lab":
        cleanup_stale(self.prefix)
        try:
            self._build()
        except BaseException:
            self._teardown()
            raise
        self._entered = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._teardown()

    # ---- building -------------------------------------------------------------------------

    def _add_ns(self, role: str, short: str) -> str:
        name = f"{self.id}-{short}"
        _run(["ip", "netns", "add", name])
        self._created.append(name)
        self.ns[role] = name
        return name

    def _ip(self, ns: str, *args: str) -> None:
        _run(["ip", "-n", ns, *args])

    def _addr(self, ns: str, dev: str, addr: str) -> None:
        iface = _iface(addr)
        extra = ["nodad"] if iface.version == 6 else []
        self._ip(ns, "addr", "add", str(iface), "dev", dev, *extra)

    def _sysctl(self, ns: str, settings: dict[str, str]) -> None:
        if not settings:
            return
        args = [f"{k}={v}" for k, v in settings.items()]
        _run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", *args])

    def _build(self) -> None:
        t = self.topology
        host = self._add_ns("host", "host")
        out = self._add_ns("outside", "out")
        out2 = self._add_ns("outside2", "out2") if t.second_uplink else None
        cns: dict[str, str] = {}
        for i, c in enumerate(t.containers):
            cns[c.name] = self._add_ns(f"c:{c.name}", f"c{i}")

        common = {
            "net.ipv6.conf.all.accept_dad": "0",
            "net.ipv6.conf.default.accept_dad": "0",
            "net.ipv6.conf.all.accept_ra": "0",
            "net.ipv6.conf.default.accept_ra": "0",
            "net.ipv4.icmp_ratelimit": "0",
            "net.ipv6.icmp.ratelimit": "0",
        }
        # outside hosts: lo stays down (no local 127/8 routes), route_localnet lets them send to and
        # hear from 127.0.0.1 on the wire: that is how a LAN neighbour attacks loopback publishes.
        outside_sysctls = dict(common, **{
            "net.ipv4.conf.all.route_localnet": "1",
            "net.ipv4.conf.default.route_localnet": "1",
        })
        host_sysctls = dict(common, **{
            "net.ipv4.ip_forward": "1",
            "net.ipv6.conf.all.forwarding": "1",
            "net.ipv6.conf.default.forwarding": "1",
        })
        host_sysctls.update(t.host_sysctls)
        self._sysctl(host, host_sysctls)
        for ns in filter(None, (out, out2)):
            self._sysctl(ns, outside_sysctls)
        for ns in cns.values():
            self._sysctl(ns, common)
        for ns in [host, *cns.values()]:
            self._ip(ns, "link", "set", "lo", "up")

        # uplinks
        uplinks = [(t.uplink, t.host_address, out, [t.outside_address, *t.outside_extra])]
        if t.second_uplink:
            iface, haddr, oaddr = t.second_uplink
            uplinks.append((iface, haddr, out2, [oaddr]))
        for iface, haddr, ons, oaddrs in uplinks:
            self._ip(host, "link", "add", iface, "type", "veth", "peer", "name", "eth0", "netns", ons)
            self._addr(host, iface, haddr)
            for a in oaddrs:
                self._addr(ons, "eth0", a)
            self._ip(host, "link", "set", iface, "up")
            self._ip(ons, "link", "set", "eth0", "up")
            hgw = _iface(haddr)
            self._ip(ons, "-%d" % hgw.version, "route", "add", "default", "via", str(hgw.ip))
            if hgw.version == 4:
                self._ip(ons, "route", "add", "127.0.0.0/8", "via", str(hgw.ip), "dev", "eth0")
            # extra source addresses outside the link's subnet need a route back on the host
            for a in oaddrs[1:]:
                ai = _iface(a)
                if ai.version == hgw.version and ai.ip not in hgw.network:
                    self._ip(host, "route", "add", str(ai.network), "via", str(_iface(oaddrs[0]).ip), "dev", iface)
            self._sources[iface] = (ons, [_bare(a) for a in oaddrs])

        # bridges and containers
        for br, gw in t.bridges.items():
            self._ip(host, "link", "add", br, "type", "bridge")
            self._addr(host, br, gw)
            self._ip(host, "link", "set", br, "up")
        for i, c in enumerate(t.containers):
            ns = cns[c.name]
            gw = _iface(t.bridges[c.bridge])
            addr = c.address if "/" in c.address else f"{c.address}/{gw.network.prefixlen}"
            peer = f"vc{i}"
            self._ip(host, "link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self._ip(host, "link", "set", peer, "master", c.bridge, "up")
            self._addr(ns, "eth0", addr)
            self._ip(ns, "link", "set", "eth0", "up")
            self._ip(ns, "-%d" % gw.version, "route", "add", "default", "via", str(gw.ip))
            self._sources[c.name] = (ns, [_bare(addr)])
        host_addrs = [_bare(t.host_address)] + ([_bare(t.second_uplink[1])] if t.second_uplink else [])
        host_addrs += [_bare(gw) for gw in t.bridges.values()]
        self._sources["host"] = (host, host_addrs)

        # br_netfilter: bridged (container-to-container) traffic through iptables, as on a Docker host.
        # Never modprobe (that would change the root namespace too); report what the kernel offers.
        for key in ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"):
            _run(["ip", "netns", "exec", host, "sysctl", "-q", "-w", f"{key}=1"], check=False)
        probe = _run(["ip", "netns", "exec", host, "sysctl", "-n", "net.bridge.bridge-nf-call-iptables"], check=False)
        self.br_netfilter = probe.stdout.strip() == "1"

        self._wait_for_carrier()

        # listeners (started together, then awaited)
        pending = []
        if t.host_listen:
            pending.append(self._start_listener(host, "host", t.host_listen))
        for c in t.containers:
            if c.listen:
                pending.append(self._start_listener(cns[c.name], c.name, c.listen))
        deadline = time.monotonic() + 10
        for proc, errfile, name in pending:
            self._await_ready(proc, errfile, name, deadline)

    def _wait_for_carrier(self, limit: float = 5.0) -> None:
        """Wait until every veth (and every bridge with a port) has carrier.

        The kernel turns a new link's carrier on asynchronously (linkwatch, up to ~1 s later);
        until then the device still has the noop qdisc and silently drops what is sent through it,
        which would make the first probes look "dropped"."""
        deadline = time.monotonic() + limit
        pending = list(self._created)
        while pending:
            still = []
            for ns in pending:
                links = json.loads(_run(["ip", "-d", "-n", ns, "-j", "link", "show"]).stdout or "[]")
                masters = {l.get("master") for l in links}
                for l in links:
                    kind = l.get("linkinfo", {}).get("info_kind")
                    flags = l.get("flags", [])
                    must_be_up = kind == "veth" or (kind == "bridge" and l.get("ifname") in masters)
                    if must_be_up and ("NO-CARRIER" in flags or "LOWER_UP" not in flags):
                        still.append(ns)
                        break
            pending = still
            if pending:
                if time.monotonic() > deadline:
                    raise LabError(f"links in {pending} did not come up within {limit} s")
                time.sleep(0.02)

    def _start_listener(self, ns: str, name: str, listen: Iterable[tuple[str, int]]):
        tcp = sorted({p for proto, p in listen if proto == "tcp"})
        udp = sorted({p for proto, p in listen if proto == "udp"})
        bad = {proto for proto, _ in listen} - {"tcp", "udp"}
        if bad:
            raise LabError(f"listener {name}: unsupported protocol(s) {sorted(bad)}")
        errfile = tempfile.TemporaryFile()
        cmd = ["ip", "netns", "exec", ns, sys.executable, str(LISTENER), "--name", name,
               "--tcp", ",".join(map(str, tcp)), "--udp", ",".join(map(str, udp))]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errfile)
        self._listeners.append((proc, errfile))
        return proc, errfile, name

    @staticmethod
    def _await_ready(proc: subprocess.Popen, errfile: Any, name: str, deadline: float) -> None:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = proc.stdout.readline() if ready else b""
        if line.strip() != b"READY":
            errfile.seek(0)
            raise LabError(f"listener {name!r} did not start: {errfile.read().decode(errors='replace').strip()}")

    def _teardown(self) -> None:
        for proc, errfile in self._listeners:
            try:
                if proc.stdin:
                    proc.stdin.close()
            except OSError:
                pass
            try:
                proc.terminate()
                proc.wait(timeout=2)
            except (subprocess.TimeoutExpired, OSError):
                try:
                    proc.kill()
                    proc.wait(timeout=2)
                except (subprocess.TimeoutExpired, OSError):
                    pass
            if proc.stdout:
                proc.stdout.close()
            errfile.close()
        self._listeners.clear()
        for ns in reversed(self._created):
            _run(["ip", "netns", "del", ns], check=False)
        self._created.clear()
        self._entered = False

    # ---- firewall -------------------------------------------------------------------------

    _RESET = {
        "raw": ("PREROUTING", "OUTPUT"),
        "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
        "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
        "filter": ("INPUT", "FORWARD", "OUTPUT"),
        "security": ("INPUT", "FORWARD", "OUTPUT"),
    }

    def load(self, dump_text: str, family: int | None = None) -> None:
        """Replace the host namespace's ruleset of one family by ``dump_text`` (iptables-restore).

        Tables the dump does not mention are reset to empty ACCEPT tables first, so nothing from an
        earlier load survives. Raises :class:`LabError` with iptables-restore's stderr on failure."""
        fam = family or self.topology.family
        tool = "ip6tables-restore" if fam == 6 else "iptables-restore"
        present = set(re.findall(r"^\*(\S+)", dump_text, re.M))
        reset = []
        for table, chains in self._RESET.items():
            if table not in present:
                reset += [f"*{table}", *(f":{c} ACCEPT [0:0]" for c in chains), "COMMIT"]
        text = "\n".join(reset) + "\n" + dump_text
        if not text.endswith("\n"):
            text += "\n"
        proc = _run(["ip", "netns", "exec", self.ns["host"], tool], input=text, check=False)
        if proc.returncode != 0:
            raise LabError(f"{tool} failed ({proc.returncode}): {proc.stderr.strip()}")

    def save(self, family: int | None = None) -> str:
        """``iptables-save`` (or ip6tables-save) of the host namespace."""
        fam = family or self.topology.family
        tool = "ip6tables-save" if fam == 6 else "iptables-save"
        return _run(["ip", "netns", "exec", self.ns["host"], tool]).stdout

    def exec(self, role: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command in one of the lab's namespaces (role: host, outside, outside2, c:<name>)."""
        return _run(["ip", "netns", "exec", self.ns[role], *cmd], check=check)

    # ---- probing --------------------------------------------------------------------------

    def _next_sport(self) -> int:
        with self._sport_lock:
            port = next(self._sport)
            if port > 60999:
                self._sport = itertools.count(20000)
                port = next(self._sport)
            return port

    def _job(self, proto: str, dst: str, dport: int, src: str | None = None, via: str = "eth0",
             timeout: float = 1.0) -> tuple[str, Callable[[], Landing]]:
        if not self._entered:
            raise LabError("the lab is not running (use it as a context manager)")
        if proto not in ("tcp", "udp"):
            raise ValueError(f"proto must be 'tcp' or 'udp', not {proto!r}")
        if via not in self._sources:
            raise ValueError(f"unknown probe origin {via!r}; choose one of {sorted(self._sources)}")
        ns, addrs = self._sources[via]
        dst = _bare(dst)
        dver = ipaddress.ip_address(dst).version
        if src is None:
            same = [a for a in addrs if ipaddress.ip_address(a).version == dver]
            if not same:
                raise ValueError(f"{via} has no IPv{dver} address to probe {dst} from")
            src = same[0]
        else:
            src = _bare(src)
            if src not in addrs:
                raise ValueError(f"source {src} is not an address of {via} ({', '.join(addrs)})")
        sport = self._next_sport()
        return ns, lambda: _probe(proto, src, sport, dst, int(dport), timeout)

    def probe(self, proto: str, dst: str, dport: int, src: str | None = None, via: str = "eth0",
              timeout: float = 1.0) -> Landing:
        """Send one TCP connect / UDP datagram and report where it landed.

        ``via`` names where the probe starts: the uplink interface name (``"eth0"``, the outside
        host), the second uplink's interface name (the second outside host), a container name, or
        ``"host"``. ``src`` must be one of that origin's addresses (default: its first address of the
        destination's family)."""
        ns, fn = self._job(proto, dst, dport, src, via, timeout)
        return in_netns(ns, fn)

    def probe_many(self, probes: Iterable[dict | tuple]) -> list[Landing]:
        """Run many probes in parallel; each is a dict of :meth:`probe` keyword arguments or a tuple of
        its positional arguments. Results come back in the same order."""
        jobs = [self._job(**p) if isinstance(p, dict) else self._job(*p) for p in probes]
        return in_netns_many(jobs)
