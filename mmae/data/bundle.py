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

import hashlib
import json
from pathlib import Path

import numpy as np

from mmae.data.features import MODALITIES, SPLITS, Features


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
