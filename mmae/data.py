"""Feature bundles: load and validate them, standardise them, or make the synthetic default.

A *feature bundle* is a folder of NumPy files, one per split x modality plus the labels::

    {split}_{modality}.npy   float (n_split, d_modality)   e.g. train_image.npy (21000, 50)
    {split}_labels.npy       int   (n_split,)              e.g. train_labels.npy (21000,)

with splits ``train``, ``test`` (required) and ``ood`` (optional) and modalities ``image`` (50-D),
``audio`` (1024-D) and ``text`` (768-D) by default. Row ``i`` of every file of a split is one
triplet. Without real LUMA features, ``load_features("synthetic")`` gives the embedded,
deterministic, LUMA-shaped synthetic set of :mod:`mmae.synthetic` (never a reproduction of the paper).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

MODALITIES = ("image", "audio", "text")
SPLITS = ("train", "test", "ood")
DEFAULT_DIMS = {"image": 50, "audio": 1024, "text": 768}  # paper, Table I


@dataclass
class Features:
    """Features of one data set.

    Attributes
    ----------
    x : dict of str to dict of str to ndarray
        ``x[split][modality]``, float32 arrays of shape (n_split, d_modality).
    y : dict of str to ndarray
        ``y[split]``, int64 class labels of shape (n_split,).
    name : str
        What the data are, shown in every table ("synthetic LUMA-shaped (seed 0)" or a path).
    synthetic : bool
        True for the embedded synthetic set: its numbers are never the paper's.
    standardized : bool
        True once :func:`standardize` has been applied.
    """

    x: dict[str, dict[str, np.ndarray]]
    y: dict[str, np.ndarray]
    name: str
    synthetic: bool
    standardized: bool = False
    info: dict = field(default_factory=dict)

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(s for s in SPLITS if s in self.x)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.x["train"])

    @property
    def dims(self) -> dict[str, int]:
        return {m: a.shape[1] for m, a in self.x["train"].items()}

    def fingerprint(self) -> str:
        """sha256 over every array (and the standardisation flag): a key for cached artifacts."""
        h = hashlib.sha256(str(self.standardized).encode())
        for s in self.splits:
            h.update(np.ascontiguousarray(self.y[s]).tobytes())
            for m in self.modalities:
                h.update(f"{s}/{m}{self.x[s][m].shape}".encode())
                h.update(np.ascontiguousarray(self.x[s][m]).tobytes())
        return h.hexdigest()


def sha256_file(path: str | Path, block: int = 1 << 20) -> str:
    """sha256 hex digest of a file, read in blocks of ``block`` bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_manifest(path: str | Path) -> dict | None:
    """Check every file a bundle's ``manifest.json`` lists against its sha256; None if no manifest.

    Raises
    ------
    FileNotFoundError
        A listed file is missing.
    ValueError
        A file's sha256 differs: the message names the file, the expected and the actual hash.
    """
    manifest_file = Path(path) / "manifest.json"
    if not manifest_file.exists():
        return None
    manifest = json.loads(manifest_file.read_text())
    for name, entry in manifest.get("files", {}).items():
        f = Path(path) / name
        if not f.exists():
            raise FileNotFoundError(f"{f} is listed in {manifest_file} but missing")
        actual = sha256_file(f)
        if actual != entry["sha256"]:
            raise ValueError(f"{f}: sha256 must be {entry['sha256']} (from {manifest_file.name}), got "
                             f"{actual}: the file changed after the bundle was written")
    return manifest


def _check_array(a: np.ndarray, file: Path, what: str, ndim: int, kind: str) -> None:
    if a.ndim != ndim:
        raise ValueError(f"{file}: {what} must be {ndim}-D, got shape {a.shape}")
    if kind == "float" and not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{file}: {what} must have a float dtype, got {a.dtype}")
    if kind == "int" and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{file}: {what} must have an integer dtype, got {a.dtype}")
    if kind == "float" and not np.isfinite(a).all():
        bad = int((~np.isfinite(a)).sum())
        raise ValueError(f"{file}: {what} must be finite, got {bad} NaN/inf values")


def load_bundle(path: str | Path, dims: dict[str, int] | None = DEFAULT_DIMS,
                modalities: tuple[str, ...] = MODALITIES) -> Features:
    """Load and validate a feature bundle folder (layout in the module docstring).

    Parameters
    ----------
    path : str or Path
        The bundle folder.
    dims : dict of str to int or None, default ``DEFAULT_DIMS``
        Expected feature dimension per modality; None accepts any (consistent across splits).
    modalities : tuple of str
        Modalities to load.

    Returns
    -------
    Features

    Raises
    ------
    FileNotFoundError
        If the folder or a required file is missing.
    ValueError
        If an array has the wrong dtype, rank, dimension, row count or non-finite values, or a
        file differs from the sha256 its ``manifest.json`` records (bundles of :mod:`mmae.luma`);
        the message names the file, the array, the expected and the actual value.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"feature bundle folder {root} does not exist")
    manifest = verify_manifest(root)
    x: dict[str, dict[str, np.ndarray]] = {}
    y: dict[str, np.ndarray] = {}
    seen_dims: dict[str, int] = {}
    for split in SPLITS:
        label_file = root / f"{split}_labels.npy"
        if not label_file.exists():
            if split == "ood":  # the OOD split is optional
                continue
            raise FileNotFoundError(f"{label_file} is missing (required for split '{split}')")
        labels = np.load(label_file, allow_pickle=False)
        _check_array(labels, label_file, "labels", 1, "int")
        x[split], y[split] = {}, labels.astype(np.int64)
        for m in modalities:
            f = root / f"{split}_{m}.npy"
            if not f.exists():
                raise FileNotFoundError(f"{f} is missing (modality '{m}', split '{split}')")
            a = np.load(f, allow_pickle=False)
            _check_array(a, f, f"{m} features", 2, "float")
            if a.shape[0] != len(labels):
                raise ValueError(f"{f}: {m} features have {a.shape[0]} rows, expected "
                                 f"{len(labels)} (the rows of {label_file.name})")
            expected = (dims or {}).get(m, seen_dims.get(m))
            if expected is not None and a.shape[1] != expected:
                raise ValueError(f"{f}: {m} features must have {expected} columns, got {a.shape[1]}")
            seen_dims[m] = a.shape[1]
            x[split][m] = a.astype(np.float32, copy=False)
    return Features(x, y, name=str(root), synthetic=False, info={"manifest": manifest} if manifest else {})


def save_bundle(features: Features, path: str | Path) -> Path:
    """Write ``features`` as a bundle folder readable by :func:`load_bundle`; returns the folder."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for s in features.splits:
        np.save(root / f"{s}_labels.npy", features.y[s])
        for m in features.modalities:
            np.save(root / f"{s}_{m}.npy", features.x[s][m])
    return root


def load_features(data: str | Path = "synthetic", seed: int = 0,
                  dims: dict[str, int] | None = DEFAULT_DIMS) -> Features:
    """The notebooks' entry point: ``"synthetic"`` (default) or a path to a feature bundle.

    The environment variable ``MMAE_DATA``, when set, replaces the default ``"synthetic"`` (an
    explicit path still wins): ``MMAE_DATA=/path/to/bundle jupyter-book build book/`` builds the
    whole book on real features, and every table then names that folder.

    Parameters
    ----------
    data : str or Path
        ``"synthetic"`` for the embedded LUMA-shaped set, else a bundle folder.
    seed : int
        Seed of the synthetic set (ignored for a bundle).
    dims : dict of str to int or None
        Expected dimensions of a bundle (see :func:`load_bundle`).
    """
    if str(data) == "synthetic" and os.environ.get("MMAE_DATA"):
        data = os.environ["MMAE_DATA"]
    if str(data) != "synthetic":
        return load_bundle(data, dims)
    from mmae.synthetic import make_synthetic

    x, y = make_synthetic(seed=seed)
    return Features(x, y, name=f"synthetic LUMA-shaped (seed {seed})", synthetic=True)


def standardize(features: Features) -> Features:
    """Zero mean, unit variance per feature, fitted on *train only* and applied to every split.

    The paper standardises all features (Sec. III-B); fitting on train keeps test and OOD unseen.
    Constant columns are left at zero (scale 1), as scikit-learn's ``StandardScaler`` does.
    """
    if features.standardized:
        return features
    x = {s: {} for s in features.splits}
    for m in features.modalities:
        train = features.x["train"][m].astype(np.float64)
        mean, std = train.mean(0), train.std(0)
        std[std == 0] = 1.0
        for s in features.splits:
            x[s][m] = ((features.x[s][m] - mean) / std).astype(np.float32)
    return Features(x, dict(features.y), features.name, features.synthetic, True, dict(features.info))


def summary_table(features: Features):
    """One row per split x modality: rows, dim, classes, mean, std (a pandas DataFrame)."""
    rows = [dict(split=s, modality=m, rows=a.shape[0], dim=a.shape[1],
                 classes=len(np.unique(features.y[s])), mean=float(a.mean()), std=float(a.std()))
            for s in features.splits for m, a in features.x[s].items()]
    return pd.DataFrame(rows)


def banner(features: Features) -> str:
    """A Markdown sentence saying what the data are; loud when they are synthetic."""
    if features.synthetic:
        return (f"**Data: {features.name}.** These are *synthetic* features generated by "
                "`mmae.synthetic`, shaped like LUMA's (42 classes, 50/1024/768-D). Every number "
                "computed on them describes this synthetic set, **not** a reproduction of the paper.")
    return f"**Data: the feature bundle at `{features.name}`.**"


def within_class_alignment(features: Features, split: str = "train", n_components: int = 10,
                           seed: int = 0) -> pd.DataFrame:
    """Is there any correspondence between modalities *beyond the class*?

    For each pair of modalities, the largest canonical correlation between the class-centred
    features (each reduced to ``n_components`` principal directions) of the rows as paired, and
    of the rows re-paired at random within each class. Equal values mean the triplets share only
    their class, as in LUMA, where triplets are formed by shuffling each modality within a class.
    """
    rng = np.random.default_rng(seed)
    y = features.y[split]

    def basis(a):  # orthonormal basis (n, c) of the class-centred top principal directions
        a = a.astype(np.float64).copy()
        for c in np.unique(y):
            a[y == c] -= a[y == c].mean(0)
        _, vecs = np.linalg.eigh(a.T @ a)  # principal directions, ascending eigenvalues
        return np.linalg.qr(a @ vecs[:, -n_components:])[0]

    bases = {m: basis(features.x[split][m]) for m in features.modalities}
    shuffled = np.arange(len(y))
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        shuffled[rows] = rng.permutation(rows)
    out = []
    for i, a in enumerate(features.modalities):
        for b in features.modalities[i + 1:]:
            paired = np.linalg.svd(bases[a].T @ bases[b], compute_uv=False)[0]
            null = np.linalg.svd(bases[a].T @ bases[b][shuffled], compute_uv=False)[0]
            out.append({"pair": f"{a}-{b}", "as paired": paired, "re-paired within class": null})
    return pd.DataFrame(out)
