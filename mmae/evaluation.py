"""Downstream evaluation of embeddings: retrieval (mAP, P@k, recall@k), a linear probe, k-NN tag
suggestion, OOD detection, noise robustness and cross-modal prediction skill, plus mean ± std
tables over seeds. Every ``*_score`` is higher-is-better."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy.spatial.distance import cdist
from sklearn.metrics import roc_auc_score

METRICS = ("cosine", "euclidean")
PROBE_TOL = 1e-4  # linear probe: stop when every gradient entry is below this (scikit-learn's tol)


def _check_xy(X, y, x_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{y_name} must be 1-D, got shape {y.shape}")
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"{x_name} must be (n, d) with n = len({y_name}) = {len(y)}, got shape {X.shape}")
    return X, y


def _check_pair(A: np.ndarray, B: np.ndarray, a: str, b: str, metric="cosine", batch_size=1) -> None:
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"{a} and {b} must have the same d, got {A.shape[1]} and {B.shape[1]}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")


def _prepare(X: np.ndarray, metric: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)  # float64: rankings agree with scikit-learn's
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12) if metric == "cosine" else X


def _similarity(q: np.ndarray, g: np.ndarray, metric: str) -> np.ndarray:
    """(b, d) x (n, d) -> (b, n), higher = closer: cosine similarity or minus squared distance."""
    if metric == "cosine":
        return q @ g.T  # rows already unit-normalised by _prepare
    return 2 * q @ g.T - (q * q).sum(1, keepdims=True) - (g * g).sum(1)


def _rank(sim: np.ndarray) -> np.ndarray:
    """(b, n) gallery indices by decreasing ``sim``, ties by increasing index: a stable sort, done
    as a fast unstable argsort plus a second sort only when a row holds equal values."""
    order = np.argsort(sim, axis=1)[:, ::-1]  # reversed ties are reordered below
    v = np.take_along_axis(sim, order, 1)
    if (v[:, 1:] == v[:, :-1]).any():
        run = np.zeros_like(order)  # (b, n) index of the run of equal values each entry is in
        run[:, 1:] = np.cumsum(v[:, 1:] != v[:, :-1], axis=1)
        order = np.take_along_axis(order, np.argsort(run * sim.shape[1] + order, axis=1), 1)
    return order


def average_precision(relevant_ranked) -> float:
    """Average precision of one ranked list: the mean, over the relevant positions, of the
    precision at that position.

    Parameters
    ----------
    relevant_ranked : array_like of bool or {0, 1}, shape (n,)
        Relevance of each item, in rank order (best first).

    Examples
    --------
    >>> round(average_precision([1, 0, 1, 0]), 4)  # (1/1 + 2/3) / 2
    0.8333
    """
    rel = np.asarray(relevant_ranked).astype(bool)
    if rel.ndim != 1 or not rel.any():
        raise ValueError(f"relevant_ranked must be 1-D with at least one relevant item, got shape "
                         f"{rel.shape} with {int(rel.sum())} relevant")
    hits = np.cumsum(rel)  # (n,) relevant items up to and including each rank
    return float((hits[rel] / (np.flatnonzero(rel) + 1)).mean())


def retrieval_scores(queries: np.ndarray, gallery: np.ndarray, y_query: np.ndarray, y_gallery: np.ndarray,
                     ks=(1, 5, 10), metric: str = "cosine", batch_size: int = 1024) -> dict[str, float]:
    """Every query ranks the whole gallery; relevant = same label.

    Ranking: cosine similarity descending (``metric="cosine"``) or Euclidean distance ascending
    (``"euclidean"``); ties go to the lower gallery index (stable sort). Queries are ranked in
    batches of ``batch_size`` rows, so memory is (batch_size, n_gallery).

    Returns
    -------
    dict
        ``map``: mean average precision over the queries with at least one relevant gallery item;
        ``precision@k``: mean fraction of relevant items among the top k; ``recall@k``: fraction
        of queries with at least one relevant item among the top k (a *hit rate*, not the
        fraction of relevant items retrieved). Both @k means are over all queries.
    """
    Q, y_query = _check_xy(queries, y_query, "queries", "y_query")
    G, y_gallery = _check_xy(gallery, y_gallery, "gallery", "y_gallery")
    _check_pair(Q, G, "queries", "gallery", metric, batch_size)
    ks = tuple(ks)
    if not all(isinstance(k, (int, np.integer)) and 1 <= k <= len(G) for k in ks):
        raise ValueError(f"ks must be integers in [1, n_gallery] = [1, {len(G)}], got {ks}")
    q, g = _prepare(Q, metric), _prepare(G, metric)
    ap, top = [], []
    for i in range(0, len(Q), batch_size):  # loop over batches, not items
        order = _rank(_similarity(q[i:i + batch_size], g, metric))  # (b, n_gallery)
        rel = y_gallery[order] == y_query[i:i + batch_size, None]  # (b, n_gallery), in rank order
        hits = rel.cumsum(1, dtype=np.int32)  # (b, n_gallery) relevant items up to each rank
        n_rel = hits[:, -1]
        row, col = np.nonzero(rel)  # relevant (query, rank - 1), row-major
        prec = np.bincount(row, hits[row, col] / (col + 1), len(rel))  # (b,) sum of precisions at them
        ap.append(prec[n_rel > 0] / n_rel[n_rel > 0])  # AP of the queries with a relevant item
        top.append(hits[:, [k - 1 for k in ks]])  # (b, len(ks)) relevant items in the top k
    ap, top = np.concatenate(ap), np.concatenate(top)
    if len(ap) == 0:
        raise ValueError("no query has a relevant gallery item (no label of y_query is in y_gallery)")
    return {"map": float(ap.mean()),
            **{f"precision@{k}": float(p) for k, p in zip(ks, (top / np.array(ks)).mean(0))},
            **{f"recall@{k}": float(r) for k, r in zip(ks, (top > 0).mean(0))}}


def fit_linear_probe(Z_train: np.ndarray, y_train: np.ndarray, C: float = 1.0, max_iter: int = 200,
                     random_state: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """Multinomial logistic regression on the train embeddings, standardised with their mean and
    standard deviation.

    Objective of scikit-learn's ``LogisticRegression`` (L2, lbfgs): ``C * sum of cross-entropies
    + ||W||^2 / 2``, intercept unpenalised; minimised by full-batch ``torch.optim.LBFGS`` in
    float64 from zero weights until ``max_iter`` or every gradient entry < ``PROBE_TOL``, ~3x
    faster than scikit-learn (21,000 x 128, 42 classes: ~1 s on 2 CPU cores). Nothing is random:
    ``random_state`` is unused and kept for a signature common to the evaluation functions.

    Returns
    -------
    callable
        ``predict(Z)``: predicted labels (n,) of embeddings ``Z`` (n, d), standardised as the train set.
    """
    Z_train, y_train = _check_xy(Z_train, y_train, "Z_train", "y_train")
    if len(np.unique(y_train)) < 2:
        raise ValueError(f"y_train must hold at least 2 classes, got {np.unique(y_train)}")
    if not C > 0:
        raise ValueError(f"C must be > 0, got {C}")
    mean, std = Z_train.mean(0, dtype=np.float64), Z_train.std(0, dtype=np.float64)
    std[std == 0] = 1.0  # constant columns stay at zero, as in mmae.data.standardize
    X = torch.as_tensor((Z_train - mean) / std)  # (n, d) float64
    classes, y = np.unique(y_train, return_inverse=True)
    W = torch.zeros(X.shape[1], len(classes), dtype=torch.float64, requires_grad=True)  # (d, n_classes)
    b = torch.zeros(len(classes), dtype=torch.float64, requires_grad=True)  # intercept, unpenalised
    opt = torch.optim.LBFGS([W, b], max_iter=max_iter, tolerance_grad=PROBE_TOL, tolerance_change=1e-12,
                            line_search_fn="strong_wolfe")

    def closure():  # scikit-learn's objective divided by C * n: same minimiser, gradients O(1)
        opt.zero_grad()
        loss = F.cross_entropy(X @ W + b, torch.as_tensor(y)) + (W * W).sum() / (2 * C * len(X))
        loss.backward()
        return loss

    opt.step(closure)
    W, b = W.detach(), b.detach()

    def predict(Z: np.ndarray) -> np.ndarray:
        Z = np.asarray(Z)
        if Z.ndim != 2 or Z.shape[1] != len(mean):
            raise ValueError(f"Z must be (n, d) with d = {len(mean)} as in training, got shape {Z.shape}")
        return classes[(torch.as_tensor((Z - mean) / std) @ W + b).argmax(1).numpy()]

    return predict


def linear_probe_score(Z_train: np.ndarray, y_train: np.ndarray, Z_test: np.ndarray, y_test: np.ndarray,
                       C: float = 1.0, max_iter: int = 200, random_state: int = 0) -> float:
    """Test accuracy of :func:`fit_linear_probe` (multinomial logistic regression, scikit-learn's
    objective) fitted on ``Z_train``, after standardising both sets with the train statistics."""
    Z_train, y_train = _check_xy(Z_train, y_train, "Z_train", "y_train")
    Z_test, y_test = _check_xy(Z_test, y_test, "Z_test", "y_test")
    _check_pair(Z_train, Z_test, "Z_train", "Z_test")
    return float((fit_linear_probe(Z_train, y_train, C, max_iter, random_state)(Z_test) == y_test).mean())


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
    L, y_library = _check_xy(Z_library, y_library, "Z_library", "y_library")
    Zq = np.asarray(Z_query)
    if Zq.ndim != 2:
        raise ValueError(f"Z_query must be (n, d), got shape {Zq.shape}")
    _check_pair(L, Zq, "Z_library", "Z_query", metric, batch_size)
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
    S, y = _check_xy(scores, y_true, "scores", "y_true")
    if len(y) and (y.min() < 0 or y.max() >= S.shape[1]):
        raise ValueError(f"y_true must be in [0, n_classes - 1] = [0, {S.shape[1] - 1}], got {np.unique(y)}")
    if not 1 <= k <= S.shape[1]:
        raise ValueError(f"k must be in [1, n_classes] = [1, {S.shape[1]}], got {k}")
    s_true = S[np.arange(len(y)), y][:, None]  # (n, 1)
    return float(((S >= s_true).sum(1) <= k).mean())  # rank of the true label (ties ahead) <= k


def ood_auroc_score(Z_train: np.ndarray, y_train: np.ndarray, Z_id: np.ndarray, Z_ood: np.ndarray) -> float:
    """AUROC of out-of-distribution detection by the Euclidean distance to the nearest class
    centroid (class means of ``Z_train``): OOD is the positive class, the distance the score.
    0.5 = chance, 1 = every OOD point is farther than every in-distribution point.
    """
    Z_train, y_train = _check_xy(Z_train, y_train, "Z_train", "y_train")
    Z_id, Z_ood = np.asarray(Z_id), np.asarray(Z_ood)
    for name, Z in (("Z_id", Z_id), ("Z_ood", Z_ood)):
        if Z.ndim != 2 or len(Z) == 0 or Z.shape[1] != Z_train.shape[1]:
            raise ValueError(f"{name} must be (n, d) with n >= 1 and d = {Z_train.shape[1]}, "
                             f"got shape {Z.shape}")
    onehot = y_train[:, None] == np.unique(y_train)  # (n_train, n_classes)
    centroids = onehot.T @ Z_train / onehot.sum(0)[:, None]  # (n_classes, d) class means
    dist = cdist(np.vstack([Z_id, Z_ood]), centroids).min(1)  # (n_id + n_ood,)
    return float(roc_auc_score(np.r_[np.zeros(len(Z_id)), np.ones(len(Z_ood))], dist))


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


def mean_std(df: pd.DataFrame, by: list[str], value: str = "value") -> pd.DataFrame:
    """Mean, standard deviation (ddof=1; NaN when n = 1) and count of ``df[value]`` per group of
    ``by``: columns ``by + ["mean", "std", "n"]``, groups in order of first appearance."""
    missing = [c for c in [*by, value] if c not in df.columns]
    if missing:
        raise ValueError(f"df has no column(s) {missing}; it has {list(df.columns)}")
    t = df.groupby(by, sort=False)[value].agg(["mean", "std", "count"])
    return t.rename(columns={"count": "n"}).reset_index()


def format_mean_std(mean: float, std: float, digits: int = 3) -> str:
    """``"mean ± std"`` with ``digits`` decimals; just the mean when ``std`` is NaN.

    Examples
    --------
    >>> format_mean_std(0.54123, 0.0121), format_mean_std(0.5, float("nan"))
    ('0.541 ± 0.012', '0.500')
    """
    return f"{mean:.{digits}f}" if np.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"
