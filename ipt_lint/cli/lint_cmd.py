"""`ipt-lint lint PATH...`: read each dump, run the pipeline, report, exit by --fail-on."""

from __future__ import annotations

import os
import sys

import click

from ..checks import LintOptions
from ..lint import lint_text
from ..policy import Selection, exit_code_for
from ..policy.selection import SelectorError
from ..report import FORMATS, render
from .common import UsageProblem, console_for, read_input


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=True, allow_dash=True))
@click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", envvar="IPT_LINT_FORMAT",
    show_default=True, help="Report format (env IPT_LINT_FORMAT).",
)
@click.option(
    "--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default="warning", show_default=True,
    help="Exit 1 when a finding at or above this severity remains.",
)
@click.option("--select", multiple=True, metavar="CODE", help="Only these codes, prefixes or names (repeatable, or comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODE", help="Skip these codes, prefixes or names.")
@click.option("--stdin-filename", default="-", metavar="NAME", help="Name of the dump read from `-` in reports.")
@click.option("-4", "--ipv4", "family", flag_value="ipv4", help="Read the dumps as IPv4 (default: detect).")
@click.option("-6", "--ipv6", "family", flag_value="ipv6", help="Read the dumps as IPv6 (default: detect).")
@click.option("--local", "local", multiple=True, metavar="ADDR", help="An address of the host itself (repeatable).")
@click.option("--route", "routes", multiple=True, metavar="CIDR=IFACE", help="A route the dump does not show.")
@click.option("--external", "external", multiple=True, metavar="IFACE", help="An interface that faces outside (repeatable).")
@click.option("--allow-public", multiple=True, metavar="PROTO/PORT", help="Ports meant to be public (default tcp/80, tcp/443).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
def lint(paths, fmt, fail_on, select, ignore, stdin_filename, family, local, routes, external, allow_public, color):
    """Lint iptables-save dumps. `-` reads standard input.

    \b
    Exit codes:
      0  nothing at or above --fail-on
      1  findings at or above --fail-on
      2  usage or config error, unreadable path, internal error
    """
    if not paths:
        raise click.UsageError("no dump given: ipt-lint PATH... (`-` for standard input)")
    try:
        selection = Selection.from_options(_split(select), _split(ignore))
    except SelectorError as exc:
        raise click.UsageError(str(exc)) from None
    options = LintOptions(
        allow_public=tuple(allow_public) or LintOptions.allow_public,
        external_interfaces=tuple(external),
        local_addresses=tuple(local),
        routes=tuple(routes),
    )
    results = []
    internal = []
    for path in paths:
        try:
            data, name = read_input(path, stdin_filename)
        except UsageProblem as exc:
            click.echo(f"ipt-lint: error: {exc}", err=True)
            sys.exit(2)
        result = lint_text(data, name, options=options, selection=selection, family=family)
        internal.extend(result.errors)
        results.append(result)

    out = console_for(color) if fmt == "text" else sys.stdout
    render(fmt, results, out)
    for message in internal:
        click.echo(f"ipt-lint: {message}", err=True)
    findings = [f for r in results for f in r.findings]
    code = exit_code_for(findings, fail_on)
    if internal:
        code = 2
    sys.stdout.flush()
    os.sys.exit(code)


def _split(values) -> list[str]:
    out = []
    for v in values:
        out.extend(p for p in v.split(",") if p.strip())
    return out
