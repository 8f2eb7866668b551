"""Feature bundles: load and validate them, standardise them, or make the synthetic default.

A *feature bundle* is a folder of NumPy files, one per split x modality plus the labels::

    {split}_{modality}.npy   float (n_split, d_modality)   e.g. train_image.npy (21000, 50)
    {split}_labels.npy       int   (n_split,)              e.g. train_labels.npy (21000,)

    {split}_nuisance_{name}.npy  int  (n_split,)      optional, e.g. train_nuisance_speaker.npy

with splits ``train``, ``test`` (required) and ``ood`` (optional). The modalities are whatever the
train split holds (two or more, any names and dimensions; LUMA's are image 50-D, audio 1024-D and
text 768-D). Row ``i`` of every file of a split is one triplet. *Nuisance* labels name a known
factor that is not the class (the speaker of a clip): chapter 1 clusters against them.

:func:`mmae.data.load_features` gives the data the notebooks run on: ``"real"`` (default) is the committed real
media set of :mod:`mmae.media` (CIFAR-10 images, spoken class words, WordNet descriptions, through
pretrained encoders); ``"synthetic"`` the deterministic LUMA-shaped synthetic set of
:mod:`mmae.data.synthetic` (``"synthetic:low_snr"``, ``"synthetic:nonlinear"``: its other variants);
anything else is a bundle folder. Neither embedded set is LUMA: their
numbers are never a reproduction of the paper.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mmae.artifacts import display_path
from mmae.atomic import save_npy, write_text
from mmae.data.features import MODALITIES, SPLITS, Features
from mmae.data.manifest import MANIFEST, open_regular, sha256_file, verify_manifest

__all__ = ["bundle_modalities", "load_bundle", "save_bundle", "sha256_file", "verify_manifest"]

LABEL_LIMIT = 2 ** 31  # a label at or above it is a corrupt file, not a class id
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _header(f) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the header of open ``.npy`` file ``f`` (left just past the header)."""
    fmt = np.lib.format
    version = fmt.read_magic(f)
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, _, dtype = read(f)
    return shape, dtype


def load_npy(file: str | Path) -> np.ndarray:
    """``np.load(file, allow_pickle=False)`` of a regular file; anything unreadable (corrupt,
    truncated, pickled, an archive) is a ValueError naming ``file``. The header's size is checked
    against the file's before any memory is allocated for the data."""
    file = Path(file)
    with open_regular(file) as f:
        try:
            shape, dtype = _header(f)
            need, have = int(np.prod(shape, dtype=object)) * dtype.itemsize, os.fstat(f.fileno()).st_size - f.tell()
            if not dtype.hasobject and need > have:
                raise ValueError(f"its header says {shape} {dtype}, {need} bytes of data, but only {have} "
                                 "follow: the file is truncated")
            f.seek(0)
            a = np.load(f, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise ValueError(f"{file}: not a readable .npy array ({e})") from e
    return a


def _check_array(a: np.ndarray, file: Path, what: str, ndim: int, kind: str) -> None:
    if a.ndim != ndim:
        raise ValueError(f"{file}: {what} must be {ndim}-D, got shape {a.shape}")
    if kind == "float" and not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{file}: {what} must have a float dtype, got {a.dtype}")
    if kind == "int" and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{file}: {what} must have an integer dtype, got {a.dtype}")
    if kind == "float" and a.shape[1] == 0:
        raise ValueError(f"{file}: {what} must have at least 1 column, got shape {a.shape}")
    if kind == "float" and not np.isfinite(a).all():
        bad = int((~np.isfinite(a)).sum())
        raise ValueError(f"{file}: {what} must be finite, got {bad} NaN/inf values")
    if kind == "float" and a.dtype.itemsize > 4 and a.size and (top := float(np.abs(a).max())) > FLOAT32_MAX:
        big = int((np.abs(a) > FLOAT32_MAX).sum())  # checked before the cast to float32 makes them inf
        raise ValueError(f"{file}: {what} must fit in float32 (|x| <= {FLOAT32_MAX:.7g}), got {big} "
                         f"values beyond it (largest |x| {top:.4g})")
    if kind == "int" and a.size:  # min and max in the file's own dtype: a uint64 is never wrapped
        lo, hi = int(a.min()), int(a.max())
        if lo < 0:
            raise ValueError(f"{file}: {what} must be non-negative integers, got {lo} at row {int(a.argmin())}")
        if hi >= LABEL_LIMIT:
            raise ValueError(f"{file}: {what} must be below 2**31 = {LABEL_LIMIT} (a class id, not a corrupt "
                             f"value), got {hi} at row {int(a.argmax())}")


def _some(values) -> str:
    values = [int(v) for v in values]
    return str(values[:10])[:-1] + (", ...]" if len(values) > 10 else "]")


def _check_classes(root: Path, y: dict[str, np.ndarray]) -> int:
    """In-distribution labels exactly 0..k-1 (train), test's among them, OOD's none of them; k."""
    classes = np.unique(y["train"])
    k = len(classes)
    if k < 2:
        raise ValueError(f"{root / 'train_labels.npy'}: labels must hold at least 2 classes, got {k}")
    if classes[-1] != k - 1:
        gaps = np.flatnonzero(np.diff(classes) > 1)
        first = 0 if classes[0] != 0 else int(classes[gaps[0]]) + 1
        raise ValueError(f"{root / 'train_labels.npy'}: in-distribution labels must be exactly 0..k-1 (every "
                         f"class present), got {k} classes from {int(classes[0])} to {int(classes[-1])} "
                         f"(label {first} is missing)")
    other = np.setdiff1d(y["test"], classes)
    if len(other):
        raise ValueError(f"{root / 'test_labels.npy'}: labels must be classes of train_labels.npy (0..{k - 1}), "
                         f"got {len(other)} others: {_some(other)}")
    if "ood" in y and len(shared := np.intersect1d(y["ood"], classes)):
        raise ValueError(f"{root / 'ood_labels.npy'}: out-of-distribution labels must not be in-distribution "
                         f"classes (0..{k - 1}), got {len(shared)} that are: {_some(shared)}")
    return k


def bundle_modalities(path: str | Path) -> tuple[str, ...]:
    """The modalities of a bundle folder: every ``train_{modality}.npy`` but labels and nuisances,
    LUMA's (image, audio, text) first in that order, then the others alphabetically."""
    names = [f.name[len("train_"):-len(".npy")] for f in Path(path).glob("train_*.npy")]
    names = [n for n in names if n != "labels" and not n.startswith("nuisance_")]
    return tuple(sorted(names, key=lambda m: (MODALITIES.index(m) if m in MODALITIES else len(MODALITIES), m)))


def load_bundle(path: str | Path, dims: dict[str, int] | None = None,
                modalities: tuple[str, ...] | None = None) -> Features:
    """Load and validate a feature bundle folder (layout in the module docstring).

    Parameters
    ----------
    path : str or Path
        The bundle folder.
    dims : dict of str to int or None, default None
        Expected feature dimension per modality; None accepts any (consistent across splits).
    modalities : tuple of str or None, default None
        Modalities to load; None loads every modality of the train split (two or more).

    Returns
    -------
    Features
        Named by the manifest's ``name``, else by the folder (relative to the repository root when
        it lies inside it, so that no page shows the build machine's absolute path).

    Raises
    ------
    FileNotFoundError
        If the folder or a required file is missing.
    ValueError
        If a file is not a readable ``.npy`` array or not a regular file; an array has the wrong
        dtype, rank, dimension or row count, no rows, non-finite features or features beyond
        float32's range; labels are negative, 2**31 or more, not exactly 0..k-1 in train, outside
        train's classes in test, or in-distribution classes in OOD; the bundle has fewer than two
        modalities or classes; or its ``manifest.json`` is malformed, lists a path outside the
        folder, misses a ``.npy`` file or records another sha256 (see :func:`verify_manifest`).
        The message names the file, what was expected and what was found.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"feature bundle folder {root} does not exist")
    manifest = verify_manifest(root)
    modalities = tuple(modalities) if modalities is not None else bundle_modalities(root)
    if bad := [m for m in modalities if not isinstance(m, str) or Path(m).name != m or m in ("", ".", "..", "labels")]:
        raise ValueError(f"modalities must be names of {root}'s train_{{modality}}.npy files, got {bad}")
    if len(modalities) < 2:
        raise ValueError(f"{root}: a bundle needs at least 2 modalities (train_{{modality}}.npy files), "
                         f"got {len(modalities)}: {list(modalities)}")
    x: dict[str, dict[str, np.ndarray]] = {}
    y: dict[str, np.ndarray] = {}
    nuisance: dict[str, dict[str, np.ndarray]] = {}
    seen_dims: dict[str, int] = {}
    for split in SPLITS:
        label_file = root / f"{split}_labels.npy"
        if not label_file.exists():
            if split == "ood":  # the OOD split is optional
                continue
            raise FileNotFoundError(f"{label_file} is missing (required for split '{split}')")
        labels = load_npy(label_file)
        _check_array(labels, label_file, "labels", 1, "int")
        if len(labels) == 0:
            raise ValueError(f"{label_file}: split '{split}' must have at least 1 row, got 0 (an empty split)")
        x[split], y[split] = {}, labels.astype(np.int64)
        for m in modalities:
            f = root / f"{split}_{m}.npy"
            if not f.exists():
                raise FileNotFoundError(f"{f} is missing (modality '{m}', split '{split}')")
            a = load_npy(f)
            _check_array(a, f, f"{m} features", 2, "float")
            if a.shape[0] != len(labels):
                raise ValueError(f"{f}: {m} features have {a.shape[0]} rows, expected "
                                 f"{len(labels)} (the rows of {label_file.name})")
            expected = (dims or {}).get(m, seen_dims.get(m))
            if expected is not None and a.shape[1] != expected:
                raise ValueError(f"{f}: {m} features must have {expected} columns, got {a.shape[1]}")
            seen_dims[m] = a.shape[1]
            x[split][m] = a.astype(np.float32, copy=False)
        for f in sorted(root.glob(f"{split}_nuisance_*.npy")):
            a = load_npy(f)
            _check_array(a, f, "nuisance labels", 1, "int")
            if len(a) != len(labels):
                raise ValueError(f"{f}: nuisance labels have {len(a)} rows, expected {len(labels)}")
            nuisance.setdefault(split, {})[f.name[len(f"{split}_nuisance_"):-4]] = a.astype(np.int64)
    _check_classes(root, y)
    name = (manifest or {}).get("name") or display_path(root)  # a folder in the repository: relative to it
    return Features(x, y, name=name, synthetic=False, info={"manifest": manifest} if manifest else {},
                    nuisance=nuisance)


def save_bundle(features: Features, path: str | Path, manifest: bool = False) -> Path:
    """Write ``features`` as a bundle folder readable by :func:`load_bundle`; returns the folder.

    Every file is written atomically (:mod:`mmae.atomic`): a reader sees the old file or the new
    one. ``manifest=True`` also writes ``manifest.json`` (the name and every file's sha256), which
    :func:`load_bundle` then verifies; without it, an existing ``manifest.json`` is refused, since
    it would vouch for files this call replaces.
    """
    import json

    root = Path(path)
    if not manifest and os.path.lexists(root / MANIFEST):
        raise ValueError(f"{root / MANIFEST}: would no longer match the files written; remove it, "
                         "or pass manifest=True to rewrite it")
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for s in features.splits:
        files.append(save_npy(root / f"{s}_labels.npy", features.y[s]))
        for m in features.modalities:
            files.append(save_npy(root / f"{s}_{m}.npy", features.x[s][m]))
        for name, a in features.nuisance.get(s, {}).items():
            files.append(save_npy(root / f"{s}_nuisance_{name}.npy", a))
    if manifest:
        listing = {f.name: {"sha256": sha256_file(f), "bytes": f.stat().st_size} for f in files}
        write_text(root / MANIFEST, json.dumps({"format": "mmae-feature-bundle/1 (mmae.data.save_bundle)",
                                                "name": features.name, "files": listing}, indent=1))
    return root
