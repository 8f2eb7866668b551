"""Notebook parameters checked before any work: unknown names (a misspelt ``-p latnet_dim``) and
values of the wrong kind (``-p models mmae``, ``-p tune ture``) fail at once, with a message that
names the parameter, what the notebook declares and what was given.

Each notebook's first code cell calls ``params.check(globals(), "NN_name")``: the declared
parameters are read from the ``parameters`` cell of ``notebooks/NN_name.py`` (parsed, never run),
the source of truth, and from the frozen dataclass of parameters it shares with other chapters
(chapters 7-14: :class:`mmae.study.zoo.ZooParams`). Checking is all it does: the chapter's clock
and watchdog start with :func:`mmae.report.provenance.start`.

Once the data are loaded, and before any work, ``params.check_data(globals(), "NN_name",
features)`` checks every value against what the data allow, from one declarative table,
:data:`LIMITS` (k within [2, test rows - 1], t-SNE sizes within the points, one weight per
modality, ...); the ranges that need no data (``n_init >= 1``, distinct seeds, ``artifacts_dir``
not a system folder) are checked by :func:`check` already.

:func:`train_config` is the one place where notebook parameters become a ``TrainConfig``.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import math
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mmae import paper
from mmae.artifacts import check_folder, project_root
from mmae.device import pick_device
from mmae.training import TrainConfig, make_config
from mmae.rules import is_finite, is_int
from mmae.training.config import flat_names

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
    problems = [why for name in defaults if name in given
                and (why := _out_of_range(notebook, name, given[name], None, defaults | given))]
    if problems:
        raise ValueError(f"notebooks/{notebook}: " + "; ".join(problems))
    if "device" in given:
        pick_device(given["device"])  # an unknown or absent device fails here, before any data load
    if "artifacts_dir" in given:
        check_folder(given["artifacts_dir"])


def train_config(values: dict, model: str = "mmae", **overrides) -> TrainConfig:
    """The ``TrainConfig`` of ``model`` from a notebook's parameters: those of ``values`` (a
    kernel's ``globals()``, a dict or a :func:`values` namespace) that name a part of it
    (:func:`mmae.training.make_config`), then ``overrides``; the rest keep their defaults."""
    values = vars(values) if isinstance(values, types.SimpleNamespace) else values
    names = flat_names(model)
    return make_config(model, **{k: v for k, v in values.items() if k in names} | overrides)


# ------------------------------------------------------------------- ranges, against the data
@dataclass(frozen=True)
class Facts:
    """What the parameters are checked against: the sizes of the loaded data."""

    name: str
    n_train: int
    n_test: int
    n_classes: int
    modalities: tuple[str, ...]
    k_here: int  # the k that stands where the paper used k = 42 (the number of classes)

    @classmethod
    def of(cls, features) -> Facts:
        n_test = len(features.y["test"])
        return cls(features.name, len(features.y["train"]), n_test, features.n_classes, tuple(features.modalities),
                   paper.here_k(features.n_classes, paper.TABLE2_K, n_test))


@dataclass(frozen=True)
class Limit:
    """A parameter's range: ``ok(value, facts, params)`` (``facts`` None when ``data`` is False:
    checked by :func:`check`, before any load), and ``text``, what it must be (``{n_test}``,
    ``{M}``, ... filled in from the facts and ``params``)."""

    ok: Callable
    text: str
    data: bool = True


def _ints(v, low=None, high=None, distinct=True) -> bool:
    return (isinstance(v, (list, tuple)) and len(v) > 0 and all(is_int(k) for k in v)
            and (not distinct or len(set(v)) == len(v)) and all((low is None or k >= low) and (high is None or k <= high) for k in v))


def _weights(w, M: int) -> bool:
    return (isinstance(w, (list, tuple)) and len(w) == M and all(is_finite(a) and a >= 0 for a in w)
            and any(a > 0 for a in w))


LIMITS = {
    "k": Limit(lambda v, d, p: v is None or (is_int(v) and 2 <= v <= d.n_test - 1), "None or an int in [2, {n_test_1}]"),
    "ks": Limit(lambda v, d, p: v is None or _ints(v, 2, d.n_test - 1),
                "None or a non-empty list of distinct ints in [2, {n_test_1}]"),
    "n_init": Limit(lambda v, d, p: is_int(v) and v >= 1, "an int >= 1", data=False),
    "n_seeds": Limit(lambda v, d, p: is_int(v) and v >= 1, "an int >= 1", data=False),
    "seeds": Limit(lambda v, d, p: _ints(v), "a non-empty list of distinct ints", data=False),
    "models": Limit(lambda v, d, p: isinstance(v, (list, tuple)) and len(v) > 0 and len(set(v)) == len(v)
                    and all(isinstance(a, str) and a for a in v),
                    "a non-empty list of distinct model names (keys of mmae.study.MODEL_LABELS)", data=False),
    "sigmas": Limit(lambda v, d, p: isinstance(v, (list, tuple)) and len(v) > 0 and all(is_finite(a) and a >= 0 for a in v),
                    "a non-empty list of finite numbers >= 0", data=False),
    "data_sets": Limit(lambda v, d, p: isinstance(v, (list, tuple)) and len(v) > 0 and len(set(v)) == len(v)
                       and all(isinstance(a, str) and a for a in v), "a non-empty list of distinct data names", data=False),
    "fusion_weights": Limit(lambda v, d, p: v is None or (isinstance(v, (list, tuple)) and len(v) > 0
                                                          and all(_weights(w, len(d.modalities)) for w in v)),
                            "None or a non-empty list of weight lists, each with one finite weight >= 0 per "
                            "modality ({M}: {modalities}), not all zero"),
    "table3_weights": Limit(lambda v, d, p: v is None or _weights(v, len(d.modalities)),
                            "None or one finite weight >= 0 per modality ({M}: {modalities}), not all zero"),
    "points": Limit(lambda v, d, p: is_int(v) and v >= 2, "an int >= 2 (at most this many test rows; all where fewer)",
                    data=False),
    "points_per_modality": Limit(lambda v, d, p: is_int(v) and v >= 1,
                                 "an int >= 1 (at most this many test rows; all where fewer)", data=False),
    "perplexity": Limit(lambda v, d, p: is_finite(v) and 0 < v < min(p.get("points", d.n_test), d.n_test),
                        "a number in (0, points = {points}) (t-SNE needs more points than its perplexity)"),
    "latent_dim": Limit(lambda v, d, p: is_int(v) and v >= 1, "an int >= 1", data=False),
    "sweep_grid": Limit(lambda v, d, p: isinstance(v, dict) and len(v) > 0 and all(
        isinstance(k, str) and isinstance(vals, (list, tuple)) and len(vals) > 0 for k, vals in v.items()),
        "a non-empty dict of parameter name to a non-empty list of values", data=False),
}
"""Every parameter's range, one rule each, shared by the notebooks that declare it."""

_KS_HERE = Limit(lambda v, d, p: v is None or (_ints(v, 2, d.n_test - 1) and d.k_here in v),
                 "None or a non-empty list of distinct ints in [2, {n_test_1}] holding {k_here} (where the paper "
                 "used k = 42: its tables are compared there)")
NOTEBOOK_LIMITS = {
    "02_baselines": {"ks": _KS_HERE},
    "04_evaluate": {"ks": _KS_HERE},
    "05_figures": {"n_neighbors": Limit(lambda v, d, p: is_int(v) and 2 <= v < min(p.get("points", d.n_test), d.n_test),
                                        "an int in [2, points = {points}) (UMAP's neighbours among the points)")},
    "11_tagging": {"n_neighbors": Limit(lambda v, d, p: is_int(v) and 1 <= v <= d.n_train,
                                        "an int in [1, {n_train}] (the labelled train rows that vote)")},
}
"""Parameters whose meaning differs between notebooks: their ranges there."""


def _out_of_range(notebook: str, name: str, value, facts: Facts | None, params: dict) -> str | None:
    """Why ``value`` is out of ``name``'s range on ``facts`` (None if it is in, or not checked now)."""
    limit = NOTEBOOK_LIMITS.get(notebook, {}).get(name) or LIMITS.get(name)
    if limit is None or (facts is None and limit.data) or (facts is not None and not limit.data):
        return None
    try:
        ok = limit.ok(value, facts, params)
    except TypeError:
        ok = False
    if ok:
        return None
    fill = {"points": params.get("points")}
    if facts is not None:
        if is_int(fill["points"]):  # the points mapped: at most the test rows
            fill["points"] = min(fill["points"], facts.n_test)
        fill |= {"n_test": facts.n_test, "n_test_1": facts.n_test - 1, "n_train": facts.n_train, "k_here": facts.k_here,
                 "M": len(facts.modalities), "modalities": ", ".join(facts.modalities)}
    where = f" on {facts.name}" if facts is not None else ""
    return f"{name} must be {limit.text.format(**fill)}{where}, got {value!r}"


def check_data(namespace: dict, notebook: str, features, shared=None, *, root: Path | None = None) -> None:
    """Raise ``ValueError`` for every parameter of ``notebook`` whose value the loaded ``features``
    cannot take (:data:`LIMITS`), naming the parameter, its range on these data and the value,
    before any work is done with them. ``shared`` as in :func:`check`."""
    defaults = declared(notebook, root) | ({} if shared is None else shared_defaults(shared, root))
    values = defaults | {k: namespace[k] for k in defaults if k in namespace}
    facts = Facts.of(features)
    problems = [why for name in defaults if (why := _out_of_range(notebook, name, values[name], facts, values))]
    if problems:
        raise ValueError(f"notebooks/{notebook}: " + "; ".join(problems))
