"""Ports that must never be open to the world, and the port lists users give (`allow-public`).

EXP301 (published-port-open) and EXP305 (loopback-publish-reachable) report a port at `error`
when the service behind it is on this list: a database, cache, message broker, search engine,
the Docker API, etcd, the kubelet or another admin or debug port. These services usually trust
whoever can connect (no password by default, or a password that is one request away from a
brute force) and are what attackers scan the internet for.

The list is matched against both the port an outsider connects to (the host port) and the port
the packet is delivered to (the container or pod port), so `-p 15432:5432` is still Postgres.

Replace it with the `sensitive-ports` setting (`--sensitive-ports tcp/5432 --sensitive-ports
tcp/6379`, or `sensitive-ports = ["tcp/5432", "tcp/6379"]` in the configuration file); an entry
is `PROTO/PORT`, `PROTO/LOW-HIGH` or a bare port (any protocol). `ipt-lint explain EXP301` prints
the default list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (proto, low, high, service) - proto None means tcp, udp and sctp alike.
DEFAULT_SENSITIVE: tuple[tuple[str | None, int, int, str], ...] = (
    # databases
    ("tcp", 5432, 5432, "PostgreSQL"),
    ("tcp", 3306, 3306, "MySQL/MariaDB"),
    ("tcp", 33060, 33060, "MySQL X protocol"),
    ("tcp", 1433, 1433, "Microsoft SQL Server"),
    ("tcp", 1521, 1521, "Oracle database"),
    ("tcp", 27017, 27019, "MongoDB"),
    ("tcp", 5984, 5984, "CouchDB"),
    ("tcp", 9042, 9042, "Cassandra CQL"),
    ("tcp", 7000, 7001, "Cassandra inter-node"),
    ("tcp", 7474, 7474, "Neo4j HTTP"),
    ("tcp", 7687, 7687, "Neo4j Bolt"),
    ("tcp", 8086, 8086, "InfluxDB"),
    ("tcp", 8123, 8123, "ClickHouse HTTP"),
    ("tcp", 9000, 9000, "ClickHouse native / PHP-FPM FastCGI"),
    ("tcp", 26257, 26257, "CockroachDB"),
    ("tcp", 28015, 28015, "RethinkDB"),
    # caches
    ("tcp", 6379, 6379, "Redis"),
    ("tcp", 26379, 26379, "Redis Sentinel"),
    ("tcp", 11211, 11211, "memcached"),
    ("udp", 11211, 11211, "memcached (UDP: amplification)"),
    # message brokers
    ("tcp", 5672, 5672, "AMQP (RabbitMQ)"),
    ("tcp", 15672, 15672, "RabbitMQ management"),
    ("tcp", 9092, 9092, "Kafka"),
    ("tcp", 2181, 2181, "ZooKeeper"),
    ("tcp", 4222, 4222, "NATS"),
    ("tcp", 1883, 1883, "MQTT"),
    ("tcp", 61616, 61616, "ActiveMQ"),
    # search engines
    ("tcp", 9200, 9200, "Elasticsearch/OpenSearch HTTP"),
    ("tcp", 9300, 9300, "Elasticsearch transport"),
    ("tcp", 8983, 8983, "Solr"),
    # container and cluster control planes
    ("tcp", 2375, 2376, "Docker API"),
    ("tcp", 2377, 2377, "Docker Swarm management"),
    ("tcp", 2379, 2380, "etcd"),
    ("tcp", 6443, 6443, "Kubernetes API server"),
    ("tcp", 10250, 10250, "kubelet API"),
    ("tcp", 10255, 10255, "kubelet read-only API"),
    ("tcp", 10257, 10257, "kube-controller-manager"),
    ("tcp", 10259, 10259, "kube-scheduler"),
    ("tcp", 4194, 4194, "cAdvisor"),
    ("tcp", 8500, 8500, "Consul HTTP API"),
    # admin and debug ports
    ("tcp", 9229, 9229, "Node.js inspector"),
    ("tcp", 5005, 5005, "Java debugger (JDWP)"),
    ("tcp", 1099, 1099, "Java RMI / JMX"),
    ("tcp", 6060, 6060, "Go pprof debug"),
)


@dataclass(frozen=True)
class PortEntry:
    proto: str | None  # None: any protocol
    lo: int
    hi: int
    label: str = ""

    def covers(self, proto: str, lo: int, hi: int | None = None) -> bool:
        """Does this entry share a port with proto/lo-hi?"""
        hi = lo if hi is None else hi
        if self.proto is not None and self.proto != proto:
            return False
        return self.lo <= hi and lo <= self.hi

    def text(self) -> str:
        ports = str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"
        return f"{self.proto}/{ports}" if self.proto else ports


_SPEC = re.compile(r"^(?:(?P<proto>[a-z0-9]+)/)?(?P<lo>\d{1,5})(?:[-:](?P<hi>\d{1,5}))?$")


def parse_port_spec(text: str, label: str = "") -> PortEntry:
    """`tcp/443`, `udp/5000-5009`, `8080` (any protocol). Raises ValueError."""
    m = _SPEC.match(text.strip().lower())
    if not m:
        raise ValueError(f"`{text}' is not PROTO/PORT or PROTO/LOW-HIGH (like tcp/443)")
    lo = int(m.group("lo"))
    hi = int(m.group("hi")) if m.group("hi") else lo
    if not 0 <= lo <= hi <= 65535:
        raise ValueError(f"`{text}' is not a port range within 0-65535")
    return PortEntry(m.group("proto"), lo, hi, label)


@dataclass(frozen=True)
class PortList:
    entries: tuple[PortEntry, ...]

    @classmethod
    def parse(cls, specs) -> PortList:
        out = []
        for s in specs or ():
            try:
                out.append(parse_port_spec(s))
            except ValueError:
                continue  # the CLI and the configuration reader reject bad entries before this
        return cls(tuple(out))

    def match(self, proto: str, lo: int, hi: int | None = None) -> PortEntry | None:
        for e in self.entries:
            if e.covers(proto, lo, hi):
                return e
        return None

    def covers_all(self, proto: str, lo: int, hi: int) -> bool:
        """Is every port of proto/lo-hi on the list?"""
        need = [(lo, hi)]
        for e in self.entries:
            if e.proto is not None and e.proto != proto:
                continue
            rest = []
            for a, b in need:
                if e.hi < a or b < e.lo:
                    rest.append((a, b))
                    continue
                if a < e.lo:
                    rest.append((a, e.lo - 1))
                if e.hi < b:
                    rest.append((e.hi + 1, b))
            need = rest
            if not need:
                return True
        return not need


DEFAULT_LIST = PortList(tuple(PortEntry(p, lo, hi, label) for p, lo, hi, label in DEFAULT_SENSITIVE))


def sensitive_ports(options) -> PortList:
    """The sensitive ports in force: `options.sensitive_ports` when given, else the default list."""
    given = getattr(options, "sensitive_ports", None)
    if given:
        return PortList.parse(given)
    return DEFAULT_LIST


def allowed_public(options) -> PortList:
    """The ports the user means to be public (`allow-public`, default tcp/80 and tcp/443)."""
    return PortList.parse(getattr(options, "allow_public", ("tcp/80", "tcp/443")) or ())


def describe_default_list() -> str:
    """The default list in one paragraph, for the documentation."""
    parts = [f"{PortEntry(p, lo, hi).text()} {label}" for p, lo, hi, label in DEFAULT_SENSITIVE]
    return "; ".join(parts)


__all__ = [
    "DEFAULT_LIST",
    "DEFAULT_SENSITIVE",
    "PortEntry",
    "PortList",
    "allowed_public",
    "describe_default_list",
    "parse_port_spec",
    "sensitive_ports",
]
