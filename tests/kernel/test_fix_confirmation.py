"""The kernel confirms the EXP/K8S fixes ipt-lint prints.

For a few kernel scenarios (tests/kernel/scenarios/table.py: a dump and the lab topology it
depicts), lint the dump, take one finding's printed fix, and check with real packets in the lab:

1. before: a probe through the exposure is delivered (the kernel agrees the exposure is real);
2. the fix's commands run in the lab's host namespace, each parsed into an argv list (no shell);
3. after: the same probe is dropped or rejected, and a probe that must stay open still is.

Only namespaces the lab creates see any traffic or rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ipt_lint.checks.context import LintOptions
from ipt_lint.checks.fixes import NO_VERIFIED_FIX, command_argvs
from ipt_lint.lint import lint_text

from .lab import Lab
from .scenario_support import PROBE_TIMEOUT, Probe, set_hairpin
from .scenarios.table import S01, S02, S04, S11, S12, S14

HOST = "198.51.100.1"
NODE = "192.168.10.21"


@dataclass
class Case:
    id: str
    scenario: object
    code: str
    line_has: str  # a piece of the source line the finding is on
    closes: list[Probe]  # delivered before the fix, dropped/rejected after
    stays: list[Probe]  # delivered before and after
    external: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


P = Probe
CASES = [
    Case("01-exp301-published-8080", S01, "EXP301", "--dport 8080 -j DNAT",
         closes=[P("tcp", HOST, 8080, None), P("tcp", "172.17.0.1", 8080, None)],
         stays=[P("udp", HOST, 5353, None), P("tcp", "172.18.0.2", 80, None), P("tcp", HOST, 22, None)]),
    Case("01-exp302-direct-routing-udp53", S01, "EXP302", "-d 172.17.0.2/32",
         closes=[P("udp", "172.17.0.2", 53, None)],
         stays=[P("udp", HOST, 5353, None), P("tcp", "172.18.0.2", 80, None)]),
    Case("02-exp305-loopback-8081", S02, "EXP305", "--dport 8081 -j DNAT",
         closes=[P("tcp", "127.0.0.1", 8081, None)],
         stays=[P("tcp", HOST, 8080, None), P("udp", "127.0.0.1", 5353, None), P("tcp", HOST, 8081, None)]),
    Case("04-exp301-other-interfaces", S04, "EXP301", "--dport 8080 -j DNAT",
         closes=[P("tcp", "192.0.2.1", 8080, None, via="eth1")],
         stays=[P("udp", "192.0.2.1", 5353, None, via="eth1"), P("tcp", "192.0.2.1", 22, None, via="eth1")]),
    Case("11-exp303-ufw-deny-6379", S11, "EXP303", "--dport 6379 -j DROP",
         closes=[P("tcp", HOST, 6379, None)],
         stays=[P("tcp", HOST, 8080, None), P("tcp", "172.17.0.3", 6379, None), P("tcp", HOST, 22, None)]),
    Case("12-exp301-podman-8080", S12, "EXP301", "--to-destination 10.88.0.2:80",
         closes=[P("tcp", HOST, 8080, None), P("tcp", "10.88.0.1", 8080, None)],
         stays=[P("tcp", HOST, 8000, None), P("tcp", "10.88.0.3", 5432, None)]),
    Case("12-exp302-podman-network", S12, "EXP302", ":FORWARD ACCEPT",
         closes=[P("tcp", "10.88.0.3", 5432, None), P("tcp", "10.88.0.2", 80, None), P("tcp", "10.89.0.2", 8000, None)],
         stays=[P("tcp", HOST, 8080, None), P("udp", HOST, 5353, None), P("tcp", HOST, 8000, None)]),
    Case("14-exp301-nodeport-30300", S14, "EXP301", "--to-destination 10.244.1.7:3000",
         closes=[P("tcp", NODE, 30300, None), P("tcp", "127.0.0.1", 30300, None)],
         stays=[P("udp", NODE, 30514, None), P("tcp", NODE, 22, None)]),
    Case("14-exp302-service-network", S14, "EXP302", "-j KUBE-SERVICES",
         closes=[P("tcp", "10.96.77.7", 3000, None), P("udp", "10.96.88.8", 514, None)],
         stays=[P("tcp", NODE, 30300, None), P("udp", NODE, 30514, None)]),
]


def finding_for(case: Case):
    scn = case.scenario
    options = LintOptions(local_addresses=tuple(scn.local), routes=tuple(scn.routes), external_interfaces=case.external)
    result = lint_text(scn.text.encode(), str(scn.path), options=options)
    assert not result.errors, result.errors
    hits = [f for f in result.findings if f.code == case.code and case.line_has in (f.rule or "")]
    assert hits, [(f.code, f.line, f.rule) for f in result.findings]
    return hits[0]


def _probe(lab, p: Probe):
    return lab.probe(p.proto, p.dst, p.dport, src=p.src, via=p.via, timeout=PROBE_TIMEOUT)


def _probe_all(lab, probes):
    return lab.probe_many([
        {"proto": p.proto, "dst": p.dst, "dport": p.dport, "src": p.src, "via": p.via, "timeout": PROBE_TIMEOUT}
        for p in probes
    ])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_printed_fix_is_verified(case):
    """Without the kernel: every case's finding carries a verified fix (commands, not a refusal)."""
    f = finding_for(case)
    assert f.fix and not f.fix.startswith(NO_VERIFIED_FIX), f.fix
    assert command_argvs(f.fix), f.fix


@pytest.mark.kernel
@pytest.mark.usefixtures("kernel")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_kernel_confirms_the_fix(case):
    scn = case.scenario
    f = finding_for(case)
    argvs = command_argvs(f.fix)
    assert argvs, f.fix
    with Lab(scn.topology) as lab:
        if scn.needs_br_netfilter and not lab.br_netfilter:
            pytest.skip("br_netfilter is not available: bridged traffic would bypass iptables")
        if scn.hairpin:
            set_hairpin(lab)
        lab.load(scn.text)
        before = _probe_all(lab, case.closes + case.stays)
        problems = [
            f"before the fix, {p.describe()} was {got}, expected delivered" for p, got in zip(case.closes + case.stays, before)
            if got.outcome != "delivered"
        ]
        assert not problems, "the scenario does not show the exposure:\n" + "\n".join(problems)
        for argv in argvs:
            proc = lab.exec("host", *argv, check=False)
            assert proc.returncode == 0, f"`{' '.join(argv)}` failed: {proc.stderr.strip()}"
        after = _probe_all(lab, case.closes + case.stays)
    n = len(case.closes)
    problems = [
        f"{p.describe()} is still {got} after the fix" for p, got in zip(case.closes, after[:n])
        if got.outcome == "delivered"
    ]
    problems += [
        f"{p.describe()} was closed by the fix too ({got})" for p, got in zip(case.stays, after[n:])
        if got.outcome != "delivered"
    ]
    assert not problems, f"fix:\n{f.fix}\n" + "\n".join(problems)
