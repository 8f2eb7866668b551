"""The paper's linear baselines (Sec. IV-A): PCA per modality + K-Means (Table II) and PCA of the
(alpha, beta, gamma)-weighted concatenation + K-Means (Table III).

Protocol used here (the paper gives only the dimensions and k): features standardised on train
(:func:`mmae.data.standardize`), PCA fitted on the *train* split, K-Means on the projected *test*
split (4,200 rows), scored against the test labels.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from mmae.data import Features, standardize
from mmae.metrics import K_GRID, N_INIT, kmeans_grid

PCA_DIMS = {"image": 50, "audio": 256, "text": 256}  # paper, Sec. IV-A
FUSION_DIM = 50
# (alpha, beta, gamma) on (image, audio, text). The paper does not report its weights. Only
# ratios matter (PCA + K-Means ignore an overall scale). (1, 0.221, 0.255) = sqrt(50 / d_m) gives
# each standardised modality the same total variance; (1, 0, 0) reproduces the paper's Table III
# k=42 row = Table II image row coincidence by construction.
FUSION_WEIGHTS = ((1.0, 1.0, 1.0), (1.0, 0.5, 0.5), (4.0, 1.0, 1.0), (1.0, 0.221, 0.255), (1.0, 0.0, 0.0))


def pca_project(train: np.ndarray, other: np.ndarray, n_components: int,
                random_state: int = 0) -> np.ndarray:
    """PCA fitted on ``train`` (n, d), applied to ``other`` (m, d) -> (m, n_components)."""
    n_components = min(n_components, *train.shape)
    return PCA(n_components, random_state=random_state).fit(train).transform(other)


def single_modality_table(features: Features, ks=K_GRID, dims: dict[str, int] = PCA_DIMS,
                          split: str = "test", n_init: int = N_INIT, random_state: int = 0) -> pd.DataFrame:
    """Table II protocol for every modality and every k: columns modality, pca_dim, k, metrics."""
    f = standardize(features)  # a no-op when already standardised
    tables = []
    for m in f.modalities:
        Z = pca_project(f.x["train"][m], f.x[split][m], dims.get(m, 50), random_state)
        t = kmeans_grid(Z, f.y[split], ks, n_init, random_state)
        tables.append(t.assign(modality=m, pca_dim=Z.shape[1]))
    return pd.concat(tables, ignore_index=True)[["modality", "pca_dim", "k", "silhouette", "ari",
                                                 "nmi", "accuracy"]]


def weighted_concat(x: dict[str, np.ndarray], weights: tuple[float, ...]) -> np.ndarray:
    """[alpha * x_image, beta * x_audio, gamma * x_text] (n, sum of dims), in ``x``'s modality order."""
    if len(weights) != len(x):
        raise ValueError(f"need one weight per modality {tuple(x)}, got {len(weights)}: {weights}")
    return np.concatenate([w * a for w, a in zip(weights, x.values())], axis=1)


def fusion_table(features: Features, weights_grid=FUSION_WEIGHTS, ks=K_GRID, n_components: int = FUSION_DIM,
                 split: str = "test", n_init: int = N_INIT, random_state: int = 0) -> pd.DataFrame:
    """Table III protocol for every weight triple and every k: columns alpha, beta, gamma, k, metrics."""
    f = standardize(features)  # a no-op when already standardised
    tables = []
    for w in weights_grid:
        Z = pca_project(weighted_concat(f.x["train"], w), weighted_concat(f.x[split], w),
                        n_components, random_state)
        t = kmeans_grid(Z, f.y[split], ks, n_init, random_state)
        tables.append(t.assign(alpha=w[0], beta=w[1], gamma=w[2]))
    return pd.concat(tables, ignore_index=True)[["alpha", "beta", "gamma", "k", "silhouette", "ari",
                                                 "nmi", "accuracy"]]



class FusionPCA:
    """The Table III fusion baseline as an encoder of any subset of modalities.

    PCA of the (alpha, beta, gamma)-weighted concatenation, fitted on train; a missing modality is
    imputed with its train mean (0 for standardised features), so one modality alone lands in the
    same 50-D space as the full triplet (the baseline for cross-modal retrieval and missing modalities).

    Parameters
    ----------
    weights : tuple of float, default (1, 1, 1)
        One weight per modality, in the order of the ``x`` given to :meth:`fit`.
    n_components : int, default 50
    random_state : int, default 0
    """

    def __init__(self, weights: tuple[float, ...] = (1.0, 1.0, 1.0), n_components: int = FUSION_DIM,
                 random_state: int = 0):
        self.weights, self.n_components, self.random_state = tuple(weights), n_components, random_state

    def fit(self, x: dict[str, np.ndarray]) -> "FusionPCA":
        self.means_ = {m: a.mean(0) for m, a in x.items()}
        Z = weighted_concat(x, self.weights)
        self.pca_ = PCA(min(self.n_components, *Z.shape), random_state=self.random_state).fit(Z)
        return self

    def encode(self, x: dict[str, np.ndarray]) -> np.ndarray:
        """(n, n_components) from the modalities in ``x``; the others are imputed with their mean."""
        unknown = set(x) - set(self.means_)
        if unknown:
            raise ValueError(f"FusionPCA was fitted on {tuple(self.means_)}, got unknown modalities {sorted(unknown)}")
        n = len(next(iter(x.values())))
        full = {m: x[m] if m in x else np.broadcast_to(mu, (n, len(mu))) for m, mu in self.means_.items()}
        return self.pca_.transform(weighted_concat(full, self.weights))
