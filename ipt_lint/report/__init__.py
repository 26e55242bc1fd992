"""Stage 7, reporters: findings -> text for people and machines. Reporters never compute.

    text.py      rich, ruff-like (default)
    concise.py   one line per finding
    json_.py     one JSON document
    safe.py      escaping of dump content for the terminal
"""

from .registry import FORMATS, render

__all__ = ["FORMATS", "render"]
