"""Issue 3, "Held to the kernel": every probe of every scenario is sent as a real packet in the kernel
lab and asked of ``ipt-lint trace``; the two must agree.

One test per scenario (``tests/kernel/scenarios/table.py``, described in ``scenarios/README.md``):

1. load the dump into the lab's host namespace (iptables-restore) and check iptables-save prints it
   back unchanged: the dumps are in canonical form;
2. send all probes in parallel and check the kernel did what the scenario says (``expect``): this
   keeps the scenario honest and is reported separately;
3. run ``ipt-lint trace`` for each probe (``--in`` arrival interface, ``--src``, ``--dst``, ``--proto``,
   ``--sport``, ``--dport``, ``--state NEW``, plus the scenario's ``--local``/``--route``) and compare with where the kernel put the packet
   (see ``scenario_support.compare``).

A failure lists every disagreement with the probe, the kernel's landing, the trace's verdict and
destination, and the trace's steps.
"""

from __future__ import annotations

import pytest

from .lab import Lab
from .scenario_support import (
    PROBE_TIMEOUT,
    TraceUnavailable,
    canonical_diff,
    command_line,
    compare,
    format_trace,
    run_traces,
    set_hairpin,
    trace_args,
)
from .scenarios.table import SCENARIOS


def test_scenario_table_is_big_enough():
    assert len(SCENARIOS) >= 12
    assert sum(len(s.probes) for s in SCENARIOS) >= 100
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)
    for s in SCENARIOS:
        assert s.path.is_file(), s.path


@pytest.mark.kernel
@pytest.mark.usefixtures("kernel")
@pytest.mark.parametrize("scn", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_kernel_and_trace_agree(scn):
    dump = scn.text
    with Lab(scn.topology) as lab:
        if scn.needs_br_netfilter and not lab.br_netfilter:
            pytest.skip("br_netfilter is not available: bridged traffic would bypass iptables")
        if scn.hairpin:
            set_hairpin(lab)
        lab.load(dump)
        saved = lab.save()
        landings = lab.probe_many([
            {"proto": p.proto, "dst": p.dst, "dport": p.dport, "src": p.src, "via": p.via, "timeout": PROBE_TIMEOUT}
            for p in scn.probes
        ])

    diff = canonical_diff(dump, saved)
    if diff:
        pytest.fail(f"{scn.dump} is not what iptables-save prints:\n" + "\n".join(diff), pytrace=False)

    report = []
    kernel_surprises = [
        f"  {p.describe()}\n    kernel: {got}, scenario expects: {' or '.join(map(str, p.expectations))}"
        for p, got in zip(scn.probes, landings)
        if not any(e.matches(got) for e in p.expectations)
    ]
    if kernel_surprises:
        report.append(f"{len(kernel_surprises)} probe(s) where the kernel did not do what the scenario says "
                      "(a scenario bug, not an engine bug):\n" + "\n".join(kernel_surprises))

    argvs = [trace_args(scn, p) for p in scn.probes]
    try:
        traces = run_traces(argvs)
    except TraceUnavailable as e:
        pytest.fail("\n\n".join([*report, str(e)]), pytrace=False)

    disagreements = []
    for p, got, res in zip(scn.probes, landings, traces):
        problem = compare(scn, p, got, res)
        if problem:
            disagreements.append(
                f"  {p.describe()}\n"
                f"    kernel: {got}\n"
                f"    trace:  {problem}\n"
                f"    $ {command_line(res.argv)}\n"
                f"{format_trace(res.data)}"
            )
    if disagreements:
        report.append(f"{len(disagreements)} of {len(scn.probes)} probe(s) where ipt-lint trace disagrees with the kernel:\n"
                      + "\n".join(disagreements))
    if report:
        pytest.fail(f"scenario {scn.id}:\n" + "\n\n".join(report), pytrace=False)
