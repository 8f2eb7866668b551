"""Feature bundles: load and validate them, standardise them, or make the synthetic default.

A *feature bundle* is a folder of NumPy files, one per split x modality plus the labels::

    {split}_{modality}.npy   float (n_split, d_modality)   e.g. train_image.npy (21000, 50)
    {split}_labels.npy       int   (n_split,)              e.g. train_labels.npy (21000,)

    {split}_nuisance_{name}.npy  int  (n_split,)      optional, e.g. train_nuisance_speaker.npy

with splits ``train``, ``test`` (required) and ``ood`` (optional). The modalities are whatever the
train split holds (two or more, any names and dimensions; LUMA's are image 50-D, audio 1024-D and
text 768-D). Row ``i`` of every file of a split is one triplet. *Nuisance* labels name a known
factor that is not the class (the speaker of a clip): chapter 1 clusters against them.

``load_features`` gives the data the notebooks run on: ``"real"`` (default) is the committed real
media set of :mod:`mmae.media` (CIFAR-10 images, spoken class words, WordNet descriptions, through
pretrained encoders); ``"synthetic"`` the deterministic LUMA-shaped synthetic set of
:mod:`mmae.synthetic` (``"synthetic:low_snr"``, ``"synthetic:nonlinear"``: its other variants);
anything else is a bundle folder. Neither embedded set is LUMA: their
numbers are never a reproduction of the paper.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

MODALITIES = ("image", "audio", "text")  # LUMA's, in the paper's order; a bundle may have others
SPLITS = ("train", "test", "ood")
DEFAULT_DIMS = {"image": 50, "audio": 1024, "text": 768}  # paper, Table I (LUMA's shape, not a rule)
EMBEDDED = ("real", "synthetic")  # the data sets that ship with the package
REAL_NAME = "the real media set (CIFAR-10 images, espeak-ng speech, WordNet text)"


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
    info : dict
        Anything known about the data (``manifest`` of a bundle that has one).
    nuisance : dict of str to dict of str to ndarray
        ``nuisance[split][name]``, int64 labels of a known factor that is not the class.
    """

    x: dict[str, dict[str, np.ndarray]]
    y: dict[str, np.ndarray]
    name: str
    synthetic: bool
    standardized: bool = False
    info: dict = field(default_factory=dict)
    nuisance: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(s for s in SPLITS if s in self.x)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.x["train"])

    @property
    def dims(self) -> dict[str, int]:
        return {m: a.shape[1] for m, a in self.x["train"].items()}

    @property
    def n_classes(self) -> int:
        """The number of in-distribution classes (distinct train labels): the paper's k = 42."""
        return len(np.unique(self.y["train"]))

    @property
    def is_luma(self) -> bool:
        """True only for a bundle whose manifest says it was built from LUMA (:mod:`mmae.luma`)."""
        return str((self.info.get("manifest") or {}).get("format", "")).startswith("mmae-luma-bundle")

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

    Raises
    ------
    FileNotFoundError
        If the folder or a required file is missing.
    ValueError
        If an array has the wrong dtype, rank, dimension, row count or non-finite values, the
        bundle has fewer than two modalities or classes, or a file differs from the sha256 its
        ``manifest.json`` records; the message names the file, the array, the expected and the
        actual value.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"feature bundle folder {root} does not exist")
    manifest = verify_manifest(root)
    modalities = tuple(modalities) if modalities is not None else bundle_modalities(root)
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
        for f in sorted(root.glob(f"{split}_nuisance_*.npy")):
            a = np.load(f, allow_pickle=False)
            _check_array(a, f, "nuisance labels", 1, "int")
            if len(a) != len(labels):
                raise ValueError(f"{f}: nuisance labels have {len(a)} rows, expected {len(labels)}")
            nuisance.setdefault(split, {})[f.name[len(f"{split}_nuisance_"):-4]] = a.astype(np.int64)
    n_classes = len(np.unique(y["train"]))
    if n_classes < 2:
        raise ValueError(f"{root / 'train_labels.npy'}: labels must hold at least 2 classes, got {n_classes}")
    name = (manifest or {}).get("name") or str(root)
    return Features(x, y, name=name, synthetic=False, info={"manifest": manifest} if manifest else {},
                    nuisance=nuisance)


def save_bundle(features: Features, path: str | Path) -> Path:
    """Write ``features`` as a bundle folder readable by :func:`load_bundle`; returns the folder."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for s in features.splits:
        np.save(root / f"{s}_labels.npy", features.y[s])
        for m in features.modalities:
            np.save(root / f"{s}_{m}.npy", features.x[s][m])
        for name, a in features.nuisance.get(s, {}).items():
            np.save(root / f"{s}_nuisance_{name}.npy", a)
    return root


def load_features(data: str | Path = "real", seed: int = 0, dims: dict[str, int] | None = None,
                  environ: bool = True) -> Features:
    """The notebooks' entry point: ``"real"`` (default), ``"synthetic"`` or a bundle folder.

    The environment variable ``MMAE_DATA``, when set, replaces the default ``"real"`` (an explicit
    other value still wins): ``MMAE_DATA=/path/to/bundle jupyter-book build book/`` builds the
    whole book on that bundle, and every table then names it.

    Parameters
    ----------
    data : str or Path
        ``"real"``: the committed real media set (:mod:`mmae.media`); ``"synthetic"``: the
        LUMA-shaped synthetic set (:mod:`mmae.synthetic`); else the path of a bundle folder.
    seed : int
        Seed of the synthetic set (ignored otherwise).
    dims : dict of str to int or None
        Expected dimensions of a bundle (see :func:`load_bundle`); None accepts any.
    environ : bool, default True
        Let ``MMAE_DATA`` replace ``"real"``; False always gives the committed real media set.
    """
    if str(data) == "real" and environ and os.environ.get("MMAE_DATA"):
        data = os.environ["MMAE_DATA"]
    if str(data) == "real":
        from mmae.media import BUNDLE_DIR

        return replace(load_bundle(BUNDLE_DIR, dims), name=REAL_NAME)
    name, _, variant = str(data).partition(":")
    if name != "synthetic":
        return load_bundle(data, dims)
    from mmae.synthetic import VARIANTS, make_synthetic

    if variant and variant not in VARIANTS:
        raise ValueError(f"data: unknown synthetic variant {variant!r}; expected one of "
                         + ", ".join(f"'synthetic:{v}'" for v in VARIANTS))
    x, y, nuisance = make_synthetic(seed=seed, return_nuisance=True, variant=variant or "nuisance")
    label = f", {variant} variant" if variant and variant != "nuisance" else ""
    return Features(x, y, name=f"synthetic LUMA-shaped{label} (seed {seed})", synthetic=True, nuisance=nuisance)


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
    return Features(x, dict(features.y), features.name, features.synthetic, True, dict(features.info),
                    features.nuisance)


def summary_table(features: Features):
    """One row per split x modality: rows, dim, classes, mean, std (a pandas DataFrame)."""
    rows = [dict(split=s, modality=m, rows=a.shape[0], dim=a.shape[1],
                 classes=len(np.unique(features.y[s])), mean=float(a.mean()), std=float(a.std()))
            for s in features.splits for m, a in features.x[s].items()]
    return pd.DataFrame(rows)


def banner(features: Features) -> str:
    """A Markdown sentence saying what the data are, and loudly when they are not LUMA."""
    shape = (f"{features.n_classes} in-distribution classes, modalities "
             + ", ".join(f"{m} {d}-D" for m, d in features.dims.items())
             + (f", {len(np.unique(features.y['ood']))} OOD classes" if "ood" in features.y else ", no OOD split"))
    if features.synthetic:
        return (f"**Data: {features.name}.** These are *synthetic* features generated by "
                f"`mmae.synthetic` ({shape}). Every number computed on them describes this synthetic "
                "set, **not** a reproduction of the paper.")
    if features.is_luma:
        return f"**Data: {features.name}** ({shape}), built from LUMA by `mmae.luma`."
    return (f"**Data: {features.name}** ({shape}). These are not LUMA: numbers computed on them "
            "test whether the paper's claims hold on other media, and are never a reproduction of its tables.")
