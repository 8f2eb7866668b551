"""The data sets the notebooks run on, by name: the committed real media sets (read from their
folders; :mod:`mmae.media` builds them), the synthetic variants, or any bundle folder (``MMAE_DATA``
replaces the default)."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from mmae.data.bundle import load_bundle
from mmae.data.features import Features

#: the real media sets that ship with the package: name -> (its bundle folder, its name). The folders
#: lie under mmae/media/, whose builders write there (:mod:`mmae.media` takes these paths from here)
REAL_SETS = {
    "real": (Path(__file__).parents[1] / "media" / "tiny50",
             "the LUMA-shaped real set (Tiny ImageNet photographs, 15 voices, WordNet; 42 + 8 classes)"),
    "real:cifar10": (Path(__file__).parents[1] / "media" / "bundle",
                     "the small real set (CIFAR-10 images, espeak-ng speech, WordNet text; 8 + 2 classes)"),
}
REAL_SETS["real:tiny50"] = REAL_SETS["real"]
REAL_NAME = REAL_SETS["real"][1]


def load_features(data: str | Path = "real", seed: int = 0, dims: dict[str, int] | None = None,
                  environ: bool = True) -> Features:
    """The notebooks' entry point: ``"real"`` (default), ``"real:cifar10"``, ``"synthetic"`` or a bundle folder.

    The environment variable ``MMAE_DATA``, when set, replaces the default ``"real"`` (an explicit
    other value still wins): ``MMAE_DATA=/path/to/bundle jupyter-book build book/`` builds the
    whole book on that bundle, and every table then names it.

    Parameters
    ----------
    data : str or Path
        ``"real"`` (also ``"real:tiny50"``): the committed LUMA-shaped real set, 42 + 8 classes
        (:mod:`mmae.media.make50`); ``"real:cifar10"``: the small real set, 8 + 2 classes
        (:mod:`mmae.media.make`); ``"synthetic"``: the
        LUMA-shaped synthetic set (:mod:`mmae.data.synthetic`); else the path of a bundle folder.
    seed : int
        Seed of the synthetic set (ignored otherwise).
    dims : dict of str to int or None
        Expected dimensions of a bundle (see :func:`load_bundle`); None accepts any.
    environ : bool, default True
        Let ``MMAE_DATA`` replace ``"real"``; False always gives the committed real media set.
    """
    if str(data) == "real" and environ and os.environ.get("MMAE_DATA"):
        data = os.environ["MMAE_DATA"]
    if str(data) in REAL_SETS:
        folder, name = REAL_SETS[str(data)]
        return replace(load_bundle(folder, dims), name=name)
    if str(data).startswith("real:"):
        raise ValueError(f"data: unknown real set {str(data)!r}; expected one of {sorted(REAL_SETS)}")
    name, _, variant = str(data).partition(":")
    if name != "synthetic":
        return load_bundle(data, dims)
    from mmae.data.synthetic import VARIANTS, make_synthetic

    if variant and variant not in VARIANTS:
        raise ValueError(f"data: unknown synthetic variant {variant!r}; expected one of "
                         + ", ".join(f"'synthetic:{v}'" for v in VARIANTS))
    x, y, nuisance = make_synthetic(seed=seed, return_nuisance=True, variant=variant or "nuisance")
    label = f", {variant} variant" if variant and variant != "nuisance" else ""
    return Features(x, y, name=f"synthetic LUMA-shaped{label} (seed {seed})", synthetic=True, nuisance=nuisance)
