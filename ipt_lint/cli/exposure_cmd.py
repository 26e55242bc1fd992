"""`ipt-lint exposure DUMP`: everything a packet from outside can reach.

Published ports (DNAT) with the container or pod behind them, services on the host (INPUT
accepts) and container networks reachable by routing, each with who reaches it, through which
interfaces, the runtime that made it, whether it is certain, a witness packet and its rule lines.
"""

from __future__ import annotations

import sys

import click

from ..report.jsonout import document_text
from ..semantics import paused_gc
from .common import UsageProblem, console_for
from .trace_cmd import OneLineErrors, load_engine


@click.command(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("dump", required=False)
@click.option("--local", "local", multiple=True, metavar="ADDR", help="An address of the host itself (repeatable).")
@click.option(
    "--route", "routes", multiple=True, metavar="CIDR=IFACE", help="A route the dump does not show (repeatable)."
)
@click.option(
    "--external",
    "external",
    multiple=True,
    metavar="IFACE",
    help="Only packets arriving on this interface (repeatable; default: every interface that is not a container bridge or lo).",
)
@click.option("--ipset", "ipset_file", metavar="FILE", help="`ipset save` output, so `-m set` rules are exact.")
@click.option("-4", "--ipv4", "family", flag_value="ipv4", help="Read the dump as IPv4 (default: detect).")
@click.option("-6", "--ipv6", "family", flag_value="ipv6", help="Read the dump as IPv6 (default: detect).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
def exposure(dump, local, routes, external, ipset_file, family, fmt, color):
    """List everything a new connection from outside can reach: published ports, host
    services and container networks reachable by routing.

    \b
    Example:
      ipt-lint exposure dump.rules --local 192.0.2.10
    """
    # One pause of the garbage collector for the whole command: re-enabling it between loading
    # and rendering, or before exiting, would make it scan millions of live objects at once.
    with paused_gc(freeze_on_exit=True):
        try:
            if not dump:
                raise UsageProblem("missing DUMP (see ipt-lint exposure --help)")
            for name in external:
                if not name or len(name) > 15 or any(c.isspace() for c in name):
                    raise UsageProblem(f"--external `{name}' is not an interface name")
            engine = load_engine(dump, family, local, routes, ipset_file, external)
            report = engine.exposure_report(tuple(external))
        except UsageProblem as exc:
            click.echo(f"ipt-lint exposure: error: {exc}", err=True)
            sys.exit(2)
        _render(report, fmt, color)


def _render(report, fmt: str, color: str) -> None:
    if fmt == "json":
        click.echo(document_text(report.to_json(), ensure_ascii=True))
        return
    from ..report.exposure_text import render_exposures

    render_exposures(report, console_for(color))
