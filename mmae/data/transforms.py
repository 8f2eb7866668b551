"""Transforms of a data set's features: standardisation (fitted on train only) and test-time noise."""
from __future__ import annotations

import numpy as np

from mmae.data.features import Features


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



def add_gaussian_noise(x: dict[str, np.ndarray], modality: str, sigma: float,
                       random_state: int = 0) -> dict[str, np.ndarray]:
    """A new dict with ``x[modality] + sigma * N(0, 1)`` (float32, same shape); the other
    modalities are the same objects. Features are standardised (:func:`mmae.data.standardize`),
    so ``sigma`` is in units of one feature's standard deviation.
    """
    if modality not in x:
        raise ValueError(f"modality must be one of {sorted(x)}, got {modality!r}")
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    a = np.asarray(x[modality])
    noise = np.random.default_rng(random_state).standard_normal(a.shape, dtype=np.float32)
    return {**x, modality: (a + np.float32(sigma) * noise).astype(np.float32, copy=False)}
