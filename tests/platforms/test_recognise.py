"""Recognisers: which producer wrote a dump, Docker's generation, who owns each rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ipt_lint.model import build_model
from ipt_lint.parse import parse_text
from ipt_lint.platforms import recognise

REPO = Path(__file__).resolve().parents[2]


def rec_of(text: str):
    rs, _ = build_model(parse_text(textwrap.dedent(text).lstrip("\n"), "t.rules"))
    return rs, recognise(rs)


def filt(*lines: str, chains=()) -> str:
    return "\n".join(
        ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
        + [f":{c} - [0:0]" for c in chains]
        + list(lines)
        + ["COMMIT", ""]
    )


GENERATIONS = [
    (
        "<=17",
        filt(
            "-A FORWARD -j DOCKER-ISOLATION",
            "-A FORWARD -o docker0 -j DOCKER",
            "-A DOCKER-ISOLATION -j RETURN",
            chains=("DOCKER", "DOCKER-ISOLATION"),
        ),
    ),
    (
        "18-27",
        filt(
            "-A FORWARD -j DOCKER-USER",
            "-A FORWARD -j DOCKER-ISOLATION-STAGE-1",
            "-A DOCKER-ISOLATION-STAGE-1 -j RETURN",
            "-A DOCKER-ISOLATION-STAGE-2 -j RETURN",
            "-A DOCKER-USER -j RETURN",
            chains=("DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"),
        ),
    ),
    (
        "28.0.0",
        filt(
            "-A FORWARD -j DOCKER-USER",
            "-A FORWARD -m set --match-set docker-ext-bridges-v4 dst -j DOCKER",
            "-A FORWARD -j DOCKER-ISOLATION-STAGE-1",
            chains=("DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"),
        ),
    ),
    (
        "28.x",
        filt(
            "-A FORWARD -j DOCKER-USER",
            "-A FORWARD -j DOCKER-FORWARD",
            "-A DOCKER-FORWARD -j DOCKER-CT",
            "-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1",
            "-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2",
            chains=(
                "DOCKER",
                "DOCKER-BRIDGE",
                "DOCKER-CT",
                "DOCKER-FORWARD",
                "DOCKER-ISOLATION-STAGE-1",
                "DOCKER-ISOLATION-STAGE-2",
                "DOCKER-USER",
            ),
        ),
    ),
    (
        "29",
        filt(
            "-A FORWARD -j DOCKER-USER",
            "-A FORWARD -j DOCKER-FORWARD",
            "-A DOCKER-FORWARD -j DOCKER-CT",
            "-A DOCKER-FORWARD -j DOCKER-INTERNAL",
            "-A DOCKER-FORWARD -i docker0 -j ACCEPT",
            chains=("DOCKER", "DOCKER-BRIDGE", "DOCKER-CT", "DOCKER-FORWARD", "DOCKER-INTERNAL", "DOCKER-USER"),
        ),
    ),
]


@pytest.mark.parametrize("generation, text", GENERATIONS, ids=[g for g, _ in GENERATIONS])
def test_docker_generations(generation, text):
    _, rec = rec_of(text)
    assert rec.docker_generation == generation
    assert rec.platform("docker").evidence


def test_no_docker_means_no_generation():
    _, rec = rec_of(filt("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"))
    assert rec.docker_generation is None and rec.platforms == ()


def test_docker_details_from_the_shared_dumps(shared_dir):
    rs, rec = rec_of((shared_dir / "dumps/04-docker28-docker-user-restricted.rules").read_text())
    p = rec.platform("docker")
    assert p.variant == "28.x"
    assert p.detail("docker-user-return") == "no" and p.detail("direct-routing-protection") == "per-container"
    rs, rec = rec_of((shared_dir / "dumps/01-docker27-two-networks.rules").read_text())
    assert rec.platform("docker").detail("userland-proxy") == "on"
    assert set(rec.bridges) == {"docker0", "br-a1b2c3d4e5f6", "br-5e8f0d9a1c2b"}


def test_rule_producers_in_a_ufw_docker_host(shared_dir):
    rs, rec = rec_of((shared_dir / "dumps/06-ufw-docker27-ufw-docker-fix.rules").read_text())
    by_text = {r.text: rec.producer(r) for r in rs.rules()}
    assert by_text["-A FORWARD -j DOCKER-USER"] == "docker"
    assert by_text["-A FORWARD -j ufw-before-forward"] == "ufw"
    assert by_text["-A DOCKER-USER -j ufw-user-forward"] == "ufw"
    assert by_text["-A DOCKER-USER -j RETURN"] == "docker"
    assert by_text["-A DOCKER-USER -s 10.0.0.0/8 -j RETURN"] == "none"  # hand-written
    assert by_text["-A POSTROUTING -s 172.18.0.0/16 ! -o br-c0ffee5a7b21 -j MASQUERADE"] == "docker"
    assert rec.platform("ufw").detail("ufw-docker") == "yes"


def test_kube_and_podman_and_cni():
    _, rec = rec_of(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        ":KUBE-SERVICES - [0:0]\n:KUBE-EXT-ABC - [0:0]\n:CNI-HOSTPORT-DNAT - [0:0]\n:CNI-DN-a108cc02c6c4f738a9d68 - [0:0]\n"
        ":NETAVARK-HOSTPORT-DNAT - [0:0]\n"
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n'
        "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n"
        "-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT\n"
        "-A CNI-DN-a108cc02c6c4f738a9d68 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.4.0.2:80\n"
        "COMMIT\n"
    )
    assert set(rec.names()) == {"kube", "podman", "cni"}
    assert rec.platform("kube").detail("generation").startswith(">=1.24")
    assert rec.platform("cni").variant == "portmap"
    assert rec.chain_producer("nat", "NETAVARK-HOSTPORT-DNAT") == "podman"


def test_firewalld_old_and_new():
    _, rec = rec_of(filt("-A INPUT -j INPUT_ZONES", "-A INPUT_ZONES -g IN_public", chains=("INPUT_ZONES", "IN_public")))
    assert rec.platform("firewalld").variant == "old"
    _, rec = rec_of(filt("-A INPUT -j INPUT_dispatch", chains=("INPUT_dispatch",)))
    assert rec.platform("firewalld").variant == "2.x"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("podman-netavark.rules", {"podman"}),
        ("kube-node.rules", {"kube"}),
        ("plain-server.rules", set()),
        ("ufw-docker.rules", {"docker", "ufw"}),
    ],
)
def test_samples(name, expected):
    path = REPO / "samples" / name
    if not path.is_file():
        pytest.skip(f"samples/{name} is not there")
    _, rec = rec_of(path.read_text())
    assert set(rec.names()) == expected
