"""Feature bundles: read a bundle folder and validate it strictly (:func:`load_bundle`).

A *feature bundle* is a folder of NumPy files, one per split x modality plus the labels, with
splits ``train``, ``test`` (required) and ``ood`` (optional)::

    {split}_{modality}.npy   float (n_split, d_modality)   e.g. train_image.npy (21000, 50)
    {split}_labels.npy       int   (n_split,)              e.g. train_labels.npy (21000,)

    {split}_nuisance_{name}.npy  int  (n_split,)      optional, e.g. train_nuisance_speaker.npy

A modality whose rows repeat a few distinct vectors (a pool of clips or texts) may instead be
stored *pooled*, exactly and in a fraction of the space: the distinct vectors and, per row, which::

    {split}_{modality}.pool.npy    float (n_pool, d_modality)   e.g. train_audio.pool.npy (240, 1024)
    {split}_{modality}.index.npy   int   (n_split,)             row i is pool[index[i]]

(one form or the other for each split x modality, never both); :func:`load_bundle` expands it.
The modalities are whatever the train split holds (two or more, any names and dimensions; LUMA's
are image 50-D, audio 1024-D and text 768-D). Row ``i`` of every file of a split is one triplet.
*Nuisance* labels name a known factor that is not the class (the speaker of a clip): chapter 1
clusters against them. When the folder has a ``manifest.json``, every file is checked against its
sha256 first (:mod:`mmae.data.manifest`).

Writing a bundle is :mod:`mmae.data.save`'s; standardising it, :mod:`mmae.data.transforms`'; the
data sets by name (the committed real sets, the synthetic variants), :mod:`mmae.data.sets`'.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from mmae.artifacts import display_path
from mmae.data.features import MODALITIES, SPLITS, Features
from mmae.data.manifest import open_regular, sha256_file, verify_manifest

__all__ = ["bundle_modalities", "load_bundle", "sha256_file", "verify_manifest"]

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


MIN_ROWS = 2  # rows of every class in train and test: K-Means must group rows, the validation slice keeps one


def check_usable(x: dict, y: dict, nuisance: dict, where: Path) -> None:
    """Refuse data on which the protocol's numbers mean nothing, and warn about data that make
    some of them meaningless, naming the array (``where`` is the bundle folder):

    - a class with fewer than :data:`MIN_ROWS` rows in train or test (``ValueError``);
    - a test split without some class of train (``ValueError``);
    - a constant modality, every feature the same on every train row, as a dead extractor writes
      (``UserWarning``: its scores say nothing);
    - nuisance labels for some splits only (``UserWarning``: the chapters that use them skip them).
    """
    for split in ("train", "test"):
        classes, counts = np.unique(y[split], return_counts=True)
        if (thin := counts < MIN_ROWS).any():
            raise ValueError(f"{where / f'{split}_labels.npy'}: every class needs at least {MIN_ROWS} rows in "
                             f"{split} (K-Means must group rows, and tuning keeps one of each class out), got "
                             + ", ".join(f"class {c}: {n}" for c, n in list(zip(classes[thin], counts[thin]))[:10])
                             + (", ..." if thin.sum() > 10 else ""))
    missing = np.setdiff1d(np.unique(y["train"]), np.unique(y["test"]))
    if missing.size:
        raise ValueError(f"{where / 'test_labels.npy'}: the test split must hold every class of train_labels.npy, "
                         f"got none of classes {_some(missing.tolist())}")
    for m, a in x["train"].items():
        if len(a) > 1 and float(np.ptp(a, axis=0).max()) == 0.0:
            warnings.warn(f"{where / f'train_{m}.npy'}: the {m} features are constant (every row the same): this "
                          f"modality carries no information, and every score computed from it says nothing",
                          UserWarning, stacklevel=3)
    names = {s: set(nuisance.get(s, {})) for s in y}
    for name in sorted(set().union(*names.values())):
        lacking = [s for s in y if name not in names[s]]
        if lacking:
            warnings.warn(f"{where}: nuisance labels '{name}' are given for {sorted(set(y) - set(lacking))} but not "
                          f"for {lacking} (no {', '.join(f'{s}_nuisance_{name}.npy' for s in lacking)}): the "
                          "chapters that use them skip them", UserWarning, stacklevel=3)


def bundle_modalities(path: str | Path) -> tuple[str, ...]:
    """The modalities of a bundle folder: every ``train_{modality}.npy`` but labels and nuisances,
    and every pooled ``train_{modality}.pool.npy``; LUMA's (image, audio, text) first in that
    order, then the others alphabetically."""
    root = Path(path)
    plain = [f.name[len("train_"):-len(".npy")] for f in root.glob("train_*.npy")]
    pooled = [f.name[len("train_"):-len(".pool.npy")] for f in root.glob("train_*.pool.npy")]
    names = {n for n in plain + pooled if n != "labels" and not n.startswith("nuisance_") and "." not in n}
    return tuple(sorted(names, key=lambda m: (MODALITIES.index(m) if m in MODALITIES else len(MODALITIES), m)))


def _forms(root: Path, split: str, m: str) -> tuple[Path, Path, Path]:
    """The plain file of modality ``m`` of ``split``, and its pooled pair (pool, index)."""
    return root / f"{split}_{m}.npy", root / f"{split}_{m}.pool.npy", root / f"{split}_{m}.index.npy"


def _load_pooled(pool_file: Path, index_file: Path, m: str, label_file: Path, n_rows: int) -> np.ndarray:
    """``pool[index]`` of a pooled modality, as float32 (n_rows, d), once both files are checked."""
    pool = load_npy(pool_file)
    _check_array(pool, pool_file, f"{m} pool", 2, "float")
    if pool.shape[0] == 0:
        raise ValueError(f"{pool_file}: {m} pool must have at least 1 row, got shape {pool.shape}")
    index = load_npy(index_file)
    if index.ndim != 1:
        raise ValueError(f"{index_file}: {m} pool index must be 1-D, got shape {index.shape}")
    if not np.issubdtype(index.dtype, np.integer):
        raise ValueError(f"{index_file}: {m} pool index must have an integer dtype, got {index.dtype}")
    if len(index) != n_rows:
        raise ValueError(f"{index_file}: {m} pool index has {len(index)} rows, expected {n_rows} "
                         f"(the rows of {label_file.name})")
    if (bad := np.flatnonzero((index < 0) | (index >= len(pool)))).size:  # in the file's own dtype: no wrap
        raise ValueError(f"{index_file}: {m} pool index must be rows of {pool_file.name} (0..{len(pool) - 1}), "
                         f"got {int(index[bad[0]])} at row {int(bad[0])}")
    return pool.astype(np.float32, copy=False)[index.astype(np.intp)]


def _load_modality(root: Path, split: str, m: str, label_file: Path, n_rows: int) -> tuple[np.ndarray, Path]:
    """Modality ``m`` of ``split`` from its plain file or its pooled pair, checked but for its
    dimension: the float32 (n_rows, d) features and the file that holds their d columns."""
    plain, pool, index = _forms(root, split, m)
    if plain.exists() and (pooled := [f.name for f in (pool, index) if f.exists()]):
        raise ValueError(f"{plain} and {' and '.join(pooled)}: modality '{m}' of split '{split}' must be stored "
                         f"in one form, plain ({plain.name}) or pooled ({pool.name} + {index.name}), got both")
    if pool.exists() or index.exists():
        if missing := next((f for f in (pool, index) if not f.exists()), None):
            present = index if missing == pool else pool
            raise FileNotFoundError(f"{missing} is missing (the pooled form of modality '{m}', split '{split}', "
                                    f"needs it beside {present.name})")
        return _load_pooled(pool, index, m, label_file, n_rows), pool
    if not plain.exists():
        raise FileNotFoundError(f"{plain} is missing (modality '{m}', split '{split}')")
    a = load_npy(plain)
    _check_array(a, plain, f"{m} features", 2, "float")
    if a.shape[0] != n_rows:
        raise ValueError(f"{plain}: {m} features have {a.shape[0]} rows, expected "
                         f"{n_rows} (the rows of {label_file.name})")
    return a.astype(np.float32, copy=False), plain


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
        If the folder or a required file is missing, or one file of a pooled pair is without the
        other (``.pool.npy`` without its ``.index.npy``, or the reverse).
    ValueError
        If a file is not a readable ``.npy`` array or not a regular file; a modality of a split is
        stored both plain and pooled; an array has the wrong dtype, rank, dimension (a pool's
        columns, when pooled) or row count (a pool index's length, when pooled), no rows,
        non-finite features or features beyond float32's range; a pool index names a row
        outside its pool (the message names the first such row and value); labels are negative,
        2**31 or more, not exactly 0..k-1 in train, outside train's classes in test, or
        in-distribution classes in OOD; the bundle has fewer than two modalities or classes; or
        its ``manifest.json`` is malformed, lists a path outside the folder, misses a ``.npy``
        file or records another sha256 (see :func:`verify_manifest`).
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
            a, f = _load_modality(root, split, m, label_file, len(labels))
            expected = (dims or {}).get(m, seen_dims.get(m))
            if expected is not None and a.shape[1] != expected:
                what = "pool" if f.name.endswith(".pool.npy") else "features"
                raise ValueError(f"{f}: {m} {what} must have {expected} columns, got {a.shape[1]}")
            seen_dims[m] = a.shape[1]
            x[split][m] = a
        for f in sorted(root.glob(f"{split}_nuisance_*.npy")):
            a = load_npy(f)
            _check_array(a, f, "nuisance labels", 1, "int")
            if len(a) != len(labels):
                raise ValueError(f"{f}: nuisance labels have {len(a)} rows, expected {len(labels)}")
            nuisance.setdefault(split, {})[f.name[len(f"{split}_nuisance_"):-4]] = a.astype(np.int64)
    _check_classes(root, y)
    check_usable(x, y, nuisance, where=root)
    name = (manifest or {}).get("name") or display_path(root)  # a folder in the repository: relative to it
    return Features(x, y, name=name, synthetic=False, info={"manifest": manifest} if manifest else {},
                    nuisance=nuisance)
