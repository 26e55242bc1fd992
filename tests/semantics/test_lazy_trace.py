"""`trace` loads a dump lazily (ipt_lint/model/lazy.py): its answers must be byte for byte those
of a fully built dump. For every sample, fixture, shared and generated kube-proxy dump, many
packets are traced both ways through the command's own loader (cli.trace_cmd.load_engine) and
the JSON documents compared: every exposure's packet (published ports, host ports, routed
container addresses) with its interfaces, sources and conntrack states, container and host
addresses, DNAT'd ports, and random packets (hypothesis) from the dump's own addresses, ports
and interfaces."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipt_lint.cli.common import UsageProblem
from ipt_lint.cli.trace_cmd import load_engine
from ipt_lint.report.jsonout import document_text
from ipt_lint.semantics import PacketSpec, SpecError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from gen_kube import generate

LOCAL_DUMPS = sorted((REPO / "samples").glob("*.rules")) + sorted((REPO / "tests" / "fixtures").rglob("*.rules"))
STATES = ("NEW", "ESTABLISHED", "RELATED", "INVALID")
MAX_PACKETS = 60  # per dump, each traced on a freshly loaded lazy engine


def answer(engine, spec: PacketSpec) -> str:
    """The trace's JSON document, as `ipt-lint trace --format json` prints it (or the error)."""
    try:
        return document_text(engine.trace(spec).to_json(), ensure_ascii=True)
    except SpecError as exc:
        return f"SpecError: {exc}"


def engines(path: Path):
    """(eager engine, a function making a fresh lazy one) for `path`, as trace loads them; None
    when loading is a usage error (the same one both ways)."""
    try:
        eager = load_engine(str(path), None, (), (), None)
    except UsageProblem as exc:
        with pytest.raises(UsageProblem, match=str(exc)):
            load_engine(str(path), None, (), (), None, lazy=True)
        return None
    return eager, lambda: load_engine(str(path), None, (), (), None, lazy=True)


def addresses(engine) -> list[str]:
    """The addresses the dump and its topology talk about: routes, local and service addresses."""
    topo = engine.topology
    bits = topo.bits
    out = []
    for lo, hi in [(r.lo, r.hi) for r in topo.routes] + [(a.lo, a.hi) for a in topo.local + topo.arrivals]:
        for x in (lo, lo + 1, hi):
            if 0 <= x < 1 << bits:
                out.append(str(ipaddress.ip_address(x) if bits == 32 else ipaddress.IPv6Address(x)))
    return list(dict.fromkeys(out))


def rule_destinations(engine, n: int = 10) -> list[PacketSpec]:
    """Packets each matching a rule with a single destination address and port (kube-proxy's
    `-d CLUSTER_IP/32 -p tcp --dport P`), from rules spread over the dump: the lazy chain index
    keys such unread lines by their text (model/textfacts.py), and a wrong key shows only when
    a packet is addressed to that very rule."""
    found = []
    for rule in engine.ruleset.rules():
        am, proto = rule.dst, rule.proto
        if am is None or am.negated or len(am.nets) != 1 or am.nets[0].prefixlen != am.nets[0].bits:
            continue
        if proto is None or proto.negated or proto.name not in ("tcp", "udp"):
            continue
        m = rule.match(proto.name)
        ov = m.get("--dport") if m is not None else None
        if ov is None or ov.negated or not ov.raw or not ov.raw[0].isdigit():
            continue
        found.append(PacketSpec("eth0", "203.0.113.9", str(am.nets[0]).split("/")[0], proto.name, 40000, int(ov.raw[0])))
    found = list(dict.fromkeys(found))
    step = max(1, len(found) // n)
    return found[::step][:n]


def derived_packets(engine) -> list[PacketSpec]:
    """Packets the dump itself suggests: each exposure's witness (on each interface it names and
    one it excludes, from its sources, in several states), plus each container, host and
    service address on every port the dump publishes."""
    six = engine.space.family == "ipv6"
    outsider = "2001:db8::9" if six else "203.0.113.9"
    names = list(engine.space.alphabet.names) or ["eth0"]
    specs: list[PacketSpec] = rule_destinations(engine)
    ports: list[int] = []
    for x in engine.exposures():
        w = x.witness.packet
        if x.port is not None:
            ports.append(x.port)
        ifaces = list(dict.fromkeys([w.in_iface, "eth0", *x.interfaces.named, *x.interfaces.excluded][:4]))
        for k, iface in enumerate(ifaces):
            state = STATES[k % len(STATES)]
            specs.append(PacketSpec(iface, w.src, w.dst, w.proto_name, w.sport, w.dport, state))
        specs.append(PacketSpec(w.in_iface, outsider, w.dst, w.proto_name, 40000, w.dport, "ESTABLISHED"))
    ports = sorted(set(ports))[:8] or [22, 80]
    for k, dst in enumerate(addresses(engine)[:12]):
        for j, port in enumerate(ports[:4]):
            iface = names[(k + j) % len(names)]
            specs.append(PacketSpec(iface, outsider, dst, "tcp" if j % 2 == 0 else "udp", 40000, port, "NEW"))
        specs.append(PacketSpec("eth0", outsider, dst, "icmpv6" if six else "icmp", None, None, "NEW"))
    return list(dict.fromkeys(specs))


def assert_same_answers(path: Path) -> None:
    got = engines(path)
    if got is None:
        return
    eager, lazy = got
    specs = derived_packets(eager)
    shared_lazy = lazy()  # one engine asked everything, as well as a fresh one per packet
    for spec in specs[:MAX_PACKETS]:
        expected = answer(eager, spec)
        assert answer(lazy(), spec) == expected, (path.name, spec)
        assert answer(shared_lazy, spec) == expected, (path.name, spec)
    for spec in specs[MAX_PACKETS:]:
        assert answer(shared_lazy, spec) == answer(eager, spec), (path.name, spec)


@pytest.mark.parametrize("path", LOCAL_DUMPS, ids=lambda p: str(p.relative_to(REPO)))
def test_lazy_trace_answers_as_the_fully_built_dump(path):
    assert_same_answers(path)


def test_lazy_trace_answers_as_the_fully_built_dump_on_the_shared_dumps(shared_dir):
    dumps = sorted((shared_dir / "dumps").glob("*.rules"))
    assert dumps
    for path in dumps:
        assert_same_answers(path)


@pytest.fixture(scope="module")
def kube_dumps(tmp_path_factory):
    out = []
    for rules, seed in ((300, 1), (1500, 2), (4000, 3)):
        path = tmp_path_factory.mktemp("kube") / f"kube-{rules}-{seed}.rules"
        text, _ = generate(rules, seed)
        path.write_text(text)
        out.append(path)
    return out


def test_lazy_trace_answers_as_the_fully_built_dump_on_generated_kube_proxy_dumps(kube_dumps):
    for path in kube_dumps:
        assert_same_answers(path)


def test_lazy_trace_builds_only_part_of_a_kube_proxy_dump(kube_dumps):
    """The point of it: a NodePort trace on a 4000-rule dump builds a small part of it."""
    path = kube_dumps[-1]
    eager, lazy = engines(path)
    engine = lazy()
    port = next(x.port for x in eager.exposures() if x.kind == "published" and x.port >= 30000)
    answer(engine, PacketSpec("eth0", "203.0.113.9", "192.168.1.10", "tcp", 40000, port))
    chains = [c for t in engine.ruleset.tables.values() for c in t.chains.values()]
    built = sum(len(c.built) for c in chains)
    total = sum(len(c.rules) for c in chains)
    assert built < total / 3, (built, total)


# --- random packets ---------------------------------------------------------------------------

RANDOM_DUMPS = [p for p in LOCAL_DUMPS if p.parent.name in ("samples", "docker", "kube", "exposure")]


@pytest.fixture(scope="module")
def random_material(kube_dumps):
    """Per dump: (eager engine, lazy engine maker, addresses, ports, interfaces)."""
    out = []
    for path in RANDOM_DUMPS + kube_dumps[:2]:
        got = engines(path)
        if got is None:
            continue
        eager, lazy = got
        ports = sorted({x.port for x in eager.exposures() if x.port is not None})[:20] or [80]
        out.append((path, eager, lazy, addresses(eager) or ["10.0.0.1"], ports, list(eager.space.alphabet.names)))
    return out


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_lazy_trace_answers_as_the_fully_built_dump_for_random_packets(random_material, data):
    path, eager, lazy, addrs, ports, names = data.draw(st.sampled_from(random_material))
    six = eager.space.family == "ipv6"
    outsider = st.sampled_from(["2001:db8::9", "::1", "fe80::1"] if six else ["203.0.113.9", "127.0.0.1", "10.244.1.5"])
    spec = PacketSpec(
        in_iface=data.draw(st.sampled_from(names + ["eth0", "lo", "wg0"])),
        src=data.draw(st.one_of(st.sampled_from(addrs), outsider)),
        dst=data.draw(st.one_of(st.sampled_from(addrs), outsider)),
        proto=data.draw(st.sampled_from(["tcp", "udp", "icmpv6" if six else "icmp", "sctp"])),
        sport=data.draw(st.one_of(st.none(), st.integers(0, 65535))),
        dport=data.draw(st.one_of(st.sampled_from(ports), st.integers(0, 65535))),
        state=data.draw(st.sampled_from(STATES + ("UNTRACKED",))),
    )
    assert answer(lazy(), spec) == answer(eager, spec), (path.name, spec)
