"""Declarative checks of parameters: a field names its :class:`Rule`, one function applies them.

A config is a frozen dataclass whose fields carry their rule (``field(metadata={"rule": ...})``,
written :func:`ruled`); its ``__post_init__`` calls :func:`validate`. A value of the wrong kind
raises ``TypeError``, a value of the right kind out of range ``ValueError``; both name the
owner and the field, say what was expected and show what was given::

    TrainConfig.latent_dim must be an int, got str '8'
    Optim.lr must be a finite number > 0, got 0.0
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


def is_int(value) -> bool:
    """True for an int (NumPy's too), False for a bool: ``True`` is no epoch count."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_number(value) -> bool:
    """True for a real number (int or float, NumPy's too), False for a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def is_finite(value) -> bool:
    """True for a finite real number, False for a bool, NaN or inf."""
    return is_number(value) and bool(np.isfinite(value))


@dataclass(frozen=True)
class Rule:
    """What a parameter must be: of a kind (``kind(value)``, said as ``kind_text``), then within
    a range (``ok(value)``, said as ``text``)."""

    kind: Callable[[Any], bool]
    kind_text: str
    ok: Callable[[Any], bool] = lambda value: True
    text: str = ""

    def check(self, owner: str, name: str, value) -> None:
        """Raise ``TypeError`` or ``ValueError`` naming ``owner.name`` unless ``value`` follows the rule."""
        if not self.kind(value):
            raise TypeError(f"{owner}.{name} must be {self.kind_text}, got {type(value).__name__} {value!r}")
        if not self.ok(value):
            raise ValueError(f"{owner}.{name} must be {self.text or self.kind_text}, got {value!r}")


def _ints(value) -> bool:
    return isinstance(value, (tuple, list)) and all(is_int(v) for v in value)


INT = Rule(is_int, "an int")
POSITIVE_INT = Rule(is_int, "an int", lambda v: v >= 1, "a positive int")
POSITIVE = Rule(is_number, "a number", lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
NON_NEGATIVE = Rule(is_number, "a number", lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
PROBABILITY = Rule(is_number, "a number", lambda v: math.isfinite(v) and 0 <= v < 1, "a number in [0, 1)")
BOOL = Rule(lambda v: isinstance(v, (bool, np.bool_)), "True or False")
TEXT = Rule(lambda v: isinstance(v, str), "a str")
POSITIVE_INTS = Rule(_ints, "a list of ints", lambda v: all(w >= 1 for w in v), "a list of positive ints")
WEIGHTS = Rule(lambda v: v is None or (isinstance(v, Mapping) and all(isinstance(k, str) and is_number(w)
                                                                      for k, w in v.items())),
               "None or a dict of modality to weight",
               lambda v: v is None or all(math.isfinite(w) and w >= 0 for w in v.values()),
               "None or a dict of modality to a finite weight >= 0")


def one_of(choices) -> Rule:
    """A rule for a str among ``choices``."""
    choices = tuple(choices)
    return Rule(lambda v: isinstance(v, str), "a str", lambda v: v in choices, f"one of {choices}")


def at_least(low: int) -> Rule:
    """A rule for an int >= ``low``."""
    return Rule(is_int, "an int", lambda v: v >= low, f"an int >= {low}")


def ruled(default, rule: Rule, **kwargs):
    """A dataclass field with ``default`` (a callable: its default factory) checked by ``rule``."""
    if callable(default) and not isinstance(default, (int, float, str, bool)):
        return dataclasses.field(default_factory=default, metadata={"rule": rule}, **kwargs)
    return dataclasses.field(default=default, metadata={"rule": rule}, **kwargs)


def validate(obj) -> None:
    """Check every field of the dataclass ``obj`` that carries a rule, in declaration order."""
    for f in dataclasses.fields(obj):
        if "rule" in f.metadata:
            f.metadata["rule"].check(type(obj).__name__, f.name, getattr(obj, f.name))
