"""Source-level guarantees: ipt-lint runs fixed binaries with argument lists and timeouts, never a
shell, and evaluates nothing.

Every call into `subprocess` in `ipt_lint/` must pass its command as a list or tuple literal (or a
list built with `[...]`), never `shell=True`, and always a `timeout=`. `os.system`, `os.popen`,
the `os.exec*`/`os.spawn*` family, `eval`, `exec`, `compile`, `pickle.loads`, `marshal.loads` and
`__import__` do not appear at all, and no format string is built from data (`str.format` is only
called on string literals).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ipt_lint"
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput"}
FORBIDDEN_ATTRS = {
    ("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execve"), ("os", "execvp"), ("os", "execvpe"),
    ("os", "execl"), ("os", "execle"), ("os", "execlp"), ("os", "execlpe"), ("os", "spawnv"), ("os", "spawnve"),
    ("os", "spawnl"), ("os", "spawnlp"), ("os", "posix_spawn"), ("os", "posix_spawnp"), ("pickle", "loads"),
    ("pickle", "load"), ("marshal", "loads"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput"),
}
FORBIDDEN_NAMES = {"eval", "exec", "compile", "__import__"}


def _sources():
    files = sorted(PACKAGE.rglob("*.py"))
    assert files
    for path in files:
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"


def test_subprocess_calls_use_argument_lists_timeouts_and_no_shell():
    seen = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if not (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "subprocess"
                    and f.attr in SUBPROCESS_CALLS):
                continue
            where = _where(path, node)
            seen.append(where)
            kwargs = {k.arg: k.value for k in node.keywords if k.arg}
            assert node.args, f"{where}: subprocess.{f.attr} without a command"
            cmd = node.args[0]
            assert isinstance(cmd, (ast.List, ast.Tuple)), f"{where}: the command must be a list literal, not a string"
            shell = kwargs.get("shell")
            assert shell is None or (isinstance(shell, ast.Constant) and shell.value is False), f"{where}: shell=True"
            assert "timeout" in kwargs, f"{where}: subprocess.{f.attr} without a timeout"
            assert f.attr != "Popen", f"{where}: Popen has no timeout of its own; use run(..., timeout=)"
            executable = kwargs.get("executable")
            assert executable is None, f"{where}: executable= overrides the checked binary"
    assert seen, "expected the --live code path (ipt_lint/cli/live.py) to run iptables-save"


def test_live_runs_only_fixed_binaries():
    from ipt_lint.cli import live

    assert [t for t, _ in live.DUMPERS] == ["iptables-save", "ip6tables-save"]
    assert 0 < live.TIMEOUT_SECONDS <= 300
    source = (PACKAGE / "cli" / "live.py").read_text(encoding="utf-8")
    assert "shutil.which" in source or "which = shutil.which" in source


def test_no_shell_eval_or_unpickling_anywhere():
    problems = []
    for path, tree in _sources():
        imported_from = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in {"os", "pickle", "marshal", "subprocess"}:
                for alias in node.names:
                    imported_from[alias.asname or alias.name] = (node.module, alias.name)
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id, f.attr) in FORBIDDEN_ATTRS:
                    problems.append(f"{_where(path, node)}: {f.value.id}.{f.attr}")
                if isinstance(f, ast.Name) and f.id in FORBIDDEN_NAMES:
                    problems.append(f"{_where(path, node)}: {f.id}()")
                if isinstance(f, ast.Name) and imported_from.get(f.id) in FORBIDDEN_ATTRS:
                    problems.append(f"{_where(path, node)}: {imported_from[f.id]}")
    assert not problems, problems


def test_format_strings_are_literals():
    """`template.format(...)` and `template % args` where the template is not a literal could let
    dump text choose what gets formatted (`{0.__class__}`, `%n`). f-strings and literal templates
    are fine; the one template held in a variable is a keyword's quoting style, a module constant."""
    allowed = {("parse/values.py", "quote")}
    found = set()
    for path, tree in _sources():
        rel = str(path.relative_to(PACKAGE))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"format", "format_map"} and not isinstance(node.func.value, ast.Constant)):
                found.add((rel, ast.unparse(node.func.value)))
            # `template % (a, b)` / `template % {...}` with a template that is not a literal
            if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)
                    and not isinstance(node.left, (ast.Constant, ast.JoinedStr))
                    and isinstance(node.right, (ast.Tuple, ast.Dict))):
                found.add((rel, ast.unparse(node)))
    assert found <= allowed, sorted(found - allowed)


def test_paths_opened_by_ipt_lint_come_from_the_command_line():
    """`open(` appears only where the user names the file (dump paths, -o, --ipset, --baseline,
    --config, --write-baseline) or for the packaged grammar; never on a value from a dump. This
    lists them so a new one is looked at."""
    allowed = {
        "cli/common.py", "cli/lint_cmd.py", "cli/trace_cmd.py", "semantics/__init__.py", "policy/baseline.py",
        "policy/config.py", "cli/docs_gen.py", "parse/grammar.py",
        "checks/exposure.py",  # --ipv6-dump FILE, the other family's dump
    }
    found = set()
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in {"open", "read_text", "read_bytes", "write_text", "write_bytes", "fdopen"}:
                    found.add(str(path.relative_to(PACKAGE)))
    assert found <= allowed, sorted(found - allowed)
