"""Notebook parameters checked before any work: unknown names (a misspelt ``-p latnet_dim``) and
values of the wrong kind (``-p models mmae``, ``-p tune ture``) fail at once, with a message that
names the parameter, what the notebook declares and what was given.

Each notebook's first code cell calls ``params.check(globals(), "NN_name")``: the declared
parameters are read from the ``parameters`` cell of ``notebooks/NN_name.py`` (parsed, never run),
the source of truth, and from the frozen dataclass of parameters it shares with other chapters
(chapters 7-14: :class:`mmae.study.zoo.ZooParams`). Checking is all it does: the chapter's clock
and watchdog start with :func:`mmae.report.provenance.start`.

:func:`train_config` is the one place where notebook parameters become a ``TrainConfig``.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import math
import types
from pathlib import Path

from mmae.artifacts import project_root
from mmae.device import pick_device
from mmae.training import TrainConfig

IPYTHON = {"In", "Out", "get_ipython", "exit", "quit", "open"}  # names IPython puts in a kernel


def declared(notebook: str, root: Path | None = None) -> dict:
    """The parameters (name -> default) of ``notebooks/{notebook}.py``'s ``parameters`` cell, which
    must hold plain assignments of literals (``name = value  # what it is``)."""
    source = (root or project_root()) / "notebooks" / f"{notebook}.py"
    cells = source.read_text().split("\n# %%")
    cell = next((c for c in cells if c.lstrip().startswith('tags=["parameters"]')), None)
    if cell is None:
        raise ValueError(f"{source} has no cell tagged parameters")
    values: dict = {}
    for node in ast.parse(cell.split("\n", 1)[1]).body:
        try:
            (target,) = node.targets if isinstance(node, ast.Assign) else (None,)
            values[target.id] = ast.literal_eval(node.value)
        except (AttributeError, ValueError):
            raise ValueError(f"{source}: its parameters cell must hold plain assignments of literal values "
                             f"(name = value), got {ast.unparse(node)!r}") from None
    return values


def shared_defaults(shared, root: Path | None = None) -> dict:
    """The parameters (name -> default) declared by ``shared``: the fields of a dataclass, or the
    parameters cell of the notebook it names (chapters 4 and 5 take chapter 3's, ``"03_train"``)."""
    if isinstance(shared, str):
        return declared(shared, root)
    if not (isinstance(shared, type) and dataclasses.is_dataclass(shared)):
        raise TypeError(f"shared must be a dataclass of parameters (such as mmae.study.ZooParams) or a notebook's "
                        f"name, got {shared!r}")
    return {f.name: f.default for f in dataclasses.fields(shared)}


def values(namespace: dict, notebook: str, root: Path | None = None) -> types.SimpleNamespace:
    """The parameters ``notebooks/{notebook}.py`` declares, with the values ``namespace`` (a
    kernel's ``globals()``) gives them: ``values(globals(), "03_train").latent_dim``."""
    return types.SimpleNamespace(**{k: namespace.get(k, v) for k, v in declared(notebook, root).items()})


def _kind_error(name: str, default, value) -> str | None:
    """Why ``value`` cannot stand for a parameter declared as ``default`` (None if it can)."""
    if default is None:
        return None  # "None: computed from the data" parameters take any value the chapter documents
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple))
    else:
        ok = isinstance(value, type(default))
    if ok:
        return None
    kind = "list" if isinstance(default, tuple) else type(default).__name__
    want = "a finite number" if isinstance(default, float) else ("an " if kind[0] in "aeiou" else "a ") + kind
    return f"{name} must be {want} (default {default!r}), got {type(value).__name__} {value!r}"


def check(namespace: dict, notebook: str, shared=None, *, root: Path | None = None) -> None:
    """Raise ``ValueError`` for every unknown parameter name in ``namespace`` (a kernel's
    ``globals()`` before the first import) and every value of the wrong kind; check ``device``.

    Parameters
    ----------
    namespace : dict
        The kernel's ``globals()``: the parameters cell's values and those papermill injected.
    notebook : str
        The notebook's name: its parameters are declared in ``notebooks/{notebook}.py``.
    shared : dataclass type, str or None
        Parameters the notebook shares with other chapters, declared once: the fields of a
        dataclass (:class:`mmae.study.ZooParams`) or another notebook's parameters cell (its name);
        a name may not be declared in both places.

    Examples
    --------
    >>> check({"latent_dim": 8}, "03_train")
    >>> check({"latnet_dim": 8}, "03_train")
    Traceback (most recent call last):
    ...
    ValueError: notebooks/03_train: unknown parameter 'latnet_dim' (did you mean 'latent_dim'?)...
    """
    own = declared(notebook, root)
    common = {} if shared is None else shared_defaults(shared, root)
    twice = sorted(set(own) & set(common))
    if twice:
        raise ValueError(f"notebooks/{notebook}: {twice} declared in its parameters cell and in {getattr(shared, '__name__', shared)}: "
                         "declare each parameter once")
    defaults = own | common
    given = {k: v for k, v in namespace.items() if not k.startswith("_") and k not in IPYTHON
             and not isinstance(v, (types.ModuleType, types.FunctionType, type))}
    problems = []
    for name in sorted(set(given) - set(defaults)):
        close = difflib.get_close_matches(name, defaults, n=1)
        problems.append(f"unknown parameter {name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    for name, default in defaults.items():
        if name in given and (why := _kind_error(name, default, given[name])):
            problems.append(why)
    if problems:
        raise ValueError(f"notebooks/{notebook}: " + "; ".join(problems)
                         + f". Its parameters: {', '.join(defaults)}")
    if "device" in given:
        pick_device(given["device"])  # an unknown or absent device fails here, before any data load


def train_config(values: dict, **overrides) -> TrainConfig:
    """The ``TrainConfig`` of a notebook's parameters: those of ``values`` (a kernel's ``globals()``,
    a dict or a :func:`values` namespace) that name one of its fields, then ``overrides``; the other
    fields keep their defaults."""
    values = vars(values) if isinstance(values, types.SimpleNamespace) else values
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in values.items() if k in names} | overrides)
