"""Stage 6, policy: which findings the user asked for and how serious each one is.

    selection.py      --select / --ignore / per-file-ignores by code, prefix or name; severity
                      overrides; --fail-on
    suppressions.py   `ipt-lint: ignore=` inside the dump; IPT901 / IPT902
    baseline.py       --write-baseline / --baseline, and the stable finding key (also the SARIF and
                      GitLab fingerprint)
    config.py         .ipt-lint.toml, ipt-lint.toml, [tool.ipt-lint] in pyproject.toml

`lint_text` applies selection and suppressions per file; the baseline is applied by the command
line across all files of a run.
"""

from .selection import Selection, SelectorError, exit_code_for

__all__ = ["Selection", "SelectorError", "exit_code_for"]
