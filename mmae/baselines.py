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
from mmae.evaluation import N_INIT, kmeans_grid
from mmae.paper import ks_for

PCA_DIMS = {"image": 50, "audio": 256, "text": 256}  # paper, Sec. IV-A
FUSION_DIM = 50


def fusion_weights_grid(dims: dict[str, int]) -> list[tuple[float, ...]]:
    """The fusion baseline's weight grid, one weight per modality in ``dims``' order.

    The paper's (alpha, beta, gamma) weigh (image, audio, text) and are not reported. Only ratios
    matter (PCA + K-Means ignore an overall scale). The grid: all equal; the first modality
    (LUMA's image) x2 and x4 against the others; sqrt(d_first / d_m), which gives each
    standardised modality the same total variance; and the first modality alone, which
    reproduces the paper's Table III k = 42 row = Table II image row coincidence by construction.

    Examples
    --------
    >>> fusion_weights_grid({"image": 50, "audio": 1024, "text": 768})[3]
    (1.0, 0.221, 0.255)
    """
    d = np.array(list(dims.values()), float)
    rest = np.ones(len(d) - 1)
    grid = [np.ones(len(d)), np.r_[1.0, 0.5 * rest], np.r_[4.0, rest],
            np.round(np.sqrt(d[0] / d), 3), np.r_[1.0, 0.0 * rest]]
    return list(dict.fromkeys(tuple(float(w) for w in g) for g in grid))


def pca_project(train: np.ndarray, other: np.ndarray, n_components: int,
                random_state: int = 0) -> np.ndarray:
    """PCA fitted on ``train`` (n, d), applied to ``other`` (m, d) -> (m, n_components)."""
    n_components = min(n_components, *train.shape)
    return PCA(n_components, random_state=random_state).fit(train).transform(other)


def single_modality_table(features: Features, ks=None, dims: dict[str, int] = PCA_DIMS,
                          split: str = "test", n_init: int = N_INIT, random_state: int = 0) -> pd.DataFrame:
    """Table II protocol for every modality and every k: columns modality, pca_dim, k, metrics.

    ``dims`` gives the PCA size per modality (the paper's 50 / 256 / 256; 50 for a modality it
    does not name), capped by the modality's dimension and the train rows. ``ks`` None: the
    paper's grid at the same ratios to the number of classes (:func:`mmae.paper.ks_for`).
    """
    f = standardize(features)  # a no-op when already standardised
    ks = ks or ks_for(f.n_classes, len(f.y[split]))
    tables = []
    for m in f.modalities:
        Z = pca_project(f.x["train"][m], f.x[split][m], dims.get(m, 50), random_state)
        t = kmeans_grid(Z, f.y[split], ks, n_init, random_state)
        tables.append(t.assign(modality=m, pca_dim=Z.shape[1]))
    return pd.concat(tables, ignore_index=True)[["modality", "pca_dim", "k", "silhouette", "ari",
                                                 "nmi", "accuracy"]]


def weighted_concat(x: dict[str, np.ndarray], weights: tuple[float, ...]) -> np.ndarray:
    """[w_1 * x_1, ..., w_M * x_M] (n, sum of dims), in ``x``'s modality order (LUMA: alpha, beta, gamma)."""
    if len(weights) != len(x):
        raise ValueError(f"weights: need one weight per modality {tuple(x)}, got {len(weights)}: {tuple(weights)}")
    return np.concatenate([w * a for w, a in zip(weights, x.values())], axis=1)


def fusion_table(features: Features, weights_grid=None, ks=None, n_components: int = FUSION_DIM,
                 split: str = "test", n_init: int = N_INIT, random_state: int = 0) -> pd.DataFrame:
    """Table III protocol for every weight vector and every k.

    ``weights_grid`` holds one weight per modality per entry (None: :func:`fusion_weights_grid`);
    ``ks`` None: the paper's grid at the same ratios to the number of classes.
    Columns ``weight_{modality}`` (the paper's alpha, beta, gamma on LUMA), k and the metrics.
    """
    f = standardize(features)  # a no-op when already standardised
    ks = ks or ks_for(f.n_classes, len(f.y[split]))
    weights_grid = fusion_weights_grid(f.dims) if weights_grid is None else weights_grid
    columns = [f"weight_{m}" for m in f.modalities]
    tables = []
    for w in weights_grid:
        Z = pca_project(weighted_concat(f.x["train"], w), weighted_concat(f.x[split], w),
                        n_components, random_state)
        t = kmeans_grid(Z, f.y[split], ks, n_init, random_state)
        tables.append(t.assign(**dict(zip(columns, map(float, w)))))
    return pd.concat(tables, ignore_index=True)[[*columns, "k", "silhouette", "ari", "nmi", "accuracy"]]



class FusionPCA:
    """The Table III fusion baseline as an encoder of any subset of modalities.

    PCA of the (alpha, beta, gamma)-weighted concatenation, fitted on train; a missing modality is
    imputed with its train mean (0 for standardised features), so one modality alone lands in the
    same 50-D space as the full triplet (the baseline for cross-modal retrieval and missing modalities).

    Parameters
    ----------
    weights : tuple of float or None, default None
        One weight per modality, in the order of the ``x`` given to :meth:`fit`; None: all ones.
    n_components : int, default 50
    random_state : int, default 0
    """

    def __init__(self, weights: tuple[float, ...] | None = None, n_components: int = FUSION_DIM,
                 random_state: int = 0):
        self.weights, self.n_components, self.random_state = weights, n_components, random_state

    def fit(self, x: dict[str, np.ndarray]) -> "FusionPCA":
        self.means_ = {m: a.mean(0) for m, a in x.items()}
        self.weights_ = tuple(self.weights) if self.weights is not None else (1.0,) * len(x)
        Z = weighted_concat(x, self.weights_)
        self.pca_ = PCA(min(self.n_components, *Z.shape), random_state=self.random_state).fit(Z)
        return self

    def encode(self, x: dict[str, np.ndarray]) -> np.ndarray:
        """(n, n_components) from the modalities in ``x``; the others are imputed with their mean."""
        unknown = set(x) - set(self.means_)
        if unknown:
            raise ValueError(f"FusionPCA was fitted on {tuple(self.means_)}, got unknown modalities {sorted(unknown)}")
        n = len(next(iter(x.values())))
        full = {m: x[m] if m in x else np.broadcast_to(mu, (n, len(mu))) for m, mu in self.means_.items()}
        return self.pca_.transform(weighted_concat(full, self.weights_))
