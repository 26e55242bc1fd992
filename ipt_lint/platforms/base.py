"""What a recogniser reports: the platforms found, with evidence, and who produced each chain/rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.types import RuleModel

RUNTIMES = ("docker", "podman", "cni", "kube", "ufw", "firewalld")
NONE = "none"


@dataclass(frozen=True)
class Evidence:
    line: int | None
    text: str
    why: str


@dataclass(frozen=True)
class Platform:
    """One producer found in the dump. `variant` is its generation or flavour:
    docker: "<=17", "18-27", "28.0.0", "28.x", "29"; podman: "netavark" or "cni"; cni: the plugins
    seen ("bridge", "portmap", "firewall"); kube: "iptables"; ufw: "ufw"; firewalld: "old" or "2.x"."""

    name: str
    variant: str
    evidence: tuple[Evidence, ...] = ()
    details: tuple[tuple[str, str], ...] = ()

    def detail(self, key: str) -> str | None:
        for k, v in self.details:
            if k == key:
                return v
        return None


@dataclass
class Recognition:
    """The platforms in one dump and the producer of every chain and rule."""

    platforms: tuple[Platform, ...] = ()
    chain_owner: dict[tuple[str, str], str] = field(default_factory=dict)
    rule_owner: dict[int, str] = field(default_factory=dict)  # id(rule) -> producer
    bridges: dict[str, str] = field(default_factory=dict)  # container bridge -> runtime

    def platform(self, name: str) -> Platform | None:
        for p in self.platforms:
            if p.name == name:
                return p
        return None

    @property
    def docker_generation(self) -> str | None:
        p = self.platform("docker")
        return p.variant if p else None

    def chain_producer(self, table: str, chain: str) -> str:
        return self.chain_owner.get((table, chain), NONE)

    def producer(self, rule: RuleModel) -> str:
        """docker, podman, cni, kube, ufw, firewalld, or none (written by hand or unknown)."""
        return self.rule_owner.get(id(rule), NONE)

    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.platforms)
