"""Clustering metrics of the paper (Sec. IV-E): Silhouette, ARI, NMI, plus Hungarian-matched
accuracy, over a grid of k. scikit-learn underneath; every ``*_score`` is higher-is-better."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.metrics.cluster import contingency_matrix

K_GRID = (30, 40, 42, 50, 60)  # paper, Sec. IV-A
N_INIT = 10  # K-Means restarts: the paper does not say; scikit-learn's classic default


def clustering_accuracy_score(y_true, y_pred) -> float:
    """Accuracy after the best one-to-one matching of clusters to classes (Hungarian algorithm).

    With more clusters than classes the unmatched clusters count as errors, and vice versa.

    Examples
    --------
    >>> clustering_accuracy_score([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length, got shapes "
                         f"{y_true.shape} and {y_pred.shape}")
    c = contingency_matrix(y_true, y_pred)  # (classes, clusters)
    rows, cols = linear_sum_assignment(c, maximize=True)
    return float(c[rows, cols].sum() / len(y_true))


def cluster_scores(X: np.ndarray, y: np.ndarray, k: int, n_init: int = N_INIT,
                   random_state: int = 0) -> dict[str, float]:
    """K-Means with ``k`` clusters on ``X`` (n, d), scored against the labels ``y`` (n,).

    Returns
    -------
    dict
        ``k``; ``silhouette`` of the K-Means partition of ``X`` (Euclidean); ``ari``, ``nmi`` and
        ``accuracy`` (Hungarian-matched) of the partition against ``y``.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be (n, d) with n = len(y) = {len(y)}, got shape {X.shape}")
    if not 2 <= k < len(X):
        raise ValueError(f"k must be in [2, n_samples - 1] = [2, {len(X) - 1}], got {k}")
    pred = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit_predict(X)
    return {"k": k, "silhouette": float(silhouette_score(X, pred)),
            "ari": float(adjusted_rand_score(y, pred)),
            "nmi": float(normalized_mutual_info_score(y, pred)),
            "accuracy": clustering_accuracy_score(y, pred)}


def kmeans_grid(X: np.ndarray, y: np.ndarray, ks=K_GRID, n_init: int = N_INIT,
                random_state: int = 0) -> pd.DataFrame:
    """:func:`cluster_scores` for every k in ``ks``: one row per k."""
    return pd.DataFrame([cluster_scores(X, y, k, n_init, random_state) for k in ks])


def knn_agreement(X: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Mean fraction of each point's ``k`` nearest neighbours (Euclidean, itself excluded) that
    share its label. With modality labels it measures mixing (1 / n_modalities when the
    modalities are fully mixed, 1 when they are separated); with class labels, class purity.

    Examples
    --------
    >>> knn_agreement(np.array([[0.0], [0.1], [5.0], [5.1]]), np.array([0, 0, 1, 1]), k=1)
    1.0
    """
    from sklearn.neighbors import NearestNeighbors

    X, labels = np.asarray(X), np.asarray(labels)
    if X.ndim != 2 or len(X) != len(labels):
        raise ValueError(f"X must be (n, d) with n = len(labels) = {len(labels)}, got shape {X.shape}")
    if not 1 <= k < len(X):
        raise ValueError(f"k must be in [1, n_samples - 1] = [1, {len(X) - 1}], got {k}")
    idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    return float((labels[idx] == labels[:, None]).mean())
