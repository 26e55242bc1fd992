"""Stage 6, policy: which findings the user asked for and how serious each one is.

    selection.py   --select / --ignore by code, prefix or name; severity overrides; --fail-on
"""

from .selection import Selection, exit_code_for

__all__ = ["Selection", "exit_code_for"]
