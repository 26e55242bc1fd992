"""A cheaper constructor for the frozen dataclasses built once per rule.

`@dataclass(frozen=True)` makes `__init__` set each field through `object.__setattr__(self, name,
value)`, which looks the slot up by name every time. On a 100k-rule dump the syntax tree and the
model build about two million such objects, and that lookup was a quarter of their cost (about
0.35 s of the parse and model stages). The hottest classes therefore write their own `__init__`
(dataclass keeps an `__init__` written in the class body), storing through the slots' descriptors:

    @dataclass(frozen=True, slots=True)
    class Option:
        span: Span
        name: str

        def __init__(self, span, name):
            _option_span(self, span)
            _option_name(self, name)

    _option_span, _option_name = slot_setters(Option)

Everything else stays the dataclass's: fields, `__eq__`, `__hash__`, `__repr__`, and assignment
still raises FrozenInstanceError. tests/test_frozen_init.py holds each such `__init__` to its
fields (names, order and defaults).
"""

from __future__ import annotations

import dataclasses


def slot_setters(cls) -> tuple:
    """The `__set__` of each field's slot, in field order, for a frozen slotted dataclass."""
    if not (dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen and hasattr(cls, "__slots__")):
        raise TypeError(f"{cls.__name__}: slot_setters is for frozen, slotted dataclasses")
    return tuple(getattr(cls, f.name).__set__ for f in dataclasses.fields(cls))
