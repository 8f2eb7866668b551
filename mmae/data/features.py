"""What every part of the package passes around: :class:`Features`, the splits and modalities of
one data set, and the names LUMA gives them."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

MODALITIES = ("image", "audio", "text")  # LUMA's, in the paper's order; a bundle may have others
SPLITS = ("train", "test", "ood")
DEFAULT_DIMS = {"image": 50, "audio": 1024, "text": 768}  # paper, Table I (LUMA's shape, not a rule)
LUMA_N_CLASSES = 50  # LUMA's classes: labels 0..41 in distribution, 42..49 out of distribution
LUMA_N_ID = 42  # LUMA's in-distribution classes (500 train / 100 test samples each)


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
