"""Traversal as the kernel does it: jumps, goto, RETURN, policies, loops, tables in priority
order, nat only for new connections, marks crossing tables, uncertain and random rules."""

from __future__ import annotations

from .helpers import engine_of, filter_table, lines, trace


def test_policy_applies_when_nothing_matches():
    e = engine_of(filter_table("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", input_policy="DROP"))
    assert trace(e, dport=22).verdict == "ACCEPT"
    r = trace(e, dport=23)
    assert r.verdict == "DROP" and r.main.steps[-1].kind == "policy"


def test_user_chain_returns_to_the_rule_after_the_jump():
    e = engine_of(
        filter_table(
            "-A INPUT -j CHECK",
            "-A INPUT -p tcp -m tcp --dport 80 -j DROP",
            "-A CHECK -p tcp -m tcp --dport 22 -j ACCEPT",
            "-A CHECK -p tcp -m tcp --dport 80 -j RETURN",
            "-A CHECK -p tcp -m tcp --dport 81 -j REJECT --reject-with tcp-reset",
            chains=("CHECK",),
        )
    )
    assert trace(e, dport=22).verdict == "ACCEPT"
    assert trace(e, dport=80).verdict == "DROP"  # RETURN, then the next INPUT rule
    assert trace(e, dport=81).verdict == "REJECT"
    assert trace(e, dport=82).verdict == "ACCEPT"  # falls off CHECK, off INPUT: policy
    assert lines(trace(e, dport=80)) == [6, 9, 7]  # jump, RETURN, DROP


def test_goto_returns_to_the_callers_caller():
    e = engine_of(
        filter_table(
            "-A INPUT -j A",
            "-A INPUT -j DROP",
            "-A A -g B",
            "-A A -j ACCEPT",
            "-A B -p tcp -m tcp --dport 22 -j ACCEPT",
            chains=("A", "B"),
        )
    )
    assert trace(e, dport=22).verdict == "ACCEPT"
    # B falls through: back to INPUT after `-j A` (not to A's ACCEPT)
    assert trace(e, dport=23).verdict == "DROP"


def test_return_in_a_builtin_chain_is_the_policy():
    e = engine_of(filter_table("-A INPUT -p tcp -j RETURN", "-A INPUT -j ACCEPT", input_policy="DROP"))
    assert trace(e).verdict == "DROP"
    assert trace(e, proto="udp").verdict == "ACCEPT"


def test_goto_from_a_builtin_chain_ends_in_its_policy():
    e = engine_of(
        filter_table("-A INPUT -g B", "-A INPUT -j ACCEPT", "-A B -p udp -j ACCEPT", input_policy="DROP", chains=("B",))
    )
    assert trace(e).verdict == "DROP"
    assert trace(e, proto="udp").verdict == "ACCEPT"


def test_a_jump_loop_ends_uncertain_instead_of_running_forever():
    # iptables-restore refuses loops; a dump read anyway must not hang the engine
    e = engine_of(filter_table("-A INPUT -j A", "-A A -j B", "-A B -j A", chains=("A", "B")))
    r = trace(e)
    assert not r.certain
    assert any("loop" in u.reason for u in r.uncertain_rules)


def test_deep_jump_chains_do_not_overflow_the_stack():
    n = 1500
    rules = [f"-A C{k} -j C{k + 1}" for k in range(n)] + [f"-A C{n} -j DROP", "-A INPUT -j C0"]
    e = engine_of(filter_table(*rules, chains=[f"C{k}" for k in range(n + 1)]))
    r = trace(e)
    assert r.verdict == "DROP" or not r.certain  # either followed, or stopped as too deep


def test_tables_run_in_priority_order_raw_first():
    text = (
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A PREROUTING -p tcp -m tcp --dport 25 -j DROP\nCOMMIT\n"
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -p tcp -m tcp --dport 25 -j DNAT --to-destination 10.0.0.9:25\nCOMMIT\n"
    )
    e = engine_of(text)
    r = trace(e, dport=25)
    assert r.verdict == "DROP" and [s.table for s in r.main.steps if s.kind == "rule"] == ["raw"]


def test_dnat_to_another_host_goes_through_forward_not_input():
    text = filter_table(
        "-A INPUT -p tcp -m tcp --dport 8080 -j DROP", "-A FORWARD -d 10.0.0.9/32 -j ACCEPT", forward_policy="DROP"
    ) + (
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.9:80\nCOMMIT\n"
    )
    e = engine_of(text, routes=("10.0.0.0/24=eth1",))
    r = trace(e, dport=8080)
    assert (r.verdict, r.delivery, r.final_destination, r.out_interface) == ("ACCEPT", "forward", "10.0.0.9:80", "eth1")
    assert any("10.0.0.0/24 is routed to eth1" in a for a in r.assumptions)


def test_nat_sees_only_new_connections():
    text = filter_table() + (
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p udp -j CT --notrack\nCOMMIT\n"
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -j DNAT --to-destination 10.0.0.9\nCOMMIT\n"
    )
    e = engine_of(text, routes=("10.0.0.0/24=eth1",))
    assert trace(e, proto="tcp").final_destination == "10.0.0.9:80"
    # untracked (NOTRACK in raw): nat is skipped, the packet stays local
    r = trace(e, proto="udp", dport=53)
    assert r.delivery == "local" and r.final_destination == "198.51.100.1:53"
    assert trace(e, proto="tcp", state="INVALID").delivery == "local"


def test_mark_set_in_nat_is_seen_by_filter_forward():
    """kube-proxy: KUBE-MARK-MASQ (nat) sets 0x4000, KUBE-FORWARD (filter) accepts on it."""
    text = filter_table("-A FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT", forward_policy="DROP") + (
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        ":MASQ - [0:0]\n:SVC - [0:0]\n"
        "-A PREROUTING -p tcp -m tcp --dport 30080 -j SVC\n"
        "-A PREROUTING -p tcp -m tcp --dport 30081 -j DNAT --to-destination 10.0.0.9:80\n"
        "-A MASQ -j MARK --set-xmark 0x4000/0x4000\n"
        "-A SVC -j MASQ\n-A SVC -j DNAT --to-destination 10.0.0.9:80\nCOMMIT\n"
    )
    e = engine_of(text, routes=("10.0.0.0/24=eth1",))
    assert trace(e, dport=30080).verdict == "ACCEPT"
    assert trace(e, dport=30081).verdict == "DROP"  # no mark: FORWARD policy


def test_established_replies_and_state_matches():
    e = engine_of(filter_table("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", input_policy="DROP"))
    assert trace(e, state="ESTABLISHED").verdict == "ACCEPT"
    assert trace(e, state="NEW").verdict == "DROP"


def test_uncertain_match_gives_both_outcomes_and_names_the_rule():
    e = engine_of(
        filter_table("-A INPUT -p tcp -m tcp --dport 22 -m recent --rcheck --name SSH -j DROP", "-A INPUT -j ACCEPT")
    )
    r = trace(e, dport=22)
    assert not r.certain
    assert {o.verdict for o in r.outcomes} == {"DROP", "ACCEPT"}
    assert [u.line for u in r.uncertain_rules] == [5]
    assert trace(e, dport=23).certain  # the rule cannot match port 23 at all


def test_an_undecided_log_rule_does_not_make_the_verdict_uncertain():
    e = engine_of(filter_table("-A INPUT -m limit --limit 3/min -j LOG", "-A INPUT -j DROP"))
    r = trace(e)
    assert r.verdict == "DROP" and r.certain


def test_undecided_branches_that_end_alike_are_certain():
    e = engine_of(
        filter_table(
            "-A INPUT -m limit --limit 3/min -j LOGDROP",
            "-A INPUT -j DROP",
            "-A LOGDROP -j LOG",
            chains=("LOGDROP",),
        )
    )
    r = trace(e)
    assert len(r.outcomes) == 2 and r.verdict == "DROP" and r.certain


def test_statistic_branches_are_all_real():
    text = filter_table() + (
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.0.0.1:80\n"
        "-A PREROUTING -j DNAT --to-destination 10.0.0.2:80\nCOMMIT\n"
    )
    e = engine_of(text, routes=("10.0.0.0/24=eth1",))
    r = trace(e)
    assert {o.witness.final.endpoint() for o in r.outcomes} == {"10.0.0.1:80", "10.0.0.2:80"}
    assert r.certain  # both are accepted; which endpoint is chance, not doubt
    assert all(o.random for o in r.outcomes)


def test_unknown_target_is_assumed_to_continue_but_flagged():
    e = engine_of(filter_table("-A INPUT -j FROBNICATE --frob 1", "-A INPUT -j DROP"))
    r = trace(e)
    assert r.verdict == "DROP" and not r.certain


def test_nfqueue_forks_both_ways():
    e = engine_of(filter_table("-A INPUT -p tcp -j NFQUEUE --queue-num 1"))
    r = trace(e)
    assert {o.verdict for o in r.outcomes} == {"ACCEPT", "DROP"} and not r.certain


def test_ipv6_journey():
    text = (
        "# Generated by ip6tables-save v1.8.9\n"
        + filter_table("-A FORWARD -d fd00::2/128 -o br0 -p tcp -m tcp --dport 80 -j ACCEPT", forward_policy="DROP")
        + (
            "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
            "-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00::2]:80\nCOMMIT\n"
        )
    )
    e = engine_of(text, routes=("fd00::/64=br0",))
    r = trace(e, src="2001:db8::9", dst="2001:db8::1", dport=8080)
    assert (r.verdict, r.final_destination, r.out_interface) == ("ACCEPT", "[fd00::2]:80", "br0")
    r = trace(e, src="2001:db8::9", dst="2001:db8::1", dport=8081)
    assert r.verdict == "ACCEPT" and r.delivery == "local"
    # ::1 from the wire never reaches netfilter
    r = trace(e, src="2001:db8::9", dst="::1", dport=8080)
    assert r.verdict == "DROP"


def test_martian_loopback_unless_dnat_rescues_it():
    text = filter_table() + (
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -d 127.0.0.1/32 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 10.0.0.9:5432\nCOMMIT\n"
    )
    e = engine_of(text, routes=("10.0.0.0/24=eth1",))
    assert trace(e, dst="127.0.0.1", dport=5432).final_destination == "10.0.0.9:5432"
    assert trace(e, dst="127.0.0.1", dport=5433).verdict == "DROP"


def test_dnat_port_range_with_base_shifts_ports():
    text = filter_table() + (
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -p udp -m udp --dport 5000:5009 -j DNAT --to-destination 10.0.0.3:6000-6009/5000\nCOMMIT\n"
    )
    e = engine_of(text, routes=("10.0.0.0/24=eth1",))
    assert trace(e, proto="udp", dport=5004).final_destination == "10.0.0.3:6004"


def test_locally_generated_packets_use_output():
    from ipt_lint.semantics.packets import box_from
    from ipt_lint.semantics.packetset import PacketSet

    e = engine_of(filter_table("-A OUTPUT -o lo -j ACCEPT", "-A OUTPUT -p tcp -m tcp --dport 25 -j REJECT"))
    s = PacketSet(
        e.space,
        [
            box_from(
                e.space, src="198.51.100.1/32", dst="203.0.113.5/32", proto="tcp", dport=25, ctstate="NEW", fragment=1
            )
        ],
    )
    outs = e.reach(s, hook="OUTPUT")
    assert [o.verdict for o in outs] == ["REJECT"]
    # later fragments carry no port: `--dport 25` cannot match them, the policy accepts them
    s = PacketSet(
        e.space, [box_from(e.space, src="198.51.100.1/32", dst="203.0.113.5/32", proto="tcp", dport=25, ctstate="NEW")]
    )
    assert sorted(o.verdict for o in e.reach(s, hook="OUTPUT")) == ["ACCEPT", "REJECT"]
    s = PacketSet(
        e.space, [box_from(e.space, src="127.0.0.1/32", dst="127.0.0.1/32", proto="tcp", dport=25, ctstate="NEW")]
    )
    assert {(o.verdict, o.delivery) for o in e.reach(s, hook="OUTPUT")} == {("ACCEPT", "local")}
