"""Support for ``test_scenarios.py``: hold ``ipt-lint trace`` to what the kernel does.

A :class:`Scenario` is one dump (``tests/kernel/scenarios/*.rules``), the lab :class:`Topology` it
depicts and a list of :class:`Probe` s. The test loads the dump into the lab, sends every probe as a
real packet, then asks ``ipt-lint trace`` about the same packet and compares:

=====================  ==================================================================
kernel                 trace must say
=====================  ==================================================================
delivered to host:P    verdict ACCEPT, delivery "local", final_destination = probed address:P
delivered to C:P       verdict ACCEPT, delivery "forward", final_destination = C's address:P,
                       out_interface = C's bridge
dropped                verdict DROP
rejected               verdict REJECT
=====================  ==================================================================

and ``certain`` must be true, except for probes marked ``random`` (kube-proxy's ``-m statistic``
endpoint choice): there an uncertain answer is accepted and only a certain one is compared (its
destination may be any of the endpoints the probe lists, whichever the kernel picked).

Each probe also states what the kernel is expected to do (``expect``): that keeps the scenario honest
(the dump and the topology really depict what the README says) and is reported separately from the
engine's disagreements.

The trace is ``ipt-lint trace … --format json`` (see :func:`trace_mode`): through the main CLI when
``python -m ipt_lint trace`` exists, else through the click command object
``ipt_lint.cli.trace_cmd.trace``; ``IPT_LINT_TRACE_MODE=subprocess|cli|command`` forces one.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .lab import Landing, Topology

REPO = Path(__file__).resolve().parents[2]
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

TRACE_SPORT = 40000
PROBE_TIMEOUT = 1.5  # seconds a dropped probe waits; all probes of a scenario run in parallel


# --------------------------------------------------------------------------------------------
# expectations


@dataclass(frozen=True)
class Expect:
    outcome: str  # delivered | dropped | rejected
    where: str | None = None  # "host" or a container name
    port: int | None = None

    def matches(self, landing: Landing) -> bool:
        return (landing.outcome, landing.where, landing.port) == (self.outcome, self.where, self.port)

    def __str__(self) -> str:
        return f"delivered to {self.where}:{self.port}" if self.outcome == "delivered" else self.outcome


def to(where: str, port: int) -> Expect:
    """Delivered to a container (by name) or to ``"host"``, at ``port``."""
    return Expect("delivered", where, port)


def host(port: int) -> Expect:
    return Expect("delivered", "host", port)


DROPPED = Expect("dropped")
REJECTED = Expect("rejected")


@dataclass(frozen=True)
class Probe:
    proto: str
    dst: str
    dport: int
    expect: Expect | tuple[Expect, ...]  # a tuple: any of these (random endpoint choice)
    via: str = "eth0"  # uplink interface name, second uplink's name, or a container name
    src: str | None = None  # default: the origin's first address of the destination's family
    why: str = ""

    @property
    def random(self) -> bool:
        return isinstance(self.expect, tuple)

    @property
    def expectations(self) -> tuple[Expect, ...]:
        return self.expect if isinstance(self.expect, tuple) else (self.expect,)

    def describe(self) -> str:
        src = f" src {self.src}" if self.src else ""
        why = f"  # {self.why}" if self.why else ""
        return f"{self.proto} {_hostport(self.dst, self.dport)} via {self.via}{src}{why}"


@dataclass
class Scenario:
    id: str
    dump: str  # file name under tests/kernel/scenarios/
    topology: Topology
    probes: list[Probe]
    local: Sequence[str] = ()  # extra --local addresses (say why in the table)
    routes: Sequence[str] = ()  # --route CIDR=IFACE, only where the dump cannot tell (say why)
    needs_br_netfilter: bool = False  # container-to-container probes on one bridge
    hairpin: bool = False  # bridge ports in hairpin mode (CNI bridge plugin hairpinMode: true)
    notes: str = ""

    @property
    def path(self) -> Path:
        return SCENARIO_DIR / self.dump

    @property
    def text(self) -> str:
        return self.path.read_text()


# --------------------------------------------------------------------------------------------
# topology facts the comparison needs


def _bare(addr: str) -> str:
    return str(ipaddress.ip_interface(addr).ip)


def _hostport(addr: str, port: int | str) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def container_address(topo: Topology, name: str) -> str:
    for c in topo.containers:
        if c.name == name:
            return _bare(c.address)
    raise KeyError(name)


def container_bridge(topo: Topology, name: str) -> str:
    for c in topo.containers:
        if c.name == name:
            return c.bridge
    raise KeyError(name)


def probe_source(topo: Topology, probe: Probe) -> str:
    """The source address the lab uses for ``probe`` (mirrors ``Lab._job``)."""
    if probe.src:
        return _bare(probe.src)
    version = ipaddress.ip_address(probe.dst).version
    if probe.via == topo.uplink:
        candidates = [topo.outside_address, *topo.outside_extra]
    elif topo.second_uplink and probe.via == topo.second_uplink[0]:
        candidates = [topo.second_uplink[2]]
    else:
        candidates = [container_address(topo, probe.via)]
    for a in candidates:
        if ipaddress.ip_interface(a).version == version:
            return _bare(a)
    raise ValueError(f"{probe.via} has no IPv{version} address")


def arrival_interface(topo: Topology, probe: Probe) -> str:
    """The host interface the probe arrives on: the uplink, or the container's bridge."""
    if probe.via == topo.uplink or (topo.second_uplink and probe.via == topo.second_uplink[0]):
        return probe.via
    return container_bridge(topo, probe.via)


def set_hairpin(lab: Any) -> None:
    """Turn hairpin mode on for every bridge port of the lab's host namespace, as the CNI bridge
    plugin does with ``hairpinMode: true``: a container reaching its own published port through a
    host address is DNAT'd back to itself, and br_netfilter then bridges the frame out of the port
    it came in on."""
    links = json.loads(lab.exec("host", "ip", "-j", "-d", "link", "show").stdout or "[]")
    for link in links:
        if link.get("master") and link.get("linkinfo", {}).get("info_slave_kind") == "bridge":
            lab.exec("host", "ip", "link", "set", "dev", link["ifname"], "type", "bridge_slave", "hairpin", "on")


def trace_args(scn: Scenario, probe: Probe) -> list[str]:
    args = [
        str(scn.path),
        "--in", arrival_interface(scn.topology, probe),
        "--src", probe_source(scn.topology, probe),
        "--dst", probe.dst,
        "--proto", probe.proto,
        # The lab's probes use fresh source ports from 20000-60999; no rule in the scenario dumps
        # tells those apart, so one representative port stands for whichever the lab picked.
        "--sport", str(TRACE_SPORT),
        "--dport", str(probe.dport),
        "--state", "NEW",
    ]
    for addr in scn.local:
        args += ["--local", addr]
    for route in scn.routes:
        args += ["--route", route]
    return [*args, "--format", "json"]


# --------------------------------------------------------------------------------------------
# running ipt-lint trace


@dataclass
class TraceResult:
    argv: list[str]
    data: dict[str, Any] | None
    error: str | None = None


class TraceUnavailable(RuntimeError):
    pass


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.setdefault("NO_COLOR", "1")
    return env


@lru_cache(maxsize=1)
def trace_mode() -> str:
    """How to run the trace; raises :class:`TraceUnavailable` when there is none.

    * ``cli``: ``python -m ipt_lint trace --help`` works (checked once, in a subprocess), so each
      trace is run as ``ipt-lint trace ...`` through the main click group in this process: the same
      code path as the command line, without paying Python's start-up ~200 times;
    * ``command``: the main CLI does not have ``trace`` yet; the click command object
      ``ipt_lint.cli.trace_cmd.trace`` is invoked directly;
    * ``subprocess`` (only when ``IPT_LINT_TRACE_MODE=subprocess``): one real
      ``python -m ipt_lint trace`` process per probe, several in parallel.
    """
    forced = os.environ.get("IPT_LINT_TRACE_MODE", "")
    reasons = []
    if forced in ("", "cli", "subprocess"):
        proc = subprocess.run([sys.executable, "-m", "ipt_lint", "trace", "--help"], check=False, cwd=REPO, env=_env(),
                              capture_output=True, text=True, timeout=60)
        # An unknown first word is taken as a path to lint, so check it is really trace's help.
        if proc.returncode == 0 and "--dst" in proc.stdout:
            return forced or "cli"
        reasons.append(f"`python -m ipt_lint trace --help` is not trace's help (exit {proc.returncode})")
    if forced in ("", "command"):
        try:
            from ipt_lint.cli.trace_cmd import trace  # noqa: F401
            return "command"
        except Exception as e:  # noqa: BLE001 - any import failure means "not available"
            reasons.append(f"ipt_lint.cli.trace_cmd.trace: {type(e).__name__}: {e}")
    raise TraceUnavailable("ipt-lint trace is not available: " + "; ".join(reasons))


def _parse(argv: list[str], code: int, stdout: str, stderr: str) -> TraceResult:
    text = stdout.strip()
    try:
        data = json.loads(text)
    except ValueError as e:
        return TraceResult(argv, None, f"exit {code}, no JSON object on stdout ({e}); "
                                       f"stdout: {text[:400]!r}; stderr: {stderr.strip()[-600:]!r}")
    if not isinstance(data, dict):
        return TraceResult(argv, None, f"exit {code}, stdout is JSON but not an object: {text[:400]!r}")
    return TraceResult(argv, data)


def _run_subprocess(argv: list[str]) -> TraceResult:
    try:
        proc = subprocess.run([sys.executable, "-m", "ipt_lint", "trace", *argv], check=False, cwd=REPO, env=_env(),
                              capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return TraceResult(argv, None, "timed out after 120 s")
    return _parse(argv, proc.returncode, proc.stdout, proc.stderr)


def _run_inprocess(argvs: list[list[str]], via_cli: bool) -> list[TraceResult]:
    from click.testing import CliRunner

    if via_cli:
        from ipt_lint.cli.main import cli as command
    else:
        from ipt_lint.cli.trace_cmd import trace as command

    runner = CliRunner()
    out = []
    for argv in argvs:
        res = runner.invoke(command, ["trace", *argv] if via_cli else argv, catch_exceptions=True, env={"NO_COLOR": "1"})
        stdout = getattr(res, "stdout", res.output)
        try:
            stderr = res.stderr
        except (ValueError, AttributeError):
            stderr = ""
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            stderr += f"\n{type(res.exception).__name__}: {res.exception}"
        out.append(_parse(argv, res.exit_code, stdout, stderr))
    return out


def run_traces(argvs: list[list[str]]) -> list[TraceResult]:
    mode = trace_mode()
    if mode in ("cli", "command"):
        return _run_inprocess(argvs, via_cli=mode == "cli")
    workers = max(2, min(8, (os.cpu_count() or 2) * 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_run_subprocess, argvs))


# --------------------------------------------------------------------------------------------
# comparison


def _split_destination(text: Any) -> tuple[ipaddress._BaseAddress, int] | None:
    """``"172.17.0.2:80"``, ``"[fd00::2]:80"`` (or ``"fd00::2:80"``) -> (address, port)."""
    if not isinstance(text, str):
        return None
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)", text.strip())
    addr, port = (m.group(1), m.group(2)) if m else text.strip().rpartition(":")[::2]
    try:
        return ipaddress.ip_address(addr), int(port)
    except ValueError:
        return None


def landing_destination(scn: Scenario, probe: Probe, where: str, port: int) -> tuple[str, ipaddress._BaseAddress, int]:
    """(delivery, address, port) the trace must report for a delivery to ``where:port``."""
    if where == "host":
        return "local", ipaddress.ip_address(probe.dst), port
    return "forward", ipaddress.ip_address(container_address(scn.topology, where)), port


def format_trace(data: dict[str, Any] | None) -> str:
    if not data:
        return "    (no trace output)"
    head = {k: data.get(k) for k in ("verdict", "delivery", "final_destination", "out_interface", "certain")}
    lines = ["    " + json.dumps(head)]
    for s in data.get("steps") or []:
        if isinstance(s, dict):
            lines.append(f"      {s.get('table')}/{s.get('chain')} line {s.get('line')}: {s.get('rule')}  -> {s.get('effect')}")
        else:
            lines.append(f"      {s}")
    for a in data.get("assumptions") or []:
        lines.append(f"      assumes: {a}")
    for u in data.get("uncertain_rules") or []:  # optional keys, shown when the engine gives them
        lines.append(f"      uncertain: {u.get('line') if isinstance(u, dict) else ''} {u}")
    for alt in data.get("alternatives") or []:
        if isinstance(alt, dict):
            lines.append(f"      alternative: {alt.get('verdict')} {alt.get('delivery')} {alt.get('final_destination')}"
                         f" (random: {alt.get('random')}, certain: {alt.get('certain')})")
    return "\n".join(lines)


def compare(scn: Scenario, probe: Probe, landing: Landing, result: TraceResult) -> str | None:
    """None when ``ipt-lint trace`` agrees with the kernel about ``probe``, else why not."""
    if result.data is None:
        return f"trace failed: {result.error}"
    data = result.data
    verdict, certain = data.get("verdict"), data.get("certain")
    problems = []
    if probe.random:
        if certain is not True:
            return None  # statistic endpoint choice: an uncertain answer is allowed and not compared
    elif certain is not True:
        problems.append(f"certain is {certain!r}, expected true (nothing random decides this packet)")

    if landing.outcome == "delivered":
        if verdict != "ACCEPT":
            problems.append(f"verdict {verdict!r}, kernel delivered the packet ({landing})")
        elif landing.where is None:
            problems.append(f"kernel delivered to an unidentified listener ({landing.detail})")
        else:
            want = [landing_destination(scn, probe, landing.where, landing.port)]
            if probe.random:  # any endpoint the probe lists is a correct certain answer
                want = [landing_destination(scn, probe, e.where, e.port) for e in probe.expectations if e.outcome == "delivered"]
            delivery = data.get("delivery")
            got = _split_destination(data.get("final_destination"))
            if not any(delivery == d and got == (a, p) for d, a, p in want):
                wanted = " or ".join(f"{d} {_hostport(str(a), p)}" for d, a, p in want)
                problems.append(f"delivery/final_destination {delivery!r} {data.get('final_destination')!r}, "
                                f"kernel: {landing} -> expected {wanted}")
            elif probe.random and isinstance(data.get("alternatives"), list):
                # The engine lists the other random outcomes: where the kernel landed must be one of them.
                _, addr, port = landing_destination(scn, probe, landing.where, landing.port)
                listed = [got] + [_split_destination(alt.get("final_destination")) for alt in data["alternatives"]
                                  if isinstance(alt, dict) and alt.get("verdict") == "ACCEPT"]
                if (addr, port) not in listed:
                    problems.append(f"the kernel landed on {_hostport(str(addr), port)}, which is neither the trace's "
                                    f"final_destination nor one of its alternatives")
            if landing.where != "host" and not probe.random:
                bridge = container_bridge(scn.topology, landing.where)
                if data.get("out_interface") != bridge:
                    problems.append(f"out_interface {data.get('out_interface')!r}, the container sits on {bridge}")
    elif landing.outcome == "dropped":
        if verdict != "DROP":
            problems.append(f"verdict {verdict!r}, kernel dropped the packet")
    elif landing.outcome == "rejected":
        if verdict != "REJECT":
            problems.append(f"verdict {verdict!r}, kernel rejected the packet ({landing.detail})")
    else:
        problems.append(f"unknown kernel outcome {landing.outcome!r}")
    return "; ".join(problems) or None


def command_line(argv: list[str]) -> str:
    rel = [str(Path(a).relative_to(REPO)) if a.startswith(str(REPO)) else a for a in argv]
    return "python -m ipt_lint trace " + " ".join(shlex.quote(a) for a in rel)


# --------------------------------------------------------------------------------------------
# canonical form: the dump must be what iptables-save itself prints


def _tables(text: str) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        line = line.rstrip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            current = tables.setdefault(line[1:], [])
        elif line == "COMMIT":
            current = None
        elif current is not None:
            if line.startswith(":"):
                line = re.sub(r"\s+\[\d+:\d+\]$", "", line)  # counters
            else:
                line = re.sub(r"^\[\d+:\d+\]\s+", "", line)
            current.append(line)
    return tables


def canonical_diff(dump: str, saved: str) -> list[str]:
    """Differences between a dump and what iptables-save printed after loading it (counters,
    comment lines and table order ignored)."""
    mine, theirs = _tables(dump), _tables(saved)
    out = []
    for table, lines in mine.items():
        other = theirs.get(table, [])
        if lines != other:
            import difflib

            out += [f"*{table}:"] + list(difflib.unified_diff(lines, other, "dump", "iptables-save", lineterm="", n=1))
    return out
