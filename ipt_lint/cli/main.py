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

import gc
import importlib
import os
import sys

import click

from .. import __version__

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


# Each command's module is imported only when that command runs: `ipt-lint trace` does not load
# the checks, the policy code and the reporters lint needs (a third of a second of imports).
# trace and exposure come with the semantics engine; they are left out if it cannot be imported.
COMMANDS = {
    "lint": "ipt_lint.cli.lint_cmd:lint",
    "rules": "ipt_lint.cli.explain:rules",
    "explain": "ipt_lint.cli.explain:explain",
    "trace": "ipt_lint.cli.trace_cmd:trace",
    "exposure": "ipt_lint.cli.exposure_cmd:exposure",
}
OPTIONAL = ("trace", "exposure")


class DefaultToLint(click.Group):
    """A group whose default command is `lint`, so `ipt-lint dump.rules` works; commands are
    imported when used (COMMANDS)."""

    def list_commands(self, ctx):
        return [name for name in COMMANDS if self.get_command(ctx, name) is not None]

    def get_command(self, ctx, name):
        if name in self.commands:
            return self.commands[name]
        where = COMMANDS.get(name)
        if where is None:
            return None
        module, attr = where.split(":")
        try:
            command = getattr(importlib.import_module(module), attr)
        except ImportError:
            if name not in OPTIONAL:
                raise
            return None
        self.commands[name] = command
        return command

    def parse_args(self, ctx, args):
        if args and args[0] not in COMMANDS and args[0] not in ("--help", "-h", "--version"):
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



def main(argv: list[str] | None = None) -> None:
    """The console script. Called without `argv` (as `ipt-lint` and `python -m ipt_lint` do),
    it is the whole process, and it ends the way a short-lived analyzer should: a run on a large
    dump builds millions of long-lived objects (syntax tree, model, packet sets); the cyclic
    collector is kept off, since walking that heap again and again costs seconds and reference
    counting frees nearly everything (between dumps the lint command collects cycles itself),
    and the process exits without tearing the heap down object by object (os._exit after the
    output is flushed)."""
    whole_process = argv is None
    if whole_process:
        gc.disable()
    try:
        cli.main(args=argv, prog_name="ipt-lint", standalone_mode=True)
        code = 0
    except KeyboardInterrupt:
        click.echo("ipt-lint: interrupted", err=True)
        code = 2
    except SystemExit as exc:
        if not whole_process:
            raise
        code = _exit_code(exc)
    except Exception as exc:  # the last line of defence: no traceback on the user's screen
        from ..report.safe import printable

        click.echo(f"ipt-lint: internal error: {type(exc).__name__}: {printable(str(exc))}", err=True)
        code = 2
    if not whole_process:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError):  # `ipt-lint ... | head`: the reader went away
        pass
    os._exit(code)


def _exit_code(exc: SystemExit) -> int:
    """What sys.exit(x) would have made the process's status."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    try:
        sys.stderr.write(f"{exc.code}\n")
    except (BrokenPipeError, OSError):
        pass
    return 1
