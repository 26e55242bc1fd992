"""The `ipt-lint` command. `ipt-lint DUMP...` lints; the other commands are named:

    ipt-lint [lint] [OPTIONS] PATH...   lint dumps (the default command)
    ipt-lint rules                      every check with its code, name, severity and summary
    ipt-lint explain CODE               a check's documentation
    ipt-lint trace DUMP --in ... ...    one packet's journey through the rules
    ipt-lint exposure DUMP              everything an outsider can reach

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage, config or
internal error. Errors are one line on stderr; a traceback never reaches the user.
"""

from __future__ import annotations

import sys

import click

from .. import __version__
from .explain import explain, rules
from .lint_cmd import lint

EPILOG = """\b
Examples:
  ipt-lint /etc/iptables/rules.v4            lint a saved dump
  iptables-save | ipt-lint -                 lint the live rules via stdin
  ipt-lint --format json dump.rules          machine-readable findings
  ipt-lint --select EXP --fail-on error a b  only exposure findings; fail on errors
  ipt-lint explain EXP301                    what a finding means and how to fix it
  ipt-lint exposure dump.rules               what an outsider can reach
  ipt-lint trace dump.rules --in eth0 --src 203.0.113.9 --dst 198.51.100.1 --proto tcp --dport 8080
"""


class DefaultToLint(click.Group):
    """A group whose default command is `lint`, so `ipt-lint dump.rules` works."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["lint", *args]
        elif not args:
            args = ["lint"]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultToLint, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ipt-lint")
def cli() -> None:
    """Static analyzer for iptables-save dumps: what the kernel really does with packets.

    `ipt-lint PATH...` lints dumps (see `ipt-lint lint --help` for its options).
    """


cli.add_command(lint)
cli.add_command(rules)
cli.add_command(explain)


def _add_optional_commands() -> None:
    # trace and exposure come with the semantics engine.
    try:
        from .trace_cmd import trace

        cli.add_command(trace)
    except ImportError:
        pass
    try:
        from .exposure_cmd import exposure

        cli.add_command(exposure)
    except ImportError:
        pass


_add_optional_commands()


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="ipt-lint", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("ipt-lint: interrupted", err=True)
        sys.exit(2)
    except SystemExit:
        raise
    except Exception as exc:  # the last line of defence: no traceback on the user's screen
        from ..report.safe import printable

        click.echo(f"ipt-lint: internal error: {type(exc).__name__}: {printable(str(exc))}", err=True)
        sys.exit(2)
