"""The hand-written constructors of the hot frozen dataclasses (see ipt_lint.frozen) must build
exactly what dataclass's own constructor would: same parameters, order and defaults, every field
stored, and the instance still frozen."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from ipt_lint.frozen import slot_setters
from ipt_lint.model import types as model_types
from ipt_lint.parse import ast as ast_types


def _hand_written():
    for module in (ast_types, model_types):
        for value in vars(module).values():
            if (isinstance(value, type) and dataclasses.is_dataclass(value)
                    and value.__init__.__code__.co_filename != "<string>"):  # dataclass's own come from exec
                yield value


HAND_WRITTEN = sorted(_hand_written(), key=lambda c: c.__name__)


def test_the_hot_classes_have_one():
    names = {cls.__name__ for cls in HAND_WRITTEN}
    assert {"Option", "Match", "Target", "Rule", "RuleLine", "RuleModel", "MatchModel", "OptionValue", "TargetModel"} <= names


@pytest.mark.parametrize("cls", HAND_WRITTEN, ids=lambda c: c.__name__)
def test_parameters_are_the_fields(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields):
        assert f.default_factory is dataclasses.MISSING, f"{cls.__name__}.{f.name}: a factory needs dataclass's init"
        expected = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert p.default == expected, f"{cls.__name__}.{f.name}"
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


@pytest.mark.parametrize("cls", HAND_WRITTEN, ids=lambda c: c.__name__)
def test_every_field_is_stored_and_frozen(cls):
    args = {f.name: object() for f in dataclasses.fields(cls)}
    for obj in (cls(**args), cls(*args.values())):
        for name, value in args.items():
            assert getattr(obj, name) is value
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, next(iter(args)), None)
    assert cls(**args) == cls(*args.values())


@pytest.mark.parametrize("cls", HAND_WRITTEN, ids=lambda c: c.__name__)
def test_setters_follow_the_field_order(cls):
    # a setter bound to the wrong slot would store a value under another field's name
    setters = slot_setters(cls)
    assert [s.__self__.__name__ for s in setters] == [f.name for f in dataclasses.fields(cls)]


def test_refuses_what_it_cannot_do():
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    for cls in (NoSlots, NotFrozen, int):
        with pytest.raises(TypeError):
            slot_setters(cls)
