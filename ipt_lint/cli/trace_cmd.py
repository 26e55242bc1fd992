"""`ipt-lint trace DUMP --in IFACE --src A --dst B --proto P [--dport N] ...`: one packet's journey.

`--dst` is taken as one of the host's own addresses unless it falls in a network the dump
attributes to a bridge or container (or a --route): then the packet is routed there.
Exit 0 with the verdict printed, 2 on a usage problem (one line on stderr, never a traceback).
"""

from __future__ import annotations

import sys

import click

from ..model import build_model, load_lazily
from ..parse import parse_bytes
from ..report.jsonout import document_text
from ..semantics import PacketSpec, SpecError, engine_for, parse_ipset_save, paused_gc
from .common import UsageProblem, console_for, read_input


class OneLineErrors(click.Command):
    """Usage errors (unknown option, missing value) as one line on stderr, exit 2."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            click.echo(f"ipt-lint {self.name}: error: {exc.format_message()}", err=True)
            ctx.exit(2)


def load_engine(path: str, family: str | None, local, routes, ipset_file: str | None, interfaces=(), *,
                lazy: bool = False):
    """Read, parse and model a dump, and build its engine. Raises UsageProblem.

    `lazy` (what trace asks for): load with model/lazy.py, which parses and models a chain's
    rules when the engine first reads them, so one trace through a 100k-rule dump builds the
    few chains the packet meets and the few rules topology and platform recognition need. The
    answer is the same as with every rule built. exposure reads every rule anyway."""
    data, name = read_input(path)
    if lazy:
        ruleset = load_lazily(data, name, family)
    else:
        ruleset, _ = build_model(parse_bytes(data, name, family))
    ipsets = None
    if ipset_file:
        try:
            with open(ipset_file, encoding="utf-8", errors="replace") as fh:
                ipsets = parse_ipset_save(fh.read())
        except OSError as exc:
            raise UsageProblem(f"--ipset {ipset_file}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise UsageProblem(f"--ipset {ipset_file}: {exc}") from None
    try:
        return engine_for(
            ruleset, local=tuple(local), routes=tuple(routes), ipsets=ipsets, interfaces=tuple(interfaces)
        )
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None


def _port(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or int(text) > 65535:
        raise UsageProblem(f"{what} `{text}' is not a port number (0-65535)")
    return int(text)


def _uint8(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or int(text) > 255:
        raise UsageProblem(f"{what} `{text}' is not a number 0-255")
    return int(text)


@click.command(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("dump", required=False)
@click.option("--in", "in_iface", metavar="IFACE", help="Interface the packet arrives on (required).")
@click.option("--src", metavar="ADDR", help="Source address (required).")
@click.option("--dst", metavar="ADDR", help="Destination address (required).")
@click.option("--proto", metavar="PROTO", help="tcp, udp, icmp, icmpv6, sctp, ... or a number (required).")
@click.option("--sport", metavar="N", help="Source port (default: any).")
@click.option("--dport", metavar="N", help="Destination port (default: any).")
@click.option(
    "--state",
    default="NEW",
    show_default=True,
    metavar="STATE",
    help="Conntrack state: NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED.",
)
@click.option("--icmp-type", "icmp_type", metavar="N", help="ICMP type (default: echo request).")
@click.option("--icmp-code", "icmp_code", metavar="N", help="ICMP code.")
@click.option("--local", "local", multiple=True, metavar="ADDR", help="An address of the host itself (repeatable).")
@click.option(
    "--route", "routes", multiple=True, metavar="CIDR=IFACE", help="A route the dump does not show (repeatable)."
)
@click.option("--ipset", "ipset_file", metavar="FILE", help="`ipset save` output, so `-m set` rules are exact.")
@click.option("-4", "--ipv4", "family", flag_value="ipv4", help="Read the dump as IPv4 (default: detect).")
@click.option("-6", "--ipv6", "family", flag_value="ipv6", help="Read the dump as IPv6 (default: detect).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
def trace(fmt, color, **question):
    """Follow one packet through the rules: every table and chain it enters, each rule that
    matches and what it does, the verdict, and the assumptions made on the way.

    \b
    Example:
      ipt-lint trace dump.rules --in eth0 --src 203.0.113.9 --dst 198.51.100.1 --proto tcp --dport 8080
    """
    with paused_gc(freeze_on_exit=True):  # one pause for the whole command (see exposure_cmd)
        try:
            result = _trace(**question)
        except UsageProblem as exc:
            click.echo(f"ipt-lint trace: error: {exc}", err=True)
            sys.exit(2)
        _render(result, fmt, color)


def _trace(*, dump, in_iface, src, dst, proto, sport, dport, state, icmp_type, icmp_code, local, routes, ipset_file,
           family):
    """The trace of the packet the options describe (the command's arguments by name)."""
    missing = [
        n for n, v in (("DUMP", dump), ("--in", in_iface), ("--src", src), ("--dst", dst), ("--proto", proto)) if not v
    ]
    if missing:
        raise UsageProblem("missing " + ", ".join(missing) + " (see ipt-lint trace --help)")
    if len(in_iface) > 15 or any(c.isspace() for c in in_iface) or in_iface.endswith("+"):
        raise UsageProblem(f"--in `{in_iface}' is not an interface name")
    spec = PacketSpec(
        in_iface=in_iface,
        src=src,
        dst=dst,
        proto=proto,
        sport=_port(sport, "--sport"),
        dport=_port(dport, "--dport"),
        state=state,
        icmp_type=_uint8(icmp_type, "--icmp-type"),
        icmp_code=_uint8(icmp_code, "--icmp-code"),
    )
    engine = load_engine(dump, family, local, routes, ipset_file, lazy=True)
    try:
        return engine.trace(spec)
    except SpecError as exc:
        raise UsageProblem(str(exc)) from None


def _render(result, fmt: str, color: str) -> None:
    if fmt == "json":
        click.echo(document_text(result.to_json(), ensure_ascii=True))
        return
    from ..report.trace_text import render_trace

    render_trace(result, console_for(color))
