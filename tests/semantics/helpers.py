"""Building engines from small inline dumps, for the semantics tests."""

from __future__ import annotations

import textwrap

from ipt_lint.model import build_model
from ipt_lint.parse import parse_text
from ipt_lint.semantics import PacketSpec, engine_for


def ruleset_of(text: str, name: str = "t.rules"):
    parsed = parse_text(textwrap.dedent(text).lstrip("\n"), name)
    assert not [d for d in parsed.diagnostics if d.code == "IPT100"], parsed.diagnostics
    rs, _ = build_model(parsed)
    return rs


def engine_of(text: str, **kw):
    return engine_for(ruleset_of(text), **kw)


def trace(
    engine, src="203.0.113.9", dst="198.51.100.1", proto="tcp", dport=80, sport=40000, iface="eth0", state="NEW", **kw
):
    return engine.trace(PacketSpec(iface, src, dst, proto, sport, dport, state, **kw))


def lines(result_or_outcome) -> list[int]:
    o = getattr(result_or_outcome, "main", result_or_outcome)
    return [s.line for s in o.steps if s.kind == "rule"]


def filter_table(*rules: str, input_policy="ACCEPT", forward_policy="ACCEPT", chains=()) -> str:
    head = [
        "*filter",
        f":INPUT {input_policy} [0:0]",
        f":FORWARD {forward_policy} [0:0]",
        ":OUTPUT ACCEPT [0:0]",
    ]
    head += [f":{c} - [0:0]" for c in chains]
    return "\n".join(head + list(rules) + ["COMMIT"]) + "\n"
