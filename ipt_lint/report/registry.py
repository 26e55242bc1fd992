"""Output formats by name (`--format`), each a function (results, console/stream, ...) -> None."""

from __future__ import annotations

from typing import Callable

from . import concise, json_, text

FORMATS: dict[str, Callable] = {
    "text": text.render,
    "concise": concise.render,
    "json": json_.render,
}


def render(fmt: str, results, out, **kwargs) -> None:
    FORMATS[fmt](results, out, **kwargs)
