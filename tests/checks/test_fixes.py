"""checks/fixes.py: fixes are parsed like dump lines, applied where iptables would put them, and
printed only when the engine confirms them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipt_lint.checks.fixes import (
    Fix,
    FixError,
    FixRule,
    FixVerifier,
    Goal,
    Verification,
    apply_fix,
    command_argvs,
    conntrack_drop,
    exposure_key,
    fix_text,
    forward_filter_chain,
    parse_command,
    verify_fix,
)
from ipt_lint.model.build import build_model
from ipt_lint.parse import parse_text
from ipt_lint.semantics import engine_for

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def model(name: str):
    path = SAMPLES / name
    rs, _ = build_model(parse_text(path.read_text(), str(path)))
    return rs


def chain_texts(rs, table, chain):
    return [r.text for r in rs.tables[table].chains[chain].rules]


def published(proto, port):
    return lambda e: e.kind == "published" and e.proto == proto and e.port == port


# --------------------------------------------------------------------------------------------
# commands


def test_commands_are_what_iptables_runs():
    fix = Fix(
        (
            FixRule("filter", "DOCKER-USER", "-p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL -j DROP"),
            FixRule("raw", "PREROUTING", "-d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8081 -j DROP", 3),
            FixRule("filter", "INPUT", "-j LOG", None),
        ),
        new_chains=(("filter", "MINE"),),
    )
    assert fix.commands == (
        "iptables -N MINE",
        "iptables -I DOCKER-USER 1 -p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL -j DROP",
        "iptables -t raw -I PREROUTING 3 -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8081 -j DROP",
        "iptables -A INPUT -j LOG",
    )
    assert fix.text() == "\n".join(fix.commands)
    assert Fix(fix.rules, "ipv6").commands[0].startswith("ip6tables ")


def test_from_commands_round_trips():
    cmds = [
        "iptables -I DOCKER-USER 1 -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP",
        "iptables -t raw -A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 3000 -j DROP",
        'iptables -I INPUT 2 -m comment --comment "two words" -j ACCEPT',
    ]
    fix = Fix.from_commands(cmds)
    assert fix.commands == tuple(cmds)
    assert fix.rules[1] == FixRule("raw", "PREROUTING", "-d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 3000 -j DROP", None)


@pytest.mark.parametrize("bad", ["rm -rf /", "iptables -D FORWARD 1", "iptables -I", "iptables -A 'unclosed"])
def test_bad_commands_are_refused(bad):
    with pytest.raises(FixError):
        Fix.from_commands([bad])


def test_command_argvs_skip_notes_and_refusals():
    text = "iptables -I DOCKER-USER 1 -p tcp -j DROP\n# why\niptables -I DOCKER-USER 2 -j RETURN"
    assert command_argvs(text) == [
        ["iptables", "-I", "DOCKER-USER", "1", "-p", "tcp", "-j", "DROP"],
        ["iptables", "-I", "DOCKER-USER", "2", "-j", "RETURN"],
    ]
    assert command_argvs("no verified fix (the exposure stays open); publish on 127.0.0.1") == []
    assert parse_command('iptables -A X -m comment --comment "a b"')[-1] == "a b"


def test_conntrack_drop_words():
    assert conntrack_drop("tcp", 5432) == "-p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL -j DROP"
    assert conntrack_drop("udp", 5000, 5009, iface="eth0", dnat_only=True, orig_dst="192.0.2.1/32") == (
        "-i eth0 -p udp -m conntrack --ctstate DNAT --ctorigdst 192.0.2.1/32 --ctorigdstport 5000:5009 "
        "--ctdir ORIGINAL -j DROP"
    )
    assert conntrack_drop("tcp", 80, iface="eth0", negate_iface=True).startswith("! -i eth0 ")


# --------------------------------------------------------------------------------------------
# applying


def test_apply_inserts_where_iptables_would_and_shares_the_rest():
    rs = model("docker27-published.rules")
    fix = Fix((
        FixRule("filter", "DOCKER-USER", "-p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL -j DROP", 1),
        FixRule("filter", "DOCKER-USER", "-s 192.0.2.0/24 -j RETURN", 1),  # -I 1 again: lands above
        FixRule("filter", "DOCKER-USER", "-j LOG", None),
    ))
    new = apply_fix(rs, fix)
    assert chain_texts(new, "filter", "DOCKER-USER") == [
        "-A DOCKER-USER -s 192.0.2.0/24 -j RETURN",
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL -j DROP",
        "-A DOCKER-USER -j RETURN",
        "-A DOCKER-USER -j LOG",
    ]
    assert [r.index for r in new.tables["filter"].chains["DOCKER-USER"].rules] == [0, 1, 2, 3]
    # the original is untouched, and chains the fix does not touch are shared
    assert chain_texts(rs, "filter", "DOCKER-USER") == ["-A DOCKER-USER -j RETURN"]
    assert new.tables["nat"] is rs.tables["nat"]
    assert new.tables["filter"].chains["DOCKER"] is rs.tables["filter"].chains["DOCKER"]


def test_apply_creates_missing_tables_and_new_chains():
    rs = model("plain-server.rules")
    assert "raw" not in rs.tables
    fix = Fix(
        (FixRule("raw", "PREROUTING", "-d 127.0.0.1/32 ! -i lo -j DROP"), FixRule("filter", "MINE", "-j RETURN", None)),
        new_chains=(("filter", "MINE"),),
    )
    new = apply_fix(rs, fix)
    assert chain_texts(new, "raw", "PREROUTING") == ["-A PREROUTING -d 127.0.0.1/32 ! -i lo -j DROP"]
    assert chain_texts(new, "filter", "MINE") == ["-A MINE -j RETURN"]


@pytest.mark.parametrize(
    "rule, why",
    [
        (FixRule("filter", "NOPE", "-j DROP"), "no chain NOPE"),
        (FixRule("filter", "INPUT", "-p tcp --dport 70000 -j DROP"), "would not load"),
        (FixRule("filter", "INPUT", "-m conntrack --bogus -j DROP"), "would not load"),
        (FixRule("filter", "INPUT", "-j DROP", 99), "index of insertion too big"),
        (FixRule("nope", "INPUT", "-j DROP"), "unknown table"),
    ],
)
def test_apply_refuses_what_iptables_would_refuse(rule, why):
    with pytest.raises(FixError, match=why):
        apply_fix(model("plain-server.rules"), Fix((rule,)))


@pytest.mark.parametrize(
    "rule, why",
    [
        (FixRule("filter", "INPUT", "-p tcp --dport 70000 -j DROP"), "would not load"),
        (FixRule("filter", "INPUT", "-m conntrack --bogus -j DROP"), "would not load"),
        (FixRule("filter", "INPUT", "-j NOWHERE"), "would not load"),
        (FixRule("filter", "INPUT", '-m comment --comment "open -j DROP'), "No closing quotation"),
    ],
)
def test_a_bad_rule_among_many_is_named(rule, why):
    """Many rules are parsed as one dump; when that dump has a problem each is parsed alone,
    so the one that does not load is the one named."""
    good = FixRule("filter", "INPUT", "-p tcp --dport 22 -j DROP")
    with pytest.raises(FixError, match=why) as caught:
        apply_fix(model("plain-server.rules"), Fix((good, rule, good)))
    assert "dport 22" not in str(caught.value)


def _meaning(r):
    """A rule model without positions (the parse that made it may have had other lines, and
    fixes applied one at a time each number their lines from FIX_LINE_BASE)."""
    def opts(options):
        return {k: (v.negated, v.raw, v.value) for k, v in options.items()}
    target = None if r.target is None else (r.target.name, r.target.kind, opts(r.target.options))
    return (r.table, r.chain, r.index, r.src, r.dst, r.in_iface, r.out_iface, r.proto, r.fragment, r.invalid,
            r.text, tuple((m.module, m.known, m.implicit, opts(m.options)) for m in r.matches), target)


def test_many_rules_parsed_together_are_the_rules_parsed_one_by_one(monkeypatch):
    import ipt_lint.checks.fixes as fixes_module

    rs = model("docker27-published.rules")
    rules = (
        FixRule("filter", "DOCKER-USER", "-p tcp -m conntrack --ctstate DNAT --ctorigdstport 5432 --ctdir ORIGINAL -j DROP"),
        FixRule("filter", "DOCKER-USER", "-s 192.0.2.0/24 -j RETURN", 1),
        FixRule("filter", "FORWARD", "-o docker0 -j DOCKER", 2),  # a jump: DOCKER is declared for it
        FixRule("filter", "MINE", "-j DOCKER-USER", None),  # a new chain jumping to an old one
        FixRule("raw", "PREROUTING", "-d 127.0.0.1/32 ! -i lo -p udp -m udp --dport 53 -j DROP"),  # a new table
        FixRule("nat", "PREROUTING", '-m comment --comment "two words" -m addrtype --dst-type LOCAL -j RETURN'),
        FixRule("filter", "DOCKER-USER", "-j LOG --log-prefix x", None),
    )
    fix = Fix(rules, new_chains=(("filter", "MINE"),))
    one_by_one = fixes_module._rule_model
    with monkeypatch.context() as m:  # the rules are parsed together, never one by one
        m.setattr(fixes_module, "_rule_model", None)
        together = apply_fix(rs, fix)
    assert fixes_module._rule_model is one_by_one
    alone = rs
    for k, r in enumerate(rules):  # one at a time: each is parsed on its own
        alone = apply_fix(alone, Fix((r,), new_chains=fix.new_chains if k == 0 else ()))
    for table in together.tables:
        for name, chain in together.tables[table].chains.items():
            other = alone.tables[table].chains[name]
            assert [_meaning(r) for r in chain.rules] == [
                _meaning(r) for r in other.rules
            ], (table, name)


def test_apply_refuses_the_other_family():
    with pytest.raises(FixError, match="ipv6"):
        apply_fix(model("plain-server.rules"), Fix((FixRule("filter", "INPUT", "-j DROP"),), "ipv6"))


# --------------------------------------------------------------------------------------------
# verifying


@pytest.fixture(scope="module")
def docker27():
    rs = model("docker27-published.rules")
    return rs, engine_for(rs)


def _fix(rule, scope=({"proto": "tcp", "dport": (5432, 5432)},)):
    return Fix((FixRule("filter", "DOCKER-USER", rule),), scope=scope)


def test_a_fix_that_also_closes_direct_routing_is_refused(docker27):
    _, eng = docker27
    v = FixVerifier(eng).verify(_fix(conntrack_drop("tcp", 5432)), Goal(published("tcp", 5432)))
    assert not v and "routed tcp/5432" in v.reason  # it changed something else: direct access to 172.18.0.3


def test_the_dnat_only_fix_is_verified(docker27):
    _, eng = docker27
    v = FixVerifier(eng).verify(_fix(conntrack_drop("tcp", 5432, dnat_only=True)), Goal(published("tcp", 5432)))
    assert v, v.reason
    assert "--ctstate DNAT" in fix_text(v)


def test_a_fix_that_misses_stays_unverified():
    # --dport in DOCKER-USER sees the container's port after DNAT (the classic mistake): 8080 -> 80
    # stays open. (Docker 28 dump: no direct routing that the rule could touch instead.)
    path = REPO / "tests" / "fixtures" / "exposure" / "exp301-docker28-open.rules"
    rs, _ = build_model(parse_text(path.read_text(), str(path)))
    v = FixVerifier(engine_for(rs)).verify(
        _fix("-p tcp -m tcp --dport 8080 -j DROP", ({"proto": "tcp", "dport": (8080, 8080)},)), Goal(published("tcp", 8080))
    )
    assert not v and "stays open" in v.reason
    assert fix_text(v, fallback="do X").startswith("no verified fix (the exposure stays open")


def test_a_fix_that_does_not_load_is_unverified(docker27):
    _, eng = docker27
    v = FixVerifier(eng).verify(_fix("-p tcp --dport 99999 -j DROP"), Goal(published("tcp", 5432)))
    assert not v and "does not load" in v.reason


def test_scope_that_misses_the_exposure_is_unverified(docker27):
    _, eng = docker27
    fix = _fix(conntrack_drop("tcp", 5432, dnat_only=True), ({"proto": "udp", "dport": (5432, 5432)},))
    v = FixVerifier(eng).verify(fix, Goal(published("tcp", 5432)))
    assert not v and "does not see the exposure" in v.reason


def test_joint_verification_of_disjoint_fixes(docker27):
    _, eng = docker27
    verifier = FixVerifier(eng)
    items = [
        (_fix(conntrack_drop("tcp", 5432, dnat_only=True)), Goal(published("tcp", 5432))),
        (_fix(conntrack_drop("tcp", 8080, dnat_only=True), ({"proto": "tcp", "dport": (8080, 8080)},)),
         Goal(published("tcp", 8080))),
    ]
    assert all(verifier.verify_many(items))
    # one bad fix among them: the joint run fails and each is judged on its own
    items[1] = (_fix(conntrack_drop("tcp", 8080), ({"proto": "tcp", "dport": (8080, 8080)},)), Goal(published("tcp", 8080)))
    got = verifier.verify_many(items)
    assert got[0] and got[0].fix is items[0][0]
    # the plain variant would also close direct routing to adminer's 172.17.0.2:8080
    assert not got[1] and "routed tcp/8080 -> 172.17.0.2" in got[1].reason


def test_verify_fix_without_a_context(docker27):
    rs, _ = docker27
    factory = lambda ruleset, interfaces: engine_for(ruleset, interfaces=interfaces)
    v = verify_fix(factory, rs, _fix(conntrack_drop("tcp", 5432, dnat_only=True)), Goal(published("tcp", 5432)))
    assert v.ok, v.reason
    assert isinstance(v, Verification)


def test_exposure_key_ignores_lines(docker27):
    rs, eng = docker27
    new = engine_for(apply_fix(rs, Fix((FixRule("filter", "INPUT", "-j LOG", None),))))
    assert sorted(map(exposure_key, eng.exposures())) == sorted(map(exposure_key, new.exposures()))


def test_forward_filter_chain_per_runtime(docker27):
    _, eng = docker27
    assert forward_filter_chain(eng, "docker")[:3] == ("filter", "DOCKER-USER", 1)
    assert forward_filter_chain(eng, "podman")[:3] == ("filter", "FORWARD", 1)
    rs = model("plain-server.rules")
    assert forward_filter_chain(engine_for(rs), "docker")[1] == "FORWARD"  # no DOCKER-USER here


def test_a_dump_with_too_many_exposures_gets_findings_without_verified_fixes(monkeypatch):
    """Each verification walks the whole dump again; past MAX_EXPOSURES_TO_VERIFY exposures the
    findings stay and every fix says why it was not checked (never an unchecked command)."""
    import ipt_lint.checks.fixes as fixes
    from ipt_lint.lint import lint_text

    path = REPO / "samples" / "docker27-published.rules"
    normal = [f for f in lint_text(path.read_bytes(), str(path)).findings if f.code == "EXP301"]
    assert normal and all(f.fix and "no verified fix" not in f.fix for f in normal)
    monkeypatch.setattr(fixes, "MAX_EXPOSURES_TO_VERIFY", 1)
    limited = [f for f in lint_text(path.read_bytes(), str(path)).findings if f.code == "EXP301"]
    assert [(f.line, f.severity) for f in limited] == [(f.line, f.severity) for f in normal]
    for f in limited:
        assert "no verified fix" in f.fix and "exposures are more than ipt-lint checks a fix against" in f.fix


def test_a_fix_in_the_nat_table_is_walked_anew_not_taken_from_the_prerouting_memo(docker27):
    """Fix engines share nat PREROUTING's remembered answers with the base engine, keyed by the
    identity of every chain in raw, mangle and nat: a fix that changes a nat chain is walked
    again. Skipping the DNAT for 5432 closes the publish, and the packets then reach the host
    itself (INPUT accepts), which the verifier must see; a stale answer would still show the
    publish open."""
    _, eng = docker27
    verifier = FixVerifier(eng)
    verifier.know(eng.exposures())  # the base engine's PREROUTING answer is now remembered
    assert eng.walker.hook_memo
    stop_dnat = Fix(
        (FixRule("nat", "PREROUTING", "-p tcp -m tcp --dport 5432 -m addrtype --dst-type LOCAL -j RETURN", 1),),
        scope=({"proto": "tcp", "dport": (5432, 5432)},),
    )
    v = verifier.verify(stop_dnat, Goal(published("tcp", 5432)))
    assert not v and v.reason == "it would open host tcp/5432 -> <host>"


def test_disjoint_scopes_with_equal_ports_on_several_addresses(docker27):
    """A fix for a port published on two host addresses has one scope per address, with the
    same protocol and port: comparing them must not compare the scopes themselves (found by
    the long fuzz run: TypeError '<' between dicts)."""
    _, eng = docker27
    two_hosts = ({"proto": "tcp", "dport": (5432, 5432), "dst": "192.0.2.10/32"},
                 {"proto": "tcp", "dport": (5432, 5432), "dst": "192.0.2.11/32"})
    items = [
        (_fix(conntrack_drop("tcp", 5432, dnat_only=True), two_hosts), Goal(published("tcp", 5432))),
        (_fix(conntrack_drop("tcp", 8080, dnat_only=True), ({"proto": "tcp", "dport": (8080, 8080)},)),
         Goal(published("tcp", 8080))),
    ]
    FixVerifier(eng).verify_many(items)  # decides, one way or the other, without an exception


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.fixed_dictionaries(
    {"proto": st.sampled_from(["tcp", "udp"]),
     "dport": st.tuples(st.integers(1, 6), st.integers(0, 3)).map(lambda t: (t[0], t[0] + t[1]))},
    optional={"dst": st.sampled_from(["10.0.0.0/30", "10.0.0.2/32", "10.0.0.4/32", "10.0.0.0/24",
                                      "192.0.2.10/32", "0.0.0.0/0"])},
), min_size=1, max_size=3), min_size=1, max_size=5))
def test_disjoint_agrees_with_every_pair_compared(docker27, scopes):
    """_disjoint's shortcuts (sorting by port, telling destinations apart without packet sets)
    give the answer of comparing every pair of scopes from different fixes as packet sets."""
    from ipt_lint.checks.fixes import _disjoint

    _, eng = docker27
    fixes = [Fix((), scope=tuple(s)) for s in scopes]
    plain = not any(
        eng.packets(**a).intersects(eng.packets(**b))
        for i, fa in enumerate(scopes) for j, fb in enumerate(scopes) if i < j
        for a in fa for b in fb
    )
    assert _disjoint(eng, fixes) == plain


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "-p", " ", "  ", "\t", '"', "'", "\\", "#", "x y", "\u00a0", "é", "\n", "$(x)"]),
                max_size=8).map("".join))
def test_fix_shell_words_are_what_the_shell_splits(rule):
    """_shell_words' shortcut for plain text gives shlex's words (or its error) exactly."""
    import shlex

    from ipt_lint.checks.fixes import _shell_words

    try:
        expected = tuple(shlex.split(rule))
    except ValueError as exc:
        expected = str(exc)
    assert _shell_words.__wrapped__(rule) == expected
