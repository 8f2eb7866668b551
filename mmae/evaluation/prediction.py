"""Cross-modal prediction: how well a decoded modality beats predicting its train mean."""
from __future__ import annotations

import numpy as np


def prediction_skill_score(x_true: np.ndarray, x_pred: np.ndarray, baseline: np.ndarray) -> float:
    """``1 - MSE(x_true, x_pred) / MSE(x_true, baseline)`` with the (d,) ``baseline`` (e.g. the
    train mean) predicted for every row: 1 = perfect, 0 = no better than the baseline, < 0 = worse.

    Examples
    --------
    >>> prediction_skill_score(np.array([[0.0], [2.0]]), np.array([[0.0], [1.0]]), np.array([1.0]))
    0.5
    """
    x_true, x_pred, baseline = np.asarray(x_true), np.asarray(x_pred), np.asarray(baseline)
    if x_true.ndim != 2 or x_pred.shape != x_true.shape:
        raise ValueError(f"x_true and x_pred must be (n, d) of the same shape, got {x_true.shape} and "
                         f"{x_pred.shape}")
    if baseline.shape != (x_true.shape[1],):
        raise ValueError(f"baseline must be (d,) = ({x_true.shape[1]},), got shape {baseline.shape}")
    mse_base = np.mean((x_true - baseline) ** 2)
    if not mse_base > 0:
        raise ValueError("MSE(x_true, baseline) is 0: the skill score is undefined")
    return float(1 - np.mean((x_true - x_pred) ** 2) / mse_base)
