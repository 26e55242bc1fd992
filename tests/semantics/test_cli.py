"""`ipt-lint trace` and `ipt-lint exposure` through their click command objects."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ipt_lint.cli.exposure_cmd import exposure
from ipt_lint.cli.trace_cmd import trace

DUMP = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -d 10.0.0.9/32 -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.9:80
COMMIT
"""


@pytest.fixture
def dump(tmp_path):
    p = tmp_path / "d.rules"
    p.write_text(DUMP)
    return str(p)


def run(cmd, *args):
    r = CliRunner().invoke(cmd, list(args), catch_exceptions=False)
    return r.exit_code, r.output


BASE = ("--in", "eth0", "--src", "203.0.113.9", "--dst", "198.51.100.1", "--proto", "tcp")


def test_trace_json_has_the_documented_keys(dump):
    code, out = run(trace, dump, *BASE, "--dport", "8080", "--route", "10.0.0.0/24=eth1", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert {
        "verdict",
        "delivery",
        "final_destination",
        "out_interface",
        "certain",
        "steps",
        "assumptions",
        "uncertain_rules",
    } <= set(doc)
    assert (doc["verdict"], doc["delivery"], doc["final_destination"], doc["out_interface"], doc["certain"]) == (
        "ACCEPT",
        "forward",
        "10.0.0.9:80",
        "eth1",
        True,
    )
    assert [s["line"] for s in doc["steps"] if s["effect"].startswith("DNAT")] == [13]
    for s in doc["steps"]:
        assert set(s) >= {"table", "chain", "line", "rule", "effect"}


def test_trace_drop_and_local(dump):
    code, out = run(trace, dump, *BASE, "--dport", "23", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "DROP" and doc["delivery"] is None
    code, out = run(trace, dump, *BASE, "--dport", "22", "--format", "json")
    doc = json.loads(out)
    assert (doc["verdict"], doc["delivery"], doc["final_destination"]) == ("ACCEPT", "local", "198.51.100.1:22")


def test_trace_text_shows_the_journey(dump):
    code, out = run(trace, dump, *BASE, "--dport", "8080", "--route", "10.0.0.0/24=eth1", "--color", "never")
    assert code == 0
    assert "DNAT to 10.0.0.9:80" in out and "Verdict: ACCEPT" in out and "line 13" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (("--in", "eth0", "--src", "nonsense", "--dst", "198.51.100.1", "--proto", "tcp"), "not an IP address"),
        (("--in", "eth0", "--src", "2001:db8::1", "--dst", "198.51.100.1", "--proto", "tcp"), "IPv6"),
        (BASE + ("--dport", "70000"), "not a port"),
        (("--in", "eth0", "--src", "203.0.113.9", "--dst", "198.51.100.1", "--proto", "tcpp"), "unknown protocol"),
        (BASE + ("--state", "SLEEPY"), "--state"),
        (BASE + ("--route", "10.0.0.0/24"), "CIDR=IFACE"),
        (("--src", "203.0.113.9"), "missing"),
        (BASE + ("--frobnicate",), "No such option"),
    ],
)
def test_trace_usage_errors_are_one_line(dump, args, message):
    r = CliRunner().invoke(trace, [dump, *args])
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_trace_missing_file_is_a_usage_error(tmp_path):
    r = CliRunner().invoke(trace, [str(tmp_path / "nope.rules"), *BASE])
    assert r.exit_code == 2 and "no such file" in r.output


def test_exposure_json_and_text(dump):
    code, out = run(exposure, dump, "--route", "10.0.0.0/24=eth1", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    pub = [x for x in doc["exposures"] if x["kind"] == "published"]
    assert [(x["proto"], x["port"], x["destination"]) for x in pub] == [("tcp", 8080, "10.0.0.9:80")]
    assert pub[0]["path"][0] == 13
    assert any(x["kind"] == "host" and x["port"] == 22 for x in doc["exposures"])
    code, out = run(exposure, dump, "--route", "10.0.0.0/24=eth1", "--color", "never")
    assert code == 0 and "10.0.0.9:80" in out and "Assumptions" in out


def test_exposure_usage_errors(dump):
    r = CliRunner().invoke(exposure, [dump, "--local", "not-an-address"])
    assert r.exit_code == 2 and "not an address" in r.output
    r = CliRunner().invoke(exposure, [])
    assert r.exit_code == 2 and "missing DUMP" in r.output
