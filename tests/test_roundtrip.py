"""parse(print(model)) == model, for generated rule sets (hypothesis), the samples and the shared dumps."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipt_lint.checks.base import Severity
from ipt_lint.lint import lint_text
from ipt_lint.model.printer import model_signature, print_ruleset

REPO = Path(__file__).resolve().parents[1]

octet = st.integers(0, 255)
ipv4 = st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", octet, octet, octet, octet)
prefix = st.integers(0, 32)
net = st.builds(lambda a, p: f"{a}/{p}", ipv4, prefix)
iface = st.from_regex(r"(eth|br-|docker|veth|wg)[0-9a-f]{0,6}\+?", fullmatch=True)
port = st.integers(0, 65535)
port_range = st.tuples(port, port).map(lambda t: f"{min(t)}:{max(t)}" if t[0] != t[1] else str(t[0]))
comment_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=0, max_size=30
)
chain_name = st.from_regex(r"[A-Z][A-Z0-9_-]{0,12}", fullmatch=True).filter(
    lambda s: s not in ("ACCEPT", "DROP", "RETURN", "QUEUE", "INPUT", "FORWARD", "OUTPUT")
)


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def rule(draw, chains):
    words = []
    if draw(st.booleans()):
        words += (["!"] if draw(st.booleans()) else []) + ["-s", draw(net)]
    if draw(st.booleans()):
        words += (["!"] if draw(st.booleans()) else []) + ["-i", draw(iface)]
    proto = draw(st.sampled_from([None, "tcp", "udp", "icmp"]))
    if proto:
        words += ["-p", proto]
        if proto in ("tcp", "udp") and draw(st.booleans()):
            words += ["-m", proto] + (["!"] if draw(st.booleans()) else []) + ["--dport", draw(port_range)]
        if proto in ("tcp", "udp") and draw(st.booleans()):
            ports = draw(st.lists(port, min_size=1, max_size=7, unique=True))
            words += ["-m", "multiport", "--dports", ",".join(map(str, ports))]
    if draw(st.booleans()):
        states = draw(st.sets(st.sampled_from(["NEW", "ESTABLISHED", "RELATED", "INVALID"]), min_size=1))
        words += ["-m", "conntrack", "--ctstate", ",".join(sorted(states))]
    if draw(st.booleans()):
        words += ["-m", "comment", "--comment", quote(draw(comment_text))]
    if draw(st.booleans()):
        words += ["-m", "mark", "--mark", f"0x{draw(st.integers(0, 2**32 - 1)):x}"]
    target = draw(st.sampled_from(["ACCEPT", "DROP", "RETURN", "LOG", "REJECT", "chain", None]))
    if target == "chain" and chains:
        words += [draw(st.sampled_from(["-j", "-g"])), draw(st.sampled_from(chains))]
    elif target == "LOG":
        words += ["-j", "LOG", "--log-prefix", quote(draw(comment_text.map(lambda s: s[:20])))]
    elif target == "REJECT":
        words += ["-j", "REJECT", "--reject-with", "icmp-port-unreachable"]
    elif target in ("ACCEPT", "DROP", "RETURN"):
        words += ["-j", target]
    return words


@st.composite
def dump(draw):
    users = draw(st.lists(chain_name, max_size=4, unique=True))
    lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":{c} - [0:0]" for c in users]
    for chain in ["INPUT", "FORWARD", *users]:
        others = [c for c in users if c != chain]
        for words in draw(st.lists(rule(others), max_size=5)):
            lines.append(" ".join(["-A", chain, *words]))
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _errors(result):
    return [f for f in result.findings if f.severity == Severity.ERROR and f.code.startswith("IPT1")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dump())
def test_print_then_parse_gives_the_same_model(text):
    first = lint_text(text, "generated.rules")
    assert not _errors(first), [(f.code, f.line, f.message) for f in _errors(first)]
    printed = print_ruleset(first.ruleset)
    second = lint_text(printed, "printed.rules")
    assert not _errors(second), printed
    assert model_signature(second.ruleset) == model_signature(first.ruleset), printed


def test_samples_round_trip():
    for path in sorted((REPO / "samples").glob("*.rules")):
        first = lint_text(path.read_bytes(), str(path))
        printed = print_ruleset(first.ruleset)
        second = lint_text(printed, "printed")
        assert model_signature(second.ruleset) == model_signature(first.ruleset), path


def test_shared_dumps_round_trip(shared_dir):
    paths = sorted((shared_dir / "dumps").glob("*.rules"))
    assert paths
    for path in paths:
        first = lint_text(path.read_bytes(), str(path))
        second = lint_text(print_ruleset(first.ruleset), "printed")
        assert model_signature(second.ruleset) == model_signature(first.ruleset), path
