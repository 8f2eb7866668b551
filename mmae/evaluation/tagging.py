"""Tag suggestion: the classes of a new asset from its nearest labelled neighbours (k-NN votes),
scored by top-k accuracy."""
from __future__ import annotations

import numpy as np

from mmae.evaluation.checks import check_pair, check_xy
from mmae.evaluation.retrieval import _prepare, _similarity


def knn_tag_scores(Z_library: np.ndarray, y_library: np.ndarray, Z_query: np.ndarray, n_neighbors: int = 10,
                   metric: str = "cosine", n_classes: int | None = None, batch_size: int = 1024) -> np.ndarray:
    """Tag suggestions for new assets from their nearest labelled library items.

    Score of class c = number of the query's ``n_neighbors`` nearest library items (``metric``
    as in :func:`retrieval_scores`) labelled c, plus a tie-breaker (n_classes - 1 - p) / n_classes
    in [0, 1), where p is c's place (0 = first) when the classes are ordered by their single
    nearest library item (classes without library items last; exact ties: lower class first).
    So classes with equal votes, including those with none, are ordered by how close their
    nearest member is, and every score is finite and distinct: a top-5 is always defined.
    Neighbours at exactly the same distance as the ``n_neighbors``-th are chosen arbitrarily
    (``np.argpartition``).

    Returns
    -------
    ndarray of float64, shape (n_query, n_classes)
        Higher = suggested first; ``n_classes`` defaults to ``y_library.max() + 1``.
    """
    L, y_library = check_xy(Z_library, y_library, "Z_library", "y_library")
    Zq = np.asarray(Z_query)
    if Zq.ndim != 2:
        raise ValueError(f"Z_query must be (n, d), got shape {Zq.shape}")
    check_pair(L, Zq, "Z_library", "Z_query", metric, batch_size)
    if not 1 <= n_neighbors <= len(L):
        raise ValueError(f"n_neighbors must be in [1, n_library] = [1, {len(L)}], got {n_neighbors}")
    if y_library.min() < 0:
        raise ValueError(f"y_library must be >= 0, got min {y_library.min()}")
    n_classes = int(y_library.max()) + 1 if n_classes is None else n_classes
    if n_classes <= y_library.max():
        raise ValueError(f"n_classes must be > y_library.max() = {y_library.max()}, got {n_classes}")
    by_class = np.argsort(y_library, kind="stable")  # library rows grouped by class
    g, y_sorted = _prepare(L[by_class], metric), y_library[by_class]
    present, starts = np.unique(y_sorted, return_index=True)
    place = np.arange(n_classes - 1, -1, -1) / n_classes  # tie-breaker of the 1st, 2nd, ... class
    out = []
    for i in range(0, len(Zq), batch_size):  # loop over batches, not items
        sim = _similarity(_prepare(Zq[i:i + batch_size], metric), g, metric)  # (b, n_library)
        b = len(sim)
        nn = y_sorted[np.argpartition(sim, -n_neighbors, axis=1)[:, -n_neighbors:]]  # (b, n_neighbors)
        votes = np.bincount((np.arange(b)[:, None] * n_classes + nn).ravel(), minlength=b * n_classes)
        best = np.full((b, n_classes), -np.inf)  # (b, n_classes) similarity of each class's nearest item
        best[:, present] = np.maximum.reduceat(sim, starts, axis=1)
        tie = np.empty((b, n_classes))
        np.put_along_axis(tie, np.argsort(-best, axis=1, kind="stable"), place[None], 1)
        out.append(votes.reshape(b, n_classes) + tie)
    return np.concatenate(out) if out else np.zeros((0, n_classes))


def top_k_accuracy(y_true: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Fraction of rows whose true label is among the ``k`` highest ``scores`` (n, n_classes).

    Ties are counted against the true label (a class scoring the same ranks ahead of it).

    Examples
    --------
    >>> top_k_accuracy(np.array([0, 1]), np.array([[0.1, 0.9], [0.2, 0.8]]), k=1)
    0.5
    """
    S, y = check_xy(scores, y_true, "scores", "y_true")
    if len(y) and (y.min() < 0 or y.max() >= S.shape[1]):
        raise ValueError(f"y_true must be in [0, n_classes - 1] = [0, {S.shape[1] - 1}], got {np.unique(y)}")
    if not 1 <= k <= S.shape[1]:
        raise ValueError(f"k must be in [1, n_classes] = [1, {S.shape[1]}], got {k}")
    s_true = S[np.arange(len(y)), y][:, None]  # (n, 1)
    return float(((S >= s_true).sum(1) <= k).mean())  # rank of the true label (ties ahead) <= k
