"""Out-of-distribution detection: the distance to the nearest in-distribution class centroid,
scored by AUROC (0.5 is chance, 1 perfect)."""
from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.metrics import roc_auc_score

from mmae.evaluation.checks import check_xy


def ood_auroc_score(Z_train: np.ndarray, y_train: np.ndarray, Z_id: np.ndarray, Z_ood: np.ndarray) -> float:
    """AUROC of out-of-distribution detection by the Euclidean distance to the nearest class
    centroid (class means of ``Z_train``): OOD is the positive class, the distance the score.
    0.5 = chance, 1 = every OOD point is farther than every in-distribution point.
    """
    Z_train, y_train = check_xy(Z_train, y_train, "Z_train", "y_train")
    Z_id, Z_ood = np.asarray(Z_id), np.asarray(Z_ood)
    for name, Z in (("Z_id", Z_id), ("Z_ood", Z_ood)):
        if Z.ndim != 2 or len(Z) == 0 or Z.shape[1] != Z_train.shape[1]:
            raise ValueError(f"{name} must be (n, d) with n >= 1 and d = {Z_train.shape[1]}, "
                             f"got shape {Z.shape}")
    onehot = y_train[:, None] == np.unique(y_train)  # (n_train, n_classes)
    centroids = onehot.T @ Z_train / onehot.sum(0)[:, None]  # (n_classes, d) class means
    dist = cdist(np.vstack([Z_id, Z_ood]), centroids).min(1)  # (n_id + n_ood,)
    return float(roc_auc_score(np.r_[np.zeros(len(Z_id)), np.ones(len(Z_ood))], dist))
