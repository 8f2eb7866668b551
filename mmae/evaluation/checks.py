"""Validation at the boundary of every evaluation function: shapes, lengths and parameters, with
errors that name the array and say what was expected."""
from __future__ import annotations

import numpy as np

METRICS = ("cosine", "euclidean")  # the similarities retrieval and tagging rank by


def check_xy(X, y, x_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{y_name} must be 1-D, got shape {y.shape}")
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"{x_name} must be (n, d) with n = len({y_name}) = {len(y)}, got shape {X.shape}")
    return X, y


def check_pair(A: np.ndarray, B: np.ndarray, a: str, b: str, metric="cosine", batch_size=1) -> None:
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"{a} and {b} must have the same d, got {A.shape[1]} and {B.shape[1]}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
