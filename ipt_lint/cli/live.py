"""`ipt-lint --live`: read the running firewall with the real tools and lint what they print.

    iptables-save      -> "live:iptables-save"   (IPv4)
    ip6tables-save     -> "live:ip6tables-save"  (IPv6)
    ipset save         -> the sets `-m set` rules refer to (only if `ipset` is installed)

The binaries are fixed names resolved on PATH with `shutil.which`, run with argument lists (no
shell), with a timeout and a bounded output. Not being root, a missing `iptables-save` or
`ip6tables-save`, a tool that fails or hangs: one line, exit 2. `ipset` is optional: when it is
missing or cannot list the sets (no ip_set module), the rules are linted without the sets and a note
says so.

Suppressions live in rules as `-m comment --comment "ipt-lint: ignore=CODE"`: `#` lines do not
survive `iptables-save`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from .common import MAX_INPUT_BYTES, UsageProblem

TIMEOUT_SECONDS = 60
DUMPERS = (("iptables-save", "ipv4"), ("ip6tables-save", "ipv6"))


@dataclass(frozen=True)
class LiveDump:
    name: str  # "live:iptables-save"
    data: bytes
    family: str


@dataclass(frozen=True)
class LiveState:
    dumps: tuple[LiveDump, ...]
    ipset: bytes | None  # `ipset save` output, None when not available
    notes: tuple[str, ...] = ()


def _run(binary: str, args: list[str], timeout: float) -> bytes:
    try:
        proc = subprocess.run(
            [binary, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
            shell=False,
        )
    except subprocess.TimeoutExpired:
        raise UsageProblem(f"--live: `{os.path.basename(binary)}' did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise UsageProblem(f"--live: cannot run `{binary}': {exc.strerror or exc}") from None
    if proc.returncode != 0:
        first = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[0]
        cmd = " ".join([os.path.basename(binary), *args])
        raise UsageProblem(f"--live: `{cmd}' failed (exit {proc.returncode}): {first}")
    if len(proc.stdout) > MAX_INPUT_BYTES:
        raise UsageProblem(f"--live: `{os.path.basename(binary)}' printed more than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
    return proc.stdout


def collect(timeout: float | None = None) -> LiveState:
    """Run the save tools. Raises UsageProblem (one line, exit 2)."""
    timeout = TIMEOUT_SECONDS if timeout is None else timeout
    which = shutil.which
    if os.geteuid() != 0:
        raise UsageProblem(
            "--live needs root: iptables-save reads the kernel's tables (run it with sudo, "
            "or lint a saved dump: `sudo iptables-save | ipt-lint -`)"
        )
    found = {}
    for tool, _ in DUMPERS:
        path = which(tool)
        if path is None:
            raise UsageProblem(f"--live needs `{tool}' on PATH (Debian/Ubuntu: apt-get install iptables)")
        found[tool] = path
    dumps = tuple(LiveDump(f"live:{tool}", _run(found[tool], [], timeout), family) for tool, family in DUMPERS)
    notes: list[str] = []
    ipset_data = None
    ipset = which("ipset")
    if ipset is not None:
        try:
            ipset_data = _run(ipset, ["save"], timeout)
        except UsageProblem as exc:
            notes.append(f"{exc}; linting without the ipsets")
    return LiveState(dumps, ipset_data, tuple(notes))
