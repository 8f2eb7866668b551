"""Notebook parameters checked before any work: unknown names (a misspelt ``-p latnet_dim``) and
values of the wrong kind (``-p models mmae``, ``-p tune ture``) fail at once, with a message that
names the parameter, what the notebook declares and what was given.

Each notebook's first code cell calls ``params.check(globals(), "NN_name")``: the declared
parameters are read from the ``parameters`` cell of ``notebooks/NN_name.py``, the source of truth.
The same call starts the chapter's clock (:mod:`mmae.report.provenance`) and, in a book build, the
watchdog of its wall-time limit (:mod:`mmae.watchdog`).
"""
from __future__ import annotations

import difflib
import math
import types
from pathlib import Path

from mmae import watchdog
from mmae.artifacts import project_root
from mmae.device import pick_device
from mmae.report import provenance  # importing it starts the chapter's clock (its provenance wall time)

IPYTHON = {"In", "Out", "get_ipython", "exit", "quit", "open"}  # names IPython puts in a kernel


def declared(notebook: str, root: Path | None = None) -> dict:
    """The parameters (name -> default) of ``notebooks/{notebook}.py``'s ``parameters`` cell."""
    source = (root or project_root()) / "notebooks" / f"{notebook}.py"
    cells = source.read_text().split("\n# %%")
    cell = next((c for c in cells if c.lstrip().startswith('tags=["parameters"]')), None)
    if cell is None:
        raise ValueError(f"{source} has no cell tagged parameters")
    values: dict = {}
    exec(cell.split("\n", 1)[1], {}, values)  # plain literal assignments, written by us
    return values


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
    kind = type(default).__name__
    want = "a finite number" if isinstance(default, float) else ("an " if kind[0] in "aeiou" else "a ") + kind
    return f"{name} must be {want} (default {default!r}), got {type(value).__name__} {value!r}"


def check(namespace: dict, notebook: str, root: Path | None = None) -> None:
    """Raise ``ValueError`` for every unknown parameter name in ``namespace`` (a kernel's
    ``globals()`` before the first import) and every value of the wrong kind; check ``device``.

    Examples
    --------
    >>> check({"latent_dim": 8}, "03_train")
    >>> check({"latnet_dim": 8}, "03_train")
    Traceback (most recent call last):
    ...
    ValueError: notebooks/03_train: unknown parameter 'latnet_dim' (did you mean 'latent_dim'?)...
    """
    provenance.start()  # the chapter's wall time counts from here (a no-op once the clock runs)
    defaults = declared(notebook, root)
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
    watchdog.start(notebook)  # only when MMAE_NOTEBOOK_LIMIT_S is set, as the book build sets it
