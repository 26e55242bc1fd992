"""What ipt-lint says about the hardening fixes, held to the real iptables-restore (nft and legacy)
in a scratch network namespace: ipt-lint reports an error-level IPT1xx finding exactly where one
backend's real load refuses the dump.

* a chain 16 levels of jumps (or gotos) below a built-in chain: iptables-nft-restore refuses it
  (`RULE_APPEND failed (Too many links)`), iptables-legacy-restore loads it; 15 levels load on both;
* `! -p tcp --dport 22`, which loads -m tcp on a negated protocol like the written
  `! -p tcp -m tcp --dport 22`: iptables-legacy-restore refuses both at COMMIT, nft loads them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ipt_lint.checks.base import Severity
from ipt_lint.lint import lint_text

from ..restore_helpers import NetnsPool

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("kernel")]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "structure"
BINARIES = {"nft": "iptables-nft-restore", "legacy": "iptables-legacy-restore"}


@pytest.fixture(scope="module")
def pool():
    with NetnsPool(1) as p:
        yield p


def _loads(pool: NetnsPool, text: str) -> dict[str, tuple[int, str]]:
    out = {}
    with pool.netns() as ns:
        for backend, binary in BINARIES.items():
            if shutil.which(binary) is None:
                continue
            r = pool.run(ns, [binary], text.encode())
            out[backend] = (r.returncode, r.stderr.decode("utf-8", "replace"))
    assert "nft" in out, "iptables-nft-restore is needed"
    return out


def _errors(text: str) -> list:
    result = lint_text(text, "t.rules")
    return [f for f in result.findings if f.severity == Severity.ERROR and f.code.startswith("IPT1")]


def _chain(depth: int, jump: str) -> str:
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":C{i} - [0:0]" for i in range(depth)]
    lines.append(f"-A INPUT {jump} C0")
    lines += [f"-A C{i} {jump} C{i + 1}" for i in range(depth - 1)]
    lines += [f"-A C{depth - 1} -j ACCEPT", "COMMIT"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("jump", ["-j", "-g"])
def test_jump_depth_limit_matches_the_kernel(pool, jump):
    ok, deep = _chain(15, jump), _chain(16, jump)
    assert all(rc == 0 for rc, _ in _loads(pool, ok).values())
    assert _errors(ok) == []
    loads = _loads(pool, deep)
    rc, err = loads["nft"]
    assert rc != 0 and "Too many links" in err, loads
    if "legacy" in loads:
        assert loads["legacy"][0] == 0, loads  # the finding says legacy loads it
    (f,) = _errors(deep)
    assert f.code == "IPT108"
    assert f"line {f.line}: RULE_APPEND failed (Too many links): rule in chain C14" in err


def test_jump_depth_fixture_is_what_the_kernel_refuses(pool):
    text = (FIXTURES / "jump-depth.rules").read_text()
    rc, err = _loads(pool, text)["nft"]
    (f,) = _errors(text)
    assert rc != 0 and f"line {f.line}: RULE_APPEND failed (Too many links)" in err


@pytest.mark.parametrize("rule, refused", [
    ("-A INPUT -p tcp --dport 22 -j ACCEPT", False),
    ("-A INPUT ! -p tcp --dport 22 -j ACCEPT", True),
    ("-A INPUT ! -p udp --sport 53 -j ACCEPT", True),
    ("-A INPUT ! -p tcp -m tcp --dport 22 -j ACCEPT", True),
    ("-A INPUT ! -p 6 --dport 22 -j ACCEPT", True),
])  # fmt: skip
def test_negated_protocol_with_a_port_option(pool, rule, refused):
    text = f"*filter\n:INPUT ACCEPT [0:0]\n{rule}\nCOMMIT\n"
    loads = _loads(pool, text)
    if "legacy" not in loads:
        pytest.skip("iptables-legacy-restore is the backend that refuses it")
    assert loads["nft"][0] == 0, loads
    assert (loads["legacy"][0] != 0) == refused, loads
    assert bool(_errors(text)) == refused, [f.message for f in _errors(text)]
