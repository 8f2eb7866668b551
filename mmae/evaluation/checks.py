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


def leader(scores) -> str | None:
    """The name of the one highest score of ``scores`` (a mapping or Series of name -> number);
    None when there is no signal to read: every score NaN, or the highest shared by two names
    (a tie says nothing about which is better).

    Examples
    --------
    >>> leader({"image": 0.2, "text": 0.5}), leader({"image": 0.5, "text": 0.5}), leader({"a": float("nan")})
    ('text', None, None)
    """
    values = {k: float(v) for k, v in dict(scores).items() if not np.isnan(float(v))}
    if not values:
        return None
    top = max(values.values())
    best = [k for k, v in values.items() if v == top]
    return best[0] if len(best) == 1 else None
