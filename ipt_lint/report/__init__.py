"""Stage 7, reporters: findings -> text for people and machines. Reporters never compute.

    text.py      rich, ruff-like (default)
    concise.py   one line per finding
    json_.py     one JSON document
    safe.py      escaping of dump content for the terminal
"""

__all__ = ["FORMATS", "render"]


def __getattr__(name: str):
    # The finding reporters (and the checks they import) load on first use, so `trace` and
    # `exposure`, which use only trace_text/exposure views and jsonout, do not pay for them.
    if name in __all__:
        from . import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
