"""`ipt-lint lint PATH...`: read each dump, run the pipeline, report, exit by --fail-on.

Settings come from the command line, else the configuration file (ipt_lint.policy.config), else the
defaults. `--select` on the command line replaces the file's `select` and `ignore` (ruff's layering);
`--ignore` alone adds to the file's `ignore`; `--severity` entries override the file's per code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import click
from click.core import ParameterSource

from ..checks import LintOptions
from ..checks.base import Severity
from ..lint import lint_text
from ..policy import Selection, exit_code_for
from ..policy.baseline import Baseline, BaselineError, write_baseline as record_baseline
from ..policy.config import (
    ConfigError,
    check_address,
    check_port_spec,
    check_route,
    cli_value_error,
    config_for,
)
from ..policy.selection import FAIL_ON, SelectorError
from ..report import FORMATS, render
from ..report.registry import RunInfo, render_statistics
from ..report.safe import printable
from .common import DEFAULT_MAX_INPUT_MB, MIB, UsageProblem, check_size, console_for, read_input

# The names the pre-commit hook lints (.pre-commit-hooks.yaml `files`; tests hold the two equal).
DUMP_SUFFIXES = (".rules", ".v4", ".v6")
PROGRESS_MIN_FILES = 8


def is_dump_name(name: str) -> bool:
    base = os.path.basename(name)
    return base.endswith(DUMP_SUFFIXES) or (
        base.endswith(".txt") and (base.startswith("iptables") or base.startswith("ip6tables"))
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=True, allow_dash=True))
@click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", envvar="IPT_LINT_FORMAT",
    show_default=True, help="Report format (env IPT_LINT_FORMAT).",
)
@click.option("-o", "--output-file", metavar="FILE", help="Write the report to FILE; the terminal gets a summary line.")
@click.option(
    "--fail-on", type=click.Choice(list(FAIL_ON)), default="warning", show_default=True,
    help="Exit 1 when a finding at or above this severity remains.",
)
@click.option("--select", multiple=True, metavar="CODE", help="Only these codes, prefixes or names (repeatable, or comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODE", help="Skip these codes, prefixes or names.")
@click.option("--severity", "severity", multiple=True, metavar="CODE=LEVEL", help="Override a code's severity (error, warning, info).")
@click.option("--stdin-filename", default="-", metavar="NAME", help="Name of the dump read from `-` in reports.")
@click.option("-4", "--ipv4", "family", flag_value="ipv4", help="Read the dumps as IPv4 (default: detect).")
@click.option("-6", "--ipv6", "family", flag_value="ipv6", help="Read the dumps as IPv6 (default: detect).")
@click.option("--local", "local", multiple=True, metavar="ADDR", help="An address of the host itself (repeatable).")
@click.option("--route", "routes", multiple=True, metavar="CIDR=IFACE", help="A route the dump does not show.")
@click.option("--external", "external", multiple=True, metavar="IFACE", help="An interface that faces outside (repeatable).")
@click.option("--allow-public", multiple=True, metavar="PROTO/PORT", help="Ports meant to be public (default tcp/80, tcp/443).")
@click.option("--sensitive-ports", multiple=True, metavar="PROTO/PORT", help="Ports that must never be public (default: the documented list).")
@click.option("--ipset", "ipset_file", metavar="FILE", help="`ipset save` output, so `-m set` rules are exact.")
@click.option("--ipv6-dump", "ipv6_dump", metavar="FILE",
              help="The same host's ip6tables-save dump, compared with the IPv4 dump (EXP304 ipv6-gap).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--config", "config_path", metavar="FILE", help="Read this configuration file instead of searching.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--baseline", "baseline", metavar="FILE", help="Hide the findings recorded in FILE.")
@click.option("--write-baseline", metavar="FILE", help="Record today's findings in FILE and exit 0.")
@click.option("--live", is_flag=True, help="Lint the running firewall (iptables-save, ip6tables-save, ipset save; root).")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=1, show_default=True, help="Worker processes (0: one per CPU).")
@click.option("--statistics", is_flag=True, help="Show the number of findings per code instead of the findings.")
@click.option("--no-inline-suppressions", "no_inline_suppressions", is_flag=True,
              help="Ignore `ipt-lint: ignore=` suppressions written in the dumps: report every finding.")
@click.option("--max-input-size", "max_input_mb", type=click.IntRange(min=1), default=DEFAULT_MAX_INPUT_MB,
              show_default=True, metavar="MIB", envvar="IPT_LINT_MAX_INPUT_MB",
              help="Refuse a dump, --ipset or --ipv6-dump file larger than this many MiB (env IPT_LINT_MAX_INPUT_MB).")
@click.pass_context
def lint(ctx, paths, fmt, output_file, fail_on, select, ignore, severity, stdin_filename, family, local, routes,
         external, allow_public, sensitive_ports, ipset_file, ipv6_dump, color, config_path, isolated, baseline,
         write_baseline, live, jobs, statistics, no_inline_suppressions, max_input_mb):
    """Lint iptables-save dumps (files, `-` for standard input, or --live).

    \b
    Exit codes:
      0  nothing at or above --fail-on
      1  findings at or above --fail-on
      2  usage or config error, unreadable path, internal error
    """
    try:
        _lint(ctx, **ctx.params)
    except (UsageProblem, ConfigError, BaselineError) as exc:
        click.echo(f"ipt-lint: error: {exc}", err=True)
        sys.exit(2)


def _given(ctx, name: str) -> bool:
    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _lint(ctx, *, paths, fmt, output_file, fail_on, select, ignore, severity, stdin_filename, family, local, routes,
          external, allow_public, sensitive_ports, ipset_file, ipv6_dump, color, config_path, isolated, baseline,
          write_baseline, live, jobs, statistics, no_inline_suppressions=False, max_input_mb=DEFAULT_MAX_INPUT_MB):
    if not paths and not live:
        raise click.UsageError("no dump given: ipt-lint PATH... (`-` for standard input, or --live)")
    if isolated and config_path:
        raise click.UsageError("--isolated ignores configuration files; it cannot be combined with --config")
    if paths.count("-") > 1:
        raise click.UsageError("`-' (standard input) can be given only once")
    config = config_for(config_path, isolated)

    def pick(param: str, setting: str, value):
        return value if _given(ctx, param) or setting not in config.settings else config.settings[setting]

    fmt = pick("fmt", "format", fmt)
    fail_on = pick("fail_on", "fail_on", fail_on)
    color = pick("color", "color", color)
    jobs = pick("jobs", "jobs", jobs)
    statistics = statistics or bool(config.get("statistics", False))
    family = family if family is not None else config.get("family")
    baseline = baseline if _given(ctx, "baseline") else config.get("baseline")

    # selection: ruff-style layering of the file's select/ignore and the command line's
    cli_select, cli_ignore = _split(select), _split(ignore)
    if cli_select:
        sel_codes, ign_codes = cli_select, cli_ignore
    else:
        sel_codes = list(config.get("select", ()))
        ign_codes = list(config.get("ignore", ())) + cli_ignore
    sev_map = dict(config.get("severity", {}))
    for item in _split(severity):
        code, eq, level = item.partition("=")
        if not eq:
            raise click.UsageError(f"--severity {item}: expected CODE=LEVEL (like EXP301=error)")
        try:
            Severity.parse(level)
        except ValueError as exc:
            raise click.UsageError(f"--severity {item}: {exc}") from None
        sev_map[code.strip()] = level.strip().lower()
    try:
        selection = Selection.from_options(
            sel_codes, ign_codes, sev_map, config.get("per_file_ignores", {}), config.base_dir,
            inline_suppressions=not no_inline_suppressions,
        )
    except SelectorError as exc:
        raise click.UsageError(str(exc)) from None

    # options: every LintOptions field, from the command line, else the file, else its default
    cli_options = {
        "allow_public": tuple(_split(allow_public)),
        "sensitive_ports": tuple(_split(sensitive_ports)),
        "external_interfaces": tuple(_split(external)),
        "local_addresses": tuple(_split(local)),
        "routes": tuple(routes),
        "ipset_file": ipset_file,
        "ipv6_dump": ipv6_dump,
    }
    for flag, check, name in (
        ("--allow-public", check_port_spec, "allow_public"),
        ("--sensitive-ports", check_port_spec, "sensitive_ports"),
        ("--local", check_address, "local_addresses"),
        ("--route", check_route, "routes"),
    ):
        problem = cli_value_error(flag, check, cli_options[name])
        if problem:
            raise click.UsageError(problem)
    option_values = {}
    for name in LintOptions.__dataclass_fields__:
        v = cli_options.get(name)
        if v:
            option_values[name] = v
        elif name in config.settings:
            option_values[name] = config.settings[name]
    if option_values.get("ipset_file") and not os.path.isfile(option_values["ipset_file"]):
        raise UsageProblem(f"{option_values['ipset_file']}: no such ipset file")
    if option_values.get("ipv6_dump") and not os.path.isfile(option_values["ipv6_dump"]):
        raise UsageProblem(f"{option_values['ipv6_dump']}: no such dump (--ipv6-dump)")
    limit = max_input_mb * MIB
    if option_values.get("ipset_file"):
        check_size(option_values["ipset_file"], limit, "(--ipset) ")
    if option_values.get("ipv6_dump"):
        check_size(option_values["ipv6_dump"], limit, "(--ipv6-dump) ")
    if option_values.get("ipv6_dump") and (len(paths) != 1 or live):
        raise UsageProblem("--ipv6-dump pairs one IPv4 dump with its IPv6 dump; with several paths, name them "
                           "alike (rules.v4 and rules.v6, host.v4 and host.v6) and they are paired by name")

    loaded_baseline = None
    if baseline and not write_baseline:
        loaded_baseline = Baseline.load(baseline)

    # inputs, in the order given
    jobs_in: list[tuple] = []
    for path in paths:
        if path == "-":
            data, name = read_input("-", stdin_filename, limit)
            jobs_in.append((None, data, name, family))
        else:
            jobs_in.append((path, None, path, family))
    notes: list[str] = []
    tmp_ipset = None
    if live:
        from .live import collect

        state = collect()
        notes.extend(state.notes)
        jobs_in.extend((None, d.data, d.name, d.family) for d in state.dumps)
        if state.ipset is not None and "ipset_file" not in option_values:
            import tempfile

            fd, tmp_ipset = tempfile.mkstemp(prefix="ipt-lint-ipset-", suffix=".save")
            with os.fdopen(fd, "wb") as fh:
                fh.write(state.ipset)
            option_values["ipset_file"] = tmp_ipset
    options = LintOptions(**option_values)
    per_job, tmp_pairs = ({}, []) if option_values.get("ipv6_dump") else pair_families(jobs_in, options)

    try:
        results, internal = _run_jobs(jobs_in, options, selection, jobs, per_job, limit)
    finally:
        if tmp_ipset:
            os.unlink(tmp_ipset)
        for tmp in tmp_pairs:
            os.unlink(tmp)

    if write_baseline:
        n = record_baseline(write_baseline, results)
        click.echo(
            f"ipt-lint: recorded {n} finding{'s' if n != 1 else ''} of {len(results)} "
            f"file{'s' if len(results) != 1 else ''} in {write_baseline}",
            err=True,
        )
        _report_errors(notes, internal)
        sys.exit(2 if internal else 0)

    stale = loaded_baseline.apply(results, selection) if loaded_baseline else []
    run = RunInfo(selection=selection, fail_on=fail_on, baseline=baseline, stale=stale, errors=list(internal))

    if output_file:
        try:
            fh = open(output_file, "w", encoding="utf-8")
        except OSError as exc:
            raise UsageProblem(f"{output_file}: cannot write the report: {exc.strerror or exc}") from None
        with fh:
            out = console_for("always" if color == "always" else "never", file=fh) if fmt == "text" else fh
            render(fmt, results, out, run=run)
        if statistics:
            render_statistics(results, sys.stdout, "json" if fmt == "json" else "text")
        click.echo(_summary_line(results, fmt, output_file))
    elif statistics:
        render_statistics(results, sys.stdout, "json" if fmt == "json" else "text")
    else:
        out = console_for(color) if fmt == "text" else sys.stdout
        render(fmt, results, out, run=run)

    if stale:
        n = sum(e.count for e in stale)
        click.echo(
            f"ipt-lint: note: {n} baseline entr{'ies' if n != 1 else 'y'} in {baseline} no longer "
            f"match{'' if n != 1 else 'es'} a finding "
            f"(fixed or changed); refresh it with --write-baseline {baseline}",
            err=True,
        )
    _report_errors(notes, internal)
    findings = [f for r in results for f in r.findings]
    code = 2 if internal else exit_code_for(findings, fail_on)
    sys.stdout.flush()
    sys.exit(code)


def _report_errors(notes, internal) -> None:
    # An internal error's message can quote the dump (an exception about a value): escaped.
    for n in notes:
        click.echo(f"ipt-lint: note: {printable(n)}", err=True)
    for message in internal:
        click.echo(f"ipt-lint: {printable(message)}", err=True)


def _summary_line(results, fmt: str, output_file: str) -> str:
    counts = {s: 0 for s in ("error", "warning", "info")}
    for r in results:
        for f in r.findings:
            counts[str(f.severity)] += 1
    n = sum(counts.values())
    files = len(results)
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in counts if counts[s]]
    line = f"ipt-lint: {n} problem{'s' if n != 1 else ''}"
    if parts:
        line += f" ({', '.join(parts)})"
    line += f" in {files} file{'s' if files != 1 else ''}"
    hidden = []
    suppressed = sum(len(r.suppressed) for r in results)
    baselined = sum(len(r.baselined) for r in results)
    if suppressed:
        hidden.append(f"{suppressed} suppressed")
    if baselined:
        hidden.append(f"{baselined} baselined")
    if hidden:
        line += f" ({', '.join(hidden)})"
    return line + f"; {fmt} report written to {output_file}"


class RulesetSummary:
    """What reporters read of a ruleset (file, family, the number of rules) without the model itself.

    The command line keeps only this, and the parsed dump without its syntax tree, once a file is
    linted: a worker process then sends back kilobytes instead of the whole model (pickling a 30k-rule
    model costs as much as linting it), and a run over many large dumps does not hold every model in
    memory until the report. Serial and parallel runs keep the same, so their reports are identical."""

    __slots__ = ("file", "family", "rule_count")

    def __init__(self, file: str, family: str, rule_count: int):
        self.file, self.family, self.rule_count = file, family, rule_count

    def rules(self):
        """One placeholder per rule: enough to count them, nothing to analyse."""
        return itertools.repeat(None, self.rule_count)


def detach(result):
    """`result` without the syntax tree and the model (see RulesetSummary)."""
    rs = result.ruleset
    result.ruleset = RulesetSummary(rs.file, rs.family, sum(1 for _ in rs.rules()))
    result.parsed = dataclasses.replace(result.parsed, statements=())
    return result


def _lint_job(job):
    """One input -> ("ok", LintResult) | ("usage", message) | ("internal", message). Top level, so
    worker processes can run it."""
    path, data, name, family, options, selection, *rest = job
    limit = rest[0] if rest else None
    _collect_between_jobs()
    try:
        if data is None:
            data, name = read_input(path, limit=limit)
        return "ok", detach(lint_text(data, name, options=options, selection=selection, family=family))
    except UsageProblem as exc:
        return "usage", str(exc)
    except Exception as exc:  # no traceback on the user's screen
        return "internal", f"{name or path}: internal error: {type(exc).__name__}: {exc}"


_jobs_in_this_process = 0


def _collect_between_jobs() -> None:
    """The command runs with the cyclic collector off (see cli.main.main); a previous dump's
    cycles are collected before the next one is read, so a run over many dumps stays as small
    as one over the largest."""
    global _jobs_in_this_process
    if _jobs_in_this_process and not gc.isenabled():
        gc.collect()
    _jobs_in_this_process += 1


def _run_jobs(jobs_in, options, selection, jobs: int, per_job=None, limit: int | None = None):
    per_job = per_job or {}
    work = [(*j, per_job.get(i, options), selection, limit) for i, j in enumerate(jobs_in)]
    workers = jobs or (os.cpu_count() or 1)
    outcomes: list = [None] * len(work)
    with _progress(len(work)) as advance:
        if workers > 1 and len(work) > 1:
            try:
                with ProcessPoolExecutor(max_workers=min(workers, len(work))) as pool:
                    futures = [pool.submit(_lint_job, w) for w in work]
                    for f in futures:
                        f.add_done_callback(lambda _f: advance())
                    outcomes = [f.result() for f in futures]
            except BrokenProcessPool as exc:
                raise UsageProblem(f"internal error: a worker process died ({exc})") from None
        else:
            for i, w in enumerate(work):
                outcomes[i] = _lint_job(w)
                advance()
    usage = [msg for kind, msg in outcomes if kind == "usage"]
    if usage:
        for msg in usage[:-1]:
            click.echo(f"ipt-lint: error: {msg}", err=True)
        raise UsageProblem(usage[-1])
    results = [r for kind, r in outcomes if kind == "ok"]
    internal = [msg for kind, msg in outcomes if kind == "internal"]
    internal += [e for r in results for e in r.errors]
    return results, internal


@contextlib.contextmanager
def _progress(total: int):
    """A rich progress bar on stderr, only when stderr is a terminal and there are many files."""
    if total < PROGRESS_MIN_FILES or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("linting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )
    with progress:
        task = progress.add_task("lint", total=total)
        yield lambda: progress.advance(task)


_FAMILY_MARK = re.compile(r"(?<![A-Za-z0-9])(v4|v6|ipv4|ipv6|iptables|ip6tables|ip4tables)(?![A-Za-z0-9])", re.I)


def pair_key(name: str) -> tuple[str, str] | None:
    """(family, key) when `name` marks its family (rules.v4, host.v6.rules, iptables.rules,
    ip6tables-save.txt, live:ip6tables): two names with the same key are the IPv4 and the IPv6
    dump of one host."""
    head, base = os.path.split(name)
    found = list(_FAMILY_MARK.finditer(base))
    if not found:
        return None
    m = found[-1]
    mark = m.group(1).lower()
    family = "ipv6" if mark in ("v6", "ipv6", "ip6tables") else "ipv4"
    return family, os.path.join(head, base[: m.start()] + "#" + base[m.end():])


def pair_families(jobs_in, options):
    """EXP304 compares the IPv4 and the IPv6 dump of one host: among the inputs, each IPv4 dump
    whose name has an IPv6 partner (the same name with v4/v6, ipv4/ipv6 or iptables/ip6tables)
    gets that dump as its `ipv6_dump` option; --live's two dumps pair the same way. Returns
    ({job index: options}, [temporary files to delete afterwards])."""
    import tempfile

    by_key: dict[str, dict[str, int]] = {}
    for i, (path, _data, name, _fam) in enumerate(jobs_in):
        k = pair_key(name or path or "")
        if k is not None:
            by_key.setdefault(k[1], {}).setdefault(k[0], i)
    per_job, tmps = {}, []
    for fams in by_key.values():
        if "ipv4" not in fams or "ipv6" not in fams:
            continue
        v6 = jobs_in[fams["ipv6"]]
        other = v6[0]
        if other is None:  # standard input or --live: hand the data over in a file
            fd, other = tempfile.mkstemp(prefix="ipt-lint-v6-", suffix=".rules")
            with os.fdopen(fd, "wb") as fh:
                fh.write(v6[1] if isinstance(v6[1], bytes) else str(v6[1]).encode())
            tmps.append(other)
        per_job[fams["ipv4"]] = dataclasses.replace(options, ipv6_dump=other)
    return per_job, tmps


def _split(values) -> list[str]:
    out = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out
