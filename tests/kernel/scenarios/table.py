"""The scenario table for ``tests/kernel/test_scenarios.py``: dump, lab topology and probes.

Every dump in this folder is written in the exact form ``iptables-save`` prints for that runtime
generation (the test checks it round-trips through iptables-restore/iptables-save). Bridge names,
subnets and container addresses in a dump are the ones its topology builds.

Conventions of the lab topologies:

* the host is 198.51.100.1 on ``eth0`` (2001:db8::1 for IPv6), the outside neighbour 198.51.100.2;
  the neighbour's default route (and its 127.0.0.0/8 route) point at the host, so it can probe
  container addresses and the host's loopback directly;
* host listeners stand in for whatever would accept a connection on the host (sshd, a web server,
  docker-proxy): the firewall verdict is what the comparison is about, so every port a probe may
  reach on the host has a listener, and "rejected" only ever means a REJECT rule;
* likewise every container listens on every port a probe may deliver to.

``expect`` is what the kernel does (checked by the test as well); ``why`` says what the probe shows.
"""

from __future__ import annotations

from ..lab import Container, Topology
from ..scenario_support import DROPPED, REJECTED, Probe, Scenario, host, to

HOST = "198.51.100.1"
P = Probe


# --------------------------------------------------------------------------------------------
# 1. Docker 20.10-27 classic layout, ports published on 0.0.0.0

BR01 = "br-0c7d3e9f1a24"
S01 = Scenario(
    id="01-docker27-published",
    dump="01-docker27-published.rules",
    topology=Topology(
        bridges={"docker0": "172.17.0.1/16", BR01: "172.18.0.1/16"},
        containers=[
            Container("dns", "docker0", "172.17.0.2", [("udp", 53), ("tcp", 9000)]),
            Container("web", BR01, "172.18.0.2", [("tcp", 80), ("tcp", 22)]),
        ],
        # 8080/tcp, 5353/udp: docker-proxy's listeners on the host (it serves containers and the host itself)
        host_listen=[("tcp", 22), ("tcp", 9000), ("tcp", 5353), ("tcp", 8080), ("udp", 5353)],
    ),
    needs_br_netfilter=True,
    probes=[
        P("tcp", HOST, 8080, to("web", 80), why="published 8080 -> web:80"),
        P("tcp", "172.18.0.1", 8080, to("web", 80), why="published port answers on a bridge gateway address too"),
        P("tcp", "172.17.0.1", 8080, to("web", 80), why="... on every local address"),
        P("udp", HOST, 5353, to("dns", 53), why="published 5353/udp -> dns:53"),
        P("tcp", HOST, 5353, host(5353), why="only udp is published: tcp 5353 is the host's"),
        P("tcp", HOST, 22, host(22), why="unpublished host port: INPUT ACCEPT"),
        P("tcp", HOST, 9000, host(9000), why="unpublished host port"),
        P("tcp", "172.18.0.2", 80, to("web", 80), why="direct routing to a published container port"),
        P("tcp", "172.18.0.2", 22, DROPPED, why="direct routing to an unpublished container port: FORWARD DROP"),
        P("udp", "172.17.0.2", 53, to("dns", 53), why="direct routing, published udp port"),
        P("tcp", "172.17.0.2", 9000, DROPPED, why="direct routing, unpublished port"),
        P("udp", HOST, 5353, host(5353), via="web", why="nat DOCKER -i BR RETURN: no DNAT from any bridge, docker-proxy answers"),
        P("tcp", "172.17.0.2", 9000, DROPPED, via="web", why="network isolation"),
        P("tcp", "172.18.0.1", 22, host(22), via="web", why="container to host: INPUT"),
        P("tcp", HOST, 8080, host(8080), via="dns", why="same from docker0"),
    ],
)


# --------------------------------------------------------------------------------------------
# 2. Docker 27 with a 127.0.0.1 publish

BR02 = "br-61d0a2c4e8f7"
S02 = Scenario(
    id="02-docker27-loopback-publish",
    dump="02-docker27-loopback-publish.rules",
    topology=Topology(
        bridges={"docker0": "172.17.0.1/16", BR02: "172.18.0.1/16"},
        containers=[
            Container("adminer", "docker0", "172.17.0.2", [("tcp", 8080)]),
            Container("dns", "docker0", "172.17.0.3", [("udp", 53)]),
            Container("web", BR02, "172.18.0.2", [("tcp", 80)]),
        ],
        # 8081/tcp and 5353/udp: docker-proxy would listen on 127.0.0.1 only; the lab's host listener
        # listens everywhere, so a probe the firewall lets through to the host is "delivered".
        host_listen=[("tcp", 22), ("tcp", 8081), ("udp", 5353)],
    ),
    probes=[
        P("tcp", "127.0.0.1", 8081, to("adminer", 8080), why="LAN neighbour routes 127.0.0.1 via the host: DNAT beats the martian check"),
        P("udp", "127.0.0.1", 5353, to("dns", 53), why="same for a udp loopback publish"),
        P("tcp", "127.0.0.1", 8080, to("web", 80), why="a 0.0.0.0 publish matches 127.0.0.1 too (addrtype LOCAL)"),
        P("tcp", "127.0.0.1", 22, DROPPED, why="no DNAT: 127.0.0.1 from the wire is a martian"),
        P("tcp", "127.0.0.2", 8081, DROPPED, why="the DNAT is for 127.0.0.1/32 only; 127.0.0.2 stays a martian"),
        P("tcp", HOST, 8081, host(8081), why="loopback publish is not on the public address: the host's own port"),
        P("udp", HOST, 5353, host(5353), why="same for udp"),
        P("tcp", "172.18.0.1", 8081, host(8081), why="nor on a bridge gateway"),
        P("tcp", HOST, 8080, to("web", 80)),
        P("tcp", "172.17.0.2", 8080, to("adminer", 8080), why="direct routing reaches the 'loopback-only' container port"),
        P("udp", "172.17.0.3", 53, to("dns", 53), why="direct routing, udp"),
        P("tcp", HOST, 22, host(22)),
    ],
)


# --------------------------------------------------------------------------------------------
# 3. Docker 27 with icc=false (docker0), a legacy --link, and a user network with ICC on

BR03 = "br-a3f19c0d5e72"
S03 = Scenario(
    id="03-docker27-icc-false",
    dump="03-docker27-icc-false.rules",
    topology=Topology(
        bridges={"docker0": "172.17.0.1/16", BR03: "172.18.0.1/16"},
        containers=[
            Container("db", "docker0", "172.17.0.2", [("tcp", 5432), ("tcp", 80)]),
            Container("app", "docker0", "172.17.0.3", [("tcp", 80)]),
            Container("c", BR03, "172.18.0.2", [("tcp", 80)]),
            Container("d", BR03, "172.18.0.3", [("tcp", 80)]),
        ],
        host_listen=[("tcp", 22), ("tcp", 8080)],  # 8080: docker-proxy's listener on the host
    ),
    needs_br_netfilter=True,
    probes=[
        P("tcp", "172.17.0.2", 5432, to("db", 5432), via="app", why="--link app -> db:5432 is allowed"),
        P("tcp", "172.17.0.2", 80, DROPPED, via="app", why="icc=false: any other port between containers is dropped"),
        P("tcp", "172.17.0.3", 80, DROPPED, via="db", why="icc=false the other way round"),
        P("tcp", "172.18.0.3", 80, to("d", 80), via="c", why="ICC is on for the user network"),
        P("tcp", "172.18.0.2", 80, DROPPED, via="app", why="network isolation"),
        P("tcp", "172.17.0.3", 80, DROPPED, via="c", why="network isolation the other way round"),
        P("tcp", "172.17.0.1", 22, host(22), via="app", why="container to host: INPUT"),
        P("tcp", HOST, 8080, to("app", 80), why="published 8080 -> app:80"),
        P("tcp", "172.17.0.3", 80, to("app", 80), why="direct routing to the published port"),
        P("tcp", "172.17.0.2", 5432, DROPPED, why="the link rule is for app only (-s 172.17.0.3)"),
        P("tcp", HOST, 8080, host(8080), via="db", why="nat DOCKER -i docker0 RETURN: no DNAT, the host (docker-proxy) answers"),
        P("tcp", HOST, 8080, host(8080), via="c", why="from the other network as well (its own -i BR RETURN)"),
    ],
)


# --------------------------------------------------------------------------------------------
# 4-7. Docker 27, docker0 only, different DOCKER-USER restrictions

def _docker0(*extra_web_ports: int, **kw) -> Topology:
    return Topology(
        bridges={"docker0": "172.17.0.1/16"},
        containers=[
            Container("web", "docker0", "172.17.0.2", [("tcp", 80), *(("tcp", p) for p in extra_web_ports)]),
            Container("dns", "docker0", "172.17.0.3", [("udp", 53)]),
        ],
        host_listen=[("tcp", 22)],
        **kw,
    )


S04 = Scenario(
    id="04-docker27-user-interface",
    dump="04-docker27-user-interface.rules",
    topology=_docker0(second_uplink=("eth1", "192.0.2.1/24", "192.0.2.2/24")),
    notes="eth0 is the public interface, eth1 the LAN; DOCKER-USER drops what is forwarded in from eth0",
    probes=[
        P("tcp", HOST, 8080, DROPPED, why="published port from the public interface: DOCKER-USER -i eth0 DROP"),
        P("tcp", "192.0.2.1", 8080, to("web", 80), via="eth1", why="from the LAN interface"),
        P("tcp", HOST, 8080, to("web", 80), via="eth1", why="arrives on eth1, addressed to eth0's address: the interface decides"),
        P("tcp", "192.0.2.1", 8080, DROPPED, why="arrives on eth0, addressed to eth1's address"),
        P("udp", HOST, 5353, DROPPED),
        P("udp", "192.0.2.1", 5353, to("dns", 53), via="eth1"),
        P("tcp", HOST, 22, host(22), why="INPUT is not restricted"),
        P("tcp", "192.0.2.1", 22, host(22), via="eth1"),
        P("tcp", "172.17.0.2", 80, DROPPED, why="direct routing from eth0"),
        P("tcp", "172.17.0.2", 80, to("web", 80), via="eth1", why="direct routing from eth1"),
        P("tcp", "172.17.0.1", 8080, DROPPED, why="bridge gateway address from eth0"),
        P("tcp", "172.17.0.1", 8080, to("web", 80), via="eth1"),
        P("tcp", HOST, 22, host(22), via="web"),
        P("udp", "172.17.0.3", 53, to("dns", 53), via="web", why="container to container is not -i eth0"),
    ],
)

S05 = Scenario(
    id="05-docker27-user-source",
    dump="05-docker27-user-source.rules",
    topology=_docker0(outside_extra=["198.51.100.77/24", "198.51.100.78/24", "203.0.113.9/24"]),
    notes="only 198.51.100.77 may reach published ports; udp also from 198.51.100.70-79",
    probes=[
        P("tcp", HOST, 8080, DROPPED, why="source 198.51.100.2 is not allowed"),
        P("tcp", HOST, 8080, to("web", 80), src="198.51.100.77", why="the allowed source"),
        P("tcp", HOST, 8080, DROPPED, src="198.51.100.78", why="a near miss"),
        P("tcp", HOST, 8080, DROPPED, src="203.0.113.9", why="an off-link source"),
        P("udp", HOST, 5353, DROPPED, why="not in the udp range"),
        P("udp", HOST, 5353, to("dns", 53), src="198.51.100.78", why="udp range RETURN"),
        P("udp", HOST, 5353, to("dns", 53), src="198.51.100.77"),
        P("tcp", "172.17.0.2", 80, to("web", 80), src="198.51.100.77", why="direct routing from the allowed source"),
        P("tcp", "172.17.0.2", 80, DROPPED, why="direct routing from elsewhere"),
        P("tcp", HOST, 22, host(22), why="INPUT is not restricted"),
        P("tcp", "172.17.0.1", 8080, to("web", 80), src="198.51.100.77"),
        P("udp", "172.17.0.3", 53, DROPPED, src="203.0.113.9"),
    ],
)

S06 = Scenario(
    id="06-docker27-user-hostport",
    dump="06-docker27-user-hostport.rules",
    topology=_docker0(3000, 9090),
    notes="DOCKER-USER written against host ports / the host address: DNAT already happened",
    probes=[
        P("tcp", HOST, 8080, to("web", 80), why="--dport 8080 never matches: the packet already says :80"),
        P("tcp", HOST, 9090, DROPPED, why="host port == container port, so --dport 9090 does match"),
        P("tcp", HOST, 3000, to("web", 3000), why="-d <host address> never matches after DNAT"),
        P("udp", HOST, 5353, to("dns", 53), why="--dport 5353 never matches"),
        P("tcp", "172.17.0.2", 9090, DROPPED, why="direct routing to :9090 matches the rule as well"),
        P("tcp", "172.17.0.2", 80, to("web", 80)),
        P("tcp", "172.17.0.1", 8080, to("web", 80)),
        P("tcp", "172.17.0.2", 3000, to("web", 3000), why="direct: destination is the container, not the host"),
        P("tcp", HOST, 22, host(22)),
    ],
)

S07 = Scenario(
    id="07-docker27-user-ctorigdstport",
    dump="07-docker27-user-ctorigdstport.rules",
    topology=_docker0(3000, 9090, 8080),
    notes="the same intent written with conntrack's original tuple: it works",
    probes=[
        P("tcp", HOST, 8080, DROPPED, why="--ctorigdstport 8080 sees the port before DNAT"),
        P("tcp", "172.17.0.1", 8080, DROPPED, why="on every local address"),
        P("tcp", "172.17.0.2", 80, to("web", 80), why="direct routing: the original port is 80, not 8080"),
        P("tcp", "172.17.0.2", 8080, DROPPED, why="direct routing to container port 8080: original port 8080 matches"),
        P("udp", HOST, 5353, DROPPED),
        P("udp", "172.17.0.3", 53, to("dns", 53), why="direct routing: original port 53"),
        P("tcp", HOST, 3000, DROPPED, why="--ctorigdst <host> --ctorigdstport 3000"),
        P("tcp", "172.17.0.1", 3000, to("web", 3000), why="original destination is the gateway, not the host address"),
        P("tcp", HOST, 9090, to("web", 9090), why="no rule for 9090"),
        P("tcp", HOST, 22, host(22)),
    ],
)


# --------------------------------------------------------------------------------------------
# 8. Docker 28.x (28.2.2+ layout: DOCKER-FORWARD/-BRIDGE/-CT, raw per-container drops)

BR08 = "br-4a8c2e6f0b13"
S08 = Scenario(
    id="08-docker28-published",
    dump="08-docker28-published.rules",
    topology=Topology(
        bridges={"docker0": "172.17.0.1/16", BR08: "172.18.0.1/16"},
        containers=[
            Container("dns", "docker0", "172.17.0.2", [("udp", 53), ("tcp", 9000)]),
            Container("web", BR08, "172.18.0.2", [("tcp", 80), ("tcp", 443)]),
            Container("db", BR08, "172.18.0.3", [("tcp", 5432)]),
            Container("grafana", BR08, "172.18.0.4", [("tcp", 3000)]),
        ],
        host_listen=[("tcp", 22), ("tcp", 3000), ("tcp", 8080)],  # 3000, 8080: docker-proxy stand-ins
    ),
    needs_br_netfilter=True,
    probes=[
        P("tcp", HOST, 8080, to("web", 80)),
        P("tcp", "172.18.0.1", 8443, to("web", 443)),
        P("tcp", "172.17.0.1", 8080, to("web", 80)),
        P("udp", HOST, 5353, to("dns", 53)),
        P("tcp", "172.18.0.2", 80, DROPPED, why="raw PREROUTING -d CIP ! -i BR DROP: no direct routing"),
        P("tcp", "172.18.0.3", 5432, DROPPED, why="raw drop, unpublished container"),
        P("udp", "172.17.0.2", 53, DROPPED, why="raw drop, udp"),
        P("tcp", "172.18.0.4", 3000, DROPPED, why="raw drop"),
        P("tcp", "127.0.0.1", 3000, DROPPED, why="raw -d 127.0.0.1 ! -i lo DROP closes the 27.x loopback hole"),
        P("tcp", HOST, 3000, host(3000), why="the loopback publish is not on the public address"),
        P("tcp", HOST, 22, host(22)),
        P("tcp", "172.18.0.3", 5432, to("db", 5432), via="web", why="ICC on the same network"),
        P("tcp", "172.17.0.2", 9000, DROPPED, via="web", why="other network: raw drop"),
        P("tcp", "172.17.0.1", 8080, host(8080), via="dns", why="nat -i docker0 RETURN: no DNAT from a bridge, docker-proxy's job"),
        P("tcp", "172.18.0.1", 22, host(22), via="web"),
    ],
)


# --------------------------------------------------------------------------------------------
# 9. Docker 28.x gateway modes: routed and nat-unprotected

BR09R = "br-7d21c9a4e0f6"  # gateway_mode_ipv4=routed, 172.20.0.0/16
BR09U = "br-e3b5f7a91c28"  # gateway_mode_ipv4=nat-unprotected, 172.21.0.0/16
S09 = Scenario(
    id="09-docker28-gateway-modes",
    dump="09-docker28-gateway-modes.rules",
    topology=Topology(
        bridges={"docker0": "172.17.0.1/16", BR09R: "172.20.0.1/16", BR09U: "172.21.0.1/16"},
        containers=[
            Container("r1", BR09R, "172.20.0.2", [("tcp", 80), ("tcp", 22), ("udp", 53)]),
            Container("u1", BR09U, "172.21.0.2", [("tcp", 80), ("tcp", 22)]),
        ],
        host_listen=[("tcp", 22), ("tcp", 8080)],
    ),
    needs_br_netfilter=True,
    probes=[
        P("tcp", "172.20.0.2", 80, to("r1", 80), why="routed: the published container port is reachable by routing"),
        P("udp", "172.20.0.2", 53, to("r1", 53), why="routed, udp"),
        P("tcp", "172.20.0.2", 22, DROPPED, why="routed: unpublished port hits the per-network DROP"),
        P("tcp", HOST, 8080, host(8080), why="routed: no DNAT for the host port (8080 is the host's)"),
        P("tcp", HOST, 9080, to("u1", 80), why="nat-unprotected: published port via DNAT"),
        P("tcp", "172.21.0.1", 9080, to("u1", 80)),
        P("tcp", "172.21.0.2", 80, to("u1", 80), why="nat-unprotected: direct routing allowed"),
        P("tcp", "172.21.0.2", 22, to("u1", 22), why="nat-unprotected: every container port is reachable"),
        P("tcp", "172.20.0.2", 80, to("r1", 80), via="u1", why="STAGE-1 -o routed RETURN: other networks reach routed published ports"),
        P("tcp", "172.20.0.2", 22, DROPPED, via="u1", why="... but not unpublished ones"),
        P("tcp", "172.21.0.2", 80, DROPPED, via="r1", why="from the routed network: isolation"),
        P("tcp", HOST, 22, host(22)),
    ],
)


# --------------------------------------------------------------------------------------------
# 10. Docker 29 (no isolation chains, DOCKER-INTERNAL) with an internal network

BR10A = "br-2f6e8a0c4d17"
BR10I = "br-9c1b3d5e7f20"  # --internal
S10 = Scenario(
    id="10-docker29-internal",
    dump="10-docker29-internal.rules",
    topology=Topology(
        bridges={"docker0": "172.17.0.1/16", BR10A: "172.18.0.1/16", BR10I: "172.19.0.1/16"},
        containers=[
            Container("c0", "docker0", "172.17.0.2", [("udp", 53), ("tcp", 9000)]),
            Container("web", BR10A, "172.18.0.2", [("tcp", 80)]),
            Container("i1", BR10I, "172.19.0.2", [("tcp", 80)]),
            Container("i2", BR10I, "172.19.0.3", [("tcp", 80)]),
        ],
        host_listen=[("tcp", 22)],
    ),
    needs_br_netfilter=True,
    probes=[
        P("tcp", HOST, 8080, to("web", 80)),
        P("udp", HOST, 5353, to("c0", 53)),
        P("tcp", "172.18.0.2", 80, DROPPED, why="raw direct-access drop"),
        P("tcp", HOST, 8080, to("web", 80), via="c0", why="29.x: no nat -i BR RETURN, no isolation: other networks reach published ports"),
        P("udp", HOST, 5353, to("c0", 53), via="web", why="same, the other way round"),
        P("tcp", "172.18.0.2", 80, DROPPED, via="c0", why="but not the container address (raw drop)"),
        P("tcp", "172.17.0.2", 9000, DROPPED, via="web", why="raw drop"),
        P("tcp", "172.19.0.3", 80, to("i2", 80), via="i1", why="ICC inside the internal network"),
        P("tcp", HOST, 8080, DROPPED, via="i1", why="internal network: DNAT'd out of the subnet, DOCKER-INTERNAL drops"),
        P("tcp", "172.19.0.2", 80, DROPPED, why="from outside into the internal network: DOCKER-INTERNAL"),
        P("tcp", "172.19.0.2", 80, DROPPED, via="web", why="from another network into the internal one"),
        P("tcp", "172.19.0.1", 22, host(22), via="i1", why="internal containers still reach the host (INPUT)"),
        P("tcp", HOST, 22, host(22)),
    ],
)


# --------------------------------------------------------------------------------------------
# 11. ufw (deny incoming, deny routed) + Docker 27: the bypass

S11 = Scenario(
    id="11-ufw-docker27",
    dump="11-ufw-docker27.rules",
    topology=Topology(
        bridges={"docker0": "172.17.0.1/16"},
        containers=[
            Container("web", "docker0", "172.17.0.2", [("tcp", 80), ("tcp", 22)]),
            Container("redis", "docker0", "172.17.0.3", [("tcp", 6379)]),
        ],
        host_listen=[("tcp", 22), ("tcp", 25), ("tcp", 443), ("tcp", 3306), ("udp", 8080)],
        outside_extra=["203.0.113.9/24"],
    ),
    probes=[
        P("tcp", HOST, 22, host(22), why="ufw allow 22/tcp"),
        P("tcp", HOST, 8080, to("web", 80), why="'ufw deny 8080' is on INPUT; the DNAT'd packet crosses FORWARD"),
        P("tcp", HOST, 6379, to("redis", 6379), why="'ufw deny 6379' bypassed the same way"),
        P("tcp", HOST, 443, host(443), why="ufw allow 443/tcp"),
        P("tcp", HOST, 25, REJECTED, why="ufw reject 25/tcp: tcp-reset"),
        P("tcp", HOST, 3306, DROPPED, why="allowed only from 203.0.113.0/24: default deny"),
        P("tcp", HOST, 3306, host(3306), src="203.0.113.9", why="the allowed range"),
        P("udp", HOST, 8080, DROPPED, why="udp 8080 is not published: ufw's deny does apply"),
        P("tcp", "172.17.0.2", 80, to("web", 80), why="direct routing, published port"),
        P("tcp", "172.17.0.3", 6379, to("redis", 6379)),
        P("tcp", "172.17.0.2", 22, DROPPED, why="unpublished container port: ufw's routed default deny"),
        P("tcp", "172.17.0.1", 8080, to("web", 80)),
        P("tcp", "172.17.0.1", 22, host(22), via="redis", why="container to host: ufw's INPUT rules apply"),
        P("tcp", "172.17.0.1", 3306, DROPPED, via="redis", why="... including the default deny"),
    ],
)


# --------------------------------------------------------------------------------------------
# 12. Podman 4 / netavark 1.x iptables driver

S12 = Scenario(
    id="12-podman-netavark",
    dump="12-podman-netavark.rules",
    topology=Topology(
        bridges={"podman0": "10.88.0.1/16", "podman1": "10.89.0.1/24"},
        containers=[
            Container("web", "podman0", "10.88.0.2", [("tcp", 80)]),
            Container("db", "podman0", "10.88.0.3", [("tcp", 5432)]),
            Container("app", "podman0", "10.88.0.4", [("tcp", 9000)]),
            Container("dns", "podman0", "10.88.0.5", [("udp", 53)]),
            Container("api", "podman1", "10.89.0.2", [("tcp", 8000)]),
        ],
        host_listen=[("tcp", 22), ("tcp", 3306), ("tcp", 9000), ("udp", 53)],  # udp 53: aardvark-dns
    ),
    # netavark's iptables rules never name the bridge of a network (only the NETAVARK_ISOLATION_3
    # `-o podman1` line, with no subnet): that 10.89.0.0/24 sits behind podman1 is not in the dump.
    routes=["10.89.0.0/24=podman1"],
    needs_br_netfilter=True,
    probes=[
        P("tcp", HOST, 8080, to("web", 80), why="published despite INPUT DROP: DNAT -> FORWARD"),
        P("tcp", "10.88.0.1", 8080, to("web", 80)),
        P("udp", HOST, 5353, to("dns", 53)),
        P("tcp", "127.0.0.1", 9000, to("app", 9000), why="127.0.0.1:9000 publish: no raw protection, LAN neighbour gets in"),
        P("tcp", HOST, 9000, DROPPED, why="not published on the public address: INPUT DROP"),
        P("tcp", HOST, 22, host(22)),
        P("tcp", HOST, 3306, DROPPED, why="host firewall: INPUT DROP"),
        P("tcp", "10.88.0.3", 5432, to("db", 5432), why="FORWARD ACCEPT: unpublished container reachable by routing"),
        P("tcp", HOST, 8000, to("api", 8000), why="second network's publish"),
        P("tcp", "10.89.0.2", 8000, to("api", 8000)),
        P("tcp", "10.89.0.2", 8000, to("api", 8000), via="web", why="no isolation between the networks"),
        P("udp", "10.89.0.1", 53, host(53), via="api", why="NETAVARK_INPUT lets the backend network ask aardvark-dns"),
        P("udp", "10.88.0.1", 53, DROPPED, via="web", why="the default network has no dns rule: INPUT DROP"),
        P("tcp", "10.88.0.1", 8000, to("api", 8000), via="web", why="HOSTPORT-DNAT has no interface restriction"),
    ],
)


# --------------------------------------------------------------------------------------------
# 13. CNI portmap + firewall plugin, nerdctl-style; hardened host (INPUT DROP, FORWARD DROP)

BR13 = "br-5f0c1a2b3d4e"
S13 = Scenario(
    id="13-cni-nerdctl-portmap",
    dump="13-cni-nerdctl-portmap.rules",
    topology=Topology(
        bridges={"nerdctl0": "10.4.0.1/24", BR13: "10.4.1.1/24"},
        containers=[
            Container("app", "nerdctl0", "10.4.0.2", [("tcp", 80), ("tcp", 443)]),
            Container("cache", "nerdctl0", "10.4.0.3", [("tcp", 6379)]),
            Container("dns", "nerdctl0", "10.4.0.4", [("udp", 53)]),
            Container("worker", BR13, "10.4.1.2", [("tcp", 9000)]),
        ],
        host_listen=[("tcp", 22), ("tcp", 6379)],
        outside_extra=["203.0.113.9/24"],
    ),
    # The CNI bridge plugin's masquerade chains and the firewall plugin's rules name subnets and
    # container addresses but never the bridge they sit behind (the isolation chains name bridges
    # but no subnets): which bridge carries which /24 is not in the dump.
    routes=["10.4.0.0/24=nerdctl0", f"10.4.1.0/24={BR13}"],
    needs_br_netfilter=True,
    hairpin=True,  # nerdctl's bridge plugin config sets hairpinMode
    probes=[
        P("tcp", HOST, 8080, to("app", 80), why="published; CNI-ADMIN accepts app:80"),
        P("tcp", "10.4.0.1", 8080, to("app", 80)),
        P("tcp", HOST, 8443, DROPPED, why="published, but nothing accepts app:443 in FORWARD (policy DROP)"),
        P("tcp", "10.4.0.2", 80, to("app", 80), why="direct routing matches the same admin rule"),
        P("tcp", "10.4.0.2", 443, DROPPED),
        P("tcp", "127.0.0.1", 6379, to("cache", 6379), why="127.0.0.1 hostIP publish reached from the LAN"),
        P("tcp", "127.0.0.1", 6379, DROPPED, src="203.0.113.9", why="admin rule allows 198.51.100.0/24 only"),
        P("tcp", HOST, 6379, DROPPED, why="not DNAT'd on the public address: INPUT DROP"),
        P("tcp", "10.4.0.3", 6379, to("cache", 6379)),
        P("tcp", "10.4.0.3", 6379, DROPPED, src="203.0.113.9"),
        P("udp", HOST, 5353, to("dns", 53)),
        P("tcp", "10.4.0.3", 6379, to("cache", 6379), via="app", why="same bridge: CNI-FORWARD -s app ACCEPT"),
        P("tcp", "10.4.0.2", 443, to("app", 443), via="cache"),
        P("tcp", "10.4.0.2", 80, DROPPED, via="worker", why="ingressPolicy same-bridge isolation"),
        P("tcp", HOST, 8080, DROPPED, via="worker", why="DNAT'd into the other bridge, then isolation"),
        P("tcp", HOST, 8080, to("app", 80), via="app", why="hairpin: SETMARK + DNAT to itself, admin accept"),
        P("tcp", HOST, 22, host(22)),
    ],
)


# --------------------------------------------------------------------------------------------
# 14. kube-proxy iptables mode, NodePorts; FORWARD policy DROP, route_localnet=1

NODE = "192.168.10.21"
FRONTEND = (to("web-a", 8080), to("web-b", 8080))  # statistic: either endpoint
S14 = Scenario(
    id="14-kube-proxy-nodeport",
    dump="14-kube-proxy-nodeport.rules",
    topology=Topology(
        bridges={"cni0": "10.244.1.1/24"},
        containers=[
            Container("web-a", "cni0", "10.244.1.5", [("tcp", 8080)]),
            Container("web-b", "cni0", "10.244.1.6", [("tcp", 8080)]),
            Container("grafana", "cni0", "10.244.1.7", [("tcp", 3000)]),
            Container("fluentd", "cni0", "10.244.1.8", [("udp", 5140)]),
            Container("ingress", "cni0", "10.244.1.9", [("tcp", 80)]),
        ],
        host_listen=[("tcp", 22), ("tcp", 10250), ("tcp", 30200)],  # 30200: kube-proxy's health check server
        host_address=f"{NODE}/24",
        outside_address="192.168.10.50/24",
        host_sysctls={"net.ipv4.conf.all.route_localnet": "1"},
    ),
    # kube-proxy's rules name the cluster pod CIDR (10.244.0.0/16) but not this node's share of it,
    # nor the bridge (cni0) or its gateway address 10.244.1.1, which is one of the node's own addresses.
    routes=["10.244.1.0/24=cni0"],
    local=["10.244.1.1"],
    probes=[
        P("tcp", NODE, 30080, FRONTEND, why="NodePort, two endpoints picked by -m statistic"),
        P("tcp", "10.244.1.1", 30080, FRONTEND, why="NodePort on every local address"),
        P("tcp", NODE, 30300, to("grafana", 3000), why="single-endpoint NodePort: KUBE-MARK-MASQ, KUBE-FORWARD accepts mark 0x4000"),
        P("udp", NODE, 30514, to("fluentd", 5140), why="udp NodePort"),
        P("tcp", NODE, 30100, DROPPED, why="eTP=Local: no masquerade mark, FORWARD policy DROP"),
        P("tcp", NODE, 30200, host(30200), why="health check node port: filter KUBE-NODEPORTS ACCEPT"),
        P("tcp", NODE, 30432, REJECTED, why="service without endpoints: KUBE-EXTERNAL-SERVICES REJECT"),
        P("tcp", "127.0.0.1", 30300, to("grafana", 3000), why="route_localnet=1: 127.0.0.1 NodePort from the LAN"),
        P("tcp", "127.0.0.1", 10250, DROPPED, why="KUBE-FIREWALL blocks non-DNAT'd localnet traffic"),
        P("tcp", NODE, 10250, host(10250), why="INPUT ACCEPT: kubelet open"),
        P("tcp", NODE, 22, host(22)),
        P("tcp", "10.244.1.7", 3000, DROPPED, why="direct pod access: not marked, FORWARD DROP"),
        P("tcp", "10.96.77.7", 3000, to("grafana", 3000), why="ClusterIP from a neighbour routing the service range via the node"),
        P("udp", "10.96.88.8", 514, to("fluentd", 5140), why="udp ClusterIP"),
        P("tcp", "10.96.77.7", 3000, DROPPED, via="web-a", why="pod -> ClusterIP: no masquerade mark for pod sources, FORWARD DROP"),
        P("tcp", NODE, 10250, host(10250), via="web-a"),
    ],
)


# --------------------------------------------------------------------------------------------
# 15. Docker 27 ip6tables (IPv6 published ports)

BR15 = "br-5d9e1f3a7c20"
V6HOST = "2001:db8::1"
S15 = Scenario(
    id="15-docker27-ipv6",
    dump="15-docker27-ipv6.rules",
    topology=Topology(
        bridges={BR15: "fd00:dead:beef::1/64"},
        containers=[
            Container("web", BR15, "fd00:dead:beef::2", [("tcp", 80), ("tcp", 22), ("udp", 53)]),
            Container("api", BR15, "fd00:dead:beef::3", [("tcp", 8000)]),
        ],
        host_listen=[("tcp", 22), ("tcp", 8000), ("tcp", 8080)],
        family=6,
    ),
    needs_br_netfilter=True,
    probes=[
        P("tcp", V6HOST, 8080, to("web", 80), why="published over IPv6"),
        P("tcp", "fd00:dead:beef::1", 8080, to("web", 80), why="on the bridge gateway address too"),
        P("udp", V6HOST, 5353, to("web", 53)),
        P("tcp", "fd00:dead:beef::2", 80, to("web", 80), why="direct routing to the published port"),
        P("tcp", "fd00:dead:beef::2", 22, DROPPED, why="unpublished: FORWARD DROP"),
        P("tcp", "fd00:dead:beef::3", 8000, to("api", 8000), why="a ::1 publish still gets its per-port ACCEPT: direct routing works"),
        P("tcp", V6HOST, 8000, host(8000), why="the ::1 publish is not on the public address"),
        P("tcp", V6HOST, 22, host(22)),
        P("tcp", "fd00:dead:beef::2", 22, to("web", 22), via="api", why="ICC"),
        P("tcp", V6HOST, 8080, host(8080), via="api", why="nat -i BR RETURN: docker-proxy's job"),
    ],
)


SCENARIOS = [S01, S02, S03, S04, S05, S06, S07, S08, S09, S10, S11, S12, S13, S14, S15]
