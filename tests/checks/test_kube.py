"""K8S501 localnet-exposure (checks/kube.py), and NodePorts as EXP301 with runtime kube."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_lint.checks.base import Severity
from ipt_lint.checks.context import LintContext, LintOptions
from ipt_lint.checks.exposure import exposure_analysis
from ipt_lint.checks.fixes import Fix, apply_fix
from ipt_lint.checks.kube import (
    LocalnetExposure,
    _kube_example,
    localnet_services,
    nodeport_ranges,
)
from ipt_lint.lint import lint_text
from ipt_lint.model.build import build_model
from ipt_lint.parse import parse_text
from ipt_lint.semantics import engine_for

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "tests" / "fixtures" / "kube"


def engine_of(text: str):
    rs, _ = build_model(parse_text(text, "kube.rules"))
    return rs, engine_for(rs)


def k8s(result):
    return [f for f in result.findings if f.code == "K8S501"]


def test_missing_localnet_drop_is_found_and_fixed():
    text = _kube_example(False)
    result = lint_text(text, "node.rules")
    (f,) = k8s(result)
    assert f.severity == Severity.ERROR
    assert "route_localnet=1" in f.message and "127.0.0.1" in f.message
    assert f.witness["dst"] == "127.0.0.1"
    assert f.fix.startswith("iptables -I INPUT 1 ! -s 127.0.0.0/8 -d 127.0.0.0/8 ")
    # the printed fix, applied to the model, leaves no localhost service reachable with route_localnet=1
    rs, eng = engine_of(text)
    skip = nodeport_ranges(eng.exposures())
    assert localnet_services(eng, (), skip)
    fixed = engine_for(apply_fix(rs, Fix.from_commands(f.fix.splitlines())))
    assert localnet_services(fixed, (), skip) == []
    # ... and the NodePort itself (DNATed, so not the localnet rule's business) is still there
    assert [e.port for e in fixed.exposures() if e.kind == "published"] == [30080]


def test_kubelet_firewall_present_means_no_finding():
    assert k8s(lint_text(_kube_example(True), "node.rules")) == []


def test_empty_kube_firewall_chain_is_reported_on_it_and_fixed_in_it():
    text = (KUBE / "k8s501-firewall-chain-empty.rules").read_text()
    (f,) = k8s(lint_text(text, "node.rules"))
    assert f.rule == ":KUBE-FIREWALL - [0:0]"
    assert f.fix.startswith("iptables -I KUBE-FIREWALL 1 ")


def test_nodeport_addresses_keep_route_localnet_off():
    assert k8s(lint_text((KUBE / "k8s501-nodeport-addresses.rules").read_text(), "node.rules")) == []


def test_health_check_ports_are_not_localnet_exposure():
    """A health check node port that kube-proxy's own filter rule accepts answers on every address
    anyway; reaching it through 127.0.0.1 adds nothing (gen_kube's dumps have them above KUBE-FIREWALL)."""
    text = _kube_example(True).replace(
        ":KUBE-FORWARD - [0:0]\n",
        ":KUBE-FORWARD - [0:0]\n:KUBE-NODEPORTS - [0:0]\n",
    ).replace(
        "-A INPUT -j KUBE-FIREWALL\n",
        '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS\n'
        "-A INPUT -j KUBE-FIREWALL\n"
        '-A KUBE-NODEPORTS -p tcp -m comment --comment "web/frontend:http health check node port" -m tcp --dport 32000 -j ACCEPT\n',
    )
    assert "--dport 32000 -j ACCEPT" in text
    assert k8s(lint_text(text, "node.rules")) == []


def test_samples_and_ipv6_draw_no_k8s501():
    for name in ("kube-node.rules", "docker27-published.rules", "docker27-ipv6.rules"):
        path = REPO / "samples" / name
        assert k8s(lint_text(path.read_bytes(), str(path))) == []


def test_nodeport_is_exp301_with_runtime_kube():
    path = REPO / "samples" / "kube-node.rules"
    result = lint_text(path.read_bytes(), str(path))
    (f,) = [f for f in result.findings if f.code == "EXP301"]
    assert "(kube-proxy)" in f.message and "service web/frontend:http" in f.message
    assert any("NodePort" in r.message for r in f.related)
    assert f.fix.startswith("iptables -I FORWARD 1 -p tcp -m conntrack ") and "--ctorigdstport 30080 " in f.fix
    parsed_rs, _ = build_model(parse_text(path.read_text(), str(path)))
    ctx = LintContext(parse_text(path.read_text(), str(path)), parsed_rs, [], LintOptions())
    assert {e.runtime for e in exposure_analysis(ctx).exposures if e.kind == "published"} == {"kube"}


@pytest.mark.parametrize("flag", [False, True])
def test_doc_examples(flag):
    codes = {f.code for f in lint_text(_kube_example(flag), "x.rules").findings}
    assert ("K8S501" in codes) is (not flag)
    assert LocalnetExposure.doc.example_bad == _kube_example(False)
