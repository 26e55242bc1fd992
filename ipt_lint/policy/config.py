"""Configuration files.

The nearest of `.ipt-lint.toml`, `ipt-lint.toml` and a `pyproject.toml` with a `[tool.ipt-lint]`
table, searched from the working directory up to the root (in that order within one folder; a
`pyproject.toml` without the table is passed over). `--config FILE` names one instead, `--isolated`
reads none. The command line beats the file, the file beats the defaults.

Keys mirror the `lint` flags (see `KEYS` and docs/configuration.md). Every value is checked when the
file is read: an unknown key or a bad value is a one-line error naming the key and the file (exit 2).
Paths in a file (`baseline`, `ipset-file`) and `per-file-ignores` patterns are relative to the file's
folder.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any, Callable

from ..checks.base import Severity
from ..checks.context import LintOptions
from .selection import FAIL_ON, SelectorError, normalise_selector

CONFIG_FILES = (".ipt-lint.toml", "ipt-lint.toml", "pyproject.toml")


class ConfigError(ValueError):
    """One line: what is wrong, naming the file and the key."""


class _Bad(ValueError):
    pass


# --- value checkers: raise _Bad(reason) -------------------------------------------------------


def _str_list(v) -> tuple[str, ...]:
    if isinstance(v, str):
        raise _Bad(f'expected a list of strings, like ["{v}"]')
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _Bad("expected a list of strings")
    return tuple(v)


def _selectors(v) -> tuple[str, ...]:
    out = _str_list(v)
    for s in out:
        try:
            normalise_selector(s)
        except SelectorError as exc:
            raise _Bad(str(exc)) from None
    return out


def _choice(*choices: str) -> Callable:
    def check(v):
        if not isinstance(v, str) or v not in choices:
            raise _Bad(f"expected one of {', '.join(repr(c) for c in choices)}, got {v!r}")
        return v

    return check


def _severity_map(v) -> dict[str, str]:
    if not isinstance(v, dict):
        raise _Bad('expected a table of code = severity, like {EXP301 = "error"}')
    out = {}
    for k, sev in v.items():
        try:
            normalise_selector(k)
        except SelectorError as exc:
            raise _Bad(f"{k}: {exc}") from None
        try:
            Severity.parse(sev) if isinstance(sev, str) else Severity.parse("?")
        except ValueError:
            raise _Bad(f"{k}: unknown severity {sev!r} (error, warning, info)") from None
        out[k] = sev.lower()
    return out


def _per_file_ignores(v) -> dict[str, tuple[str, ...]]:
    if not isinstance(v, dict):
        raise _Bad('expected a table of pattern = [codes], like {"legacy/*.rules" = ["IPT107"]}')
    out = {}
    for pattern, codes in v.items():
        try:
            out[pattern] = _selectors(codes)
        except _Bad as exc:
            raise _Bad(f"{pattern!r}: {exc}") from None
    return out


def _jobs(v) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise _Bad("expected a number of worker processes (0: one per CPU)")
    return v


def _bool(v) -> bool:
    if not isinstance(v, bool):
        raise _Bad("expected true or false")
    return v


def _path(v) -> str:
    if not isinstance(v, str) or not v:
        raise _Bad("expected a path")
    return v


_PORT_SPEC = re.compile(r"^(?:(?P<proto>[a-z0-9]+)/)?(?P<lo>\d{1,5})(?:[-:](?P<hi>\d{1,5}))?$")


def check_port_spec(text: str) -> str:
    m = _PORT_SPEC.match(text.strip().lower())
    if not m or int(m.group("lo")) > 65535 or (m.group("hi") and not int(m.group("lo")) <= int(m.group("hi")) <= 65535):
        raise _Bad(f"`{text}' is not PROTO/PORT or PROTO/LOW-HIGH (like tcp/443)")
    return text


def check_address(text: str) -> str:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _Bad(f"`{text}' is not an address or CIDR") from None
    return text


def check_route(text: str) -> str:
    cidr, eq, iface = text.partition("=")
    if not eq or not iface:
        raise _Bad(f"`{text}' is not CIDR=IFACE (like 10.8.0.0/24=wg0)")
    check_address(cidr)
    return text


def _each(check: Callable[[str], str]) -> Callable:
    def run(v):
        return tuple(check(x) for x in _str_list(v))

    return run


def _family(v) -> str | None:
    _choice("ipv4", "ipv6", "auto")(v)
    return None if v == "auto" else v


# Checkers for LintOptions fields with a known shape; other fields get one from their default.
OPTION_CHECKS: dict[str, Callable] = {
    "allow_public": _each(check_port_spec),
    "sensitive_ports": _each(check_port_spec),
    "local_addresses": _each(check_address),
    "routes": _each(check_route),
    "ipset_file": _path,
}


def _checker_for_option(f: dataclasses.Field) -> Callable:
    if f.name in OPTION_CHECKS:
        return OPTION_CHECKS[f.name]
    default = f.default if f.default is not dataclasses.MISSING else None
    ann = str(f.type)
    if isinstance(default, bool):
        return _bool
    if isinstance(default, tuple) or "tuple" in ann:
        return _str_list
    if isinstance(default, int):
        return _jobs
    return _path if "str" in ann else (lambda v: v)


def _keys() -> dict[str, tuple[str, Callable]]:
    """config key -> (setting name, checker). Every LintOptions field is a key (its name with `-`)."""
    from ..report.registry import FORMATS

    keys: dict[str, tuple[str, Callable]] = {
        "select": ("select", _selectors),
        "ignore": ("ignore", _selectors),
        "fail-on": ("fail_on", _choice(*FAIL_ON)),
        "severity": ("severity", _severity_map),
        "per-file-ignores": ("per_file_ignores", _per_file_ignores),
        "format": ("format", _choice(*sorted(FORMATS))),
        "color": ("color", _choice("auto", "always", "never")),
        "jobs": ("jobs", _jobs),
        "statistics": ("statistics", _bool),
        "baseline": ("baseline", _path),
        "family": ("family", _family),
    }
    for f in dataclasses.fields(LintOptions):
        keys[f.name.replace("_", "-")] = (f.name, _checker_for_option(f))
    return keys


PATH_SETTINGS = ("baseline", "ipset_file")


@dataclass
class Config:
    path: str | None = None  # None: no file (defaults only)
    settings: dict[str, Any] = field(default_factory=dict)  # setting name -> checked value

    @property
    def base_dir(self) -> str | None:
        return os.path.dirname(os.path.abspath(self.path)) if self.path else None

    def get(self, name: str, default=None):
        return self.settings.get(name, default)


def find_config(start: str | None = None) -> str | None:
    """The nearest configuration file from `start` (default: the working directory) upwards."""
    d = os.path.abspath(start or os.getcwd())
    while True:
        for name in CONFIG_FILES:
            p = os.path.join(d, name)
            if not os.path.isfile(p):
                continue
            if name != "pyproject.toml" or _has_tool_table(p):
                return p
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _has_tool_table(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        # A broken pyproject.toml is only our business if it holds our table; look for its header.
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                return re.search(r"^\s*\[\s*tool\s*\.\s*(\"ipt-lint\"|ipt-lint)\s*[\].]", fh.read(), re.M) is not None
        except OSError:
            return False
    return isinstance(doc.get("tool"), dict) and "ipt-lint" in doc["tool"]


def load_config(path: str) -> Config:
    """Read and check one configuration file. Raises ConfigError."""
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    prefix = ""
    if os.path.basename(path) == "pyproject.toml":
        tool = doc.get("tool", {})
        if not isinstance(tool, dict) or "ipt-lint" not in tool:
            raise ConfigError(f"{path}: has no [tool.ipt-lint] table")
        doc = tool["ipt-lint"]
        prefix = "tool.ipt-lint."
        if not isinstance(doc, dict):
            raise ConfigError(f"{path}: tool.ipt-lint must be a table")
    keys = _keys()
    settings: dict[str, Any] = {}
    base = os.path.dirname(os.path.abspath(path))
    for key, value in doc.items():
        if key not in keys:
            close = difflib.get_close_matches(key.replace("_", "-"), list(keys), n=1)
            hint = f" (did you mean `{close[0]}'?)" if close else f" (known keys: {', '.join(sorted(keys))})"
            raise ConfigError(f"{path}: unknown key `{prefix}{key}'{hint}")
        name, check = keys[key]
        try:
            value = check(value)
        except _Bad as exc:
            raise ConfigError(f"{path}: bad value for `{prefix}{key}': {exc}") from None
        if name in PATH_SETTINGS and value is not None:
            value = os.path.normpath(os.path.join(base, value))
        settings[name] = value
    return Config(path, settings)


def config_for(config_path: str | None, isolated: bool, start: str | None = None) -> Config:
    """The configuration a run uses: `--config`, else the nearest file, else none (`--isolated`)."""
    if isolated:
        return Config()
    path = config_path or find_config(start)
    return load_config(path) if path else Config()


def cli_value_error(flag: str, check: Callable, values) -> str | None:
    """Check command-line values with the same rules as the file; the problem as one line, or None."""
    try:
        for v in values:
            check(v)
    except _Bad as exc:
        return f"{flag}: {exc}"
    return None


__all__ = [
    "CONFIG_FILES",
    "Config",
    "ConfigError",
    "check_address",
    "check_port_spec",
    "check_route",
    "cli_value_error",
    "config_for",
    "find_config",
    "load_config",
]
