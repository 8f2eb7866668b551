"""Progress bars that are drawn on a terminal and nowhere else.

A bar written into a notebook's output is noise on the book's pages and in papermill's executed
notebooks (every redraw stays in the stderr stream, in a red box), and ``tqdm.auto`` in a kernel
without ipywidgets warns "IProgress not found" instead of drawing one. So every bar of the package
is plain :class:`tqdm.std.tqdm`, shown only when its stream is a terminal (tqdm's ``disable=None``):
``python -m mmae.media build`` in a shell shows its bars, a notebook kernel (whose stderr is not a
terminal) shows none, and the chapters report the time per epoch in their own tables instead.

Libraries that import ``tqdm.auto`` themselves (umap-learn, transformers) are imported through
:func:`quiet_import`, so that its warning does not reach a page either.
"""
from __future__ import annotations

import importlib
import warnings

from tqdm.std import TqdmWarning, tqdm


def bar(iterable=None, *, show: bool = True, **kwargs) -> tqdm:
    """A console progress bar over ``iterable``, drawn only if ``show`` and its stream is a terminal.

    Parameters
    ----------
    iterable : iterable or None
        What to iterate over (None: update the bar by hand, with ``total``).
    show : bool, default True
        False never draws the bar, even on a terminal.
    **kwargs
        Passed to :class:`tqdm.std.tqdm` (``desc``, ``total``, ``leave``, ``mininterval``, ``file``, ...);
        ``disable`` is set here and may not be given.

    Examples
    --------
    >>> import io
    >>> sum(bar(range(3), file=io.StringIO()))  # not a terminal: iterates, draws nothing
    3
    """
    if not isinstance(show, bool):
        raise TypeError(f"show must be a bool, got {type(show).__name__} {show!r}")
    if "disable" in kwargs:
        raise TypeError(f"disable is set by show (and the terminal), got disable={kwargs['disable']!r}")
    return tqdm(iterable, disable=None if show else True, **kwargs)


def quiet_import(name: str):
    """``importlib.import_module(name)`` without the warning "IProgress not found. Please update
    jupyter and ipywidgets" that ``tqdm.auto`` writes to stderr when a library (umap-learn,
    transformers) imports it in a kernel without ipywidgets. Nothing is lost: those libraries
    then draw console bars, and here they draw none (umap runs with ``verbose=False``, the
    transformers models are built or loaded without a download). Any other warning still shows.

    Examples
    --------
    >>> quiet_import("json").__name__
    'json'
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a module name (a non-empty str), got {name!r}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "IProgress not found", TqdmWarning)
        return importlib.import_module(name)
