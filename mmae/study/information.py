"""What each modality can tell about the class, before any model is trained.

For every modality of a data set: how well a linear classifier separates the classes (an upper
bound on what a linear latent can offer), how well K-Means recovers them (what the paper's
protocol can see), how much of the variance along the top principal directions is between
classes, and how well K-Means recovers any *nuisance* factor the bundle names (a speaker, say).
A modality whose K-Means partition follows the nuisance rather than the class will mislead an
unsupervised method, however separable its classes are. And whether the modalities of a triplet
share anything beyond their class (:func:`within_class_alignment`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from mmae.data import Features, standardize
from mmae.evaluation import linear_probe_score
from mmae.evaluation.checks import leader


def _constant(X: np.ndarray) -> bool:
    """Every row of ``X`` the same (a dead extractor): no variance, a single cluster."""
    return bool(np.ptp(X, axis=0).max() == 0)


def _kmeans_ari(X: np.ndarray, labels: np.ndarray, k: int, n_init: int, seed: int) -> float:
    if _constant(X):  # one cluster, whatever k (K-Means would warn so)
        return float(adjusted_rand_score(labels, np.zeros(len(X), np.int64)))
    k = min(k, len(X) - 1)
    return float(adjusted_rand_score(labels, KMeans(k, n_init=n_init, random_state=seed).fit_predict(X)))


def between_class_share(X: np.ndarray, y: np.ndarray, n_components: int = 10) -> float:
    """Share of the variance along the top ``n_components`` principal directions of ``X`` (n, d)
    that lies between the class means of ``y`` (1 = the top directions are pure class signal);
    NaN when ``X`` has no variance (every row the same: there is no direction to share).

    Examples
    --------
    >>> X = np.array([[0.0, 1.0], [0.0, -1.0], [4.0, 1.0], [4.0, -1.0]])
    >>> round(between_class_share(X, np.array([0, 0, 1, 1]), 1), 6)
    1.0
    """
    X, y = np.asarray(X, np.float64), np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be (n, d) with n = len(y) = {len(y)}, got shape {X.shape}")
    if _constant(X):
        return float("nan")
    q = min(n_components, *X.shape)
    Z = PCA(q, svd_solver="full").fit_transform(X)
    means = np.stack([Z[y == c].mean(0) for c in np.unique(y)])[np.unique(y, return_inverse=True)[1]]
    return float(((means - Z.mean(0)) ** 2).sum() / ((Z - Z.mean(0)) ** 2).sum())


def modality_table(features: Features, k: int | None = None, n_components: int = 10, n_init: int = 10,
                   seed: int = 0, max_train: int = 5000) -> pd.DataFrame:
    """One row per modality (standardised on train): linear-probe test accuracy, K-Means ARI on
    the test split against the class (``k`` clusters, default the number of classes), the
    between-class share of the top ``n_components`` principal directions (train), and for each
    nuisance label of the test split, the K-Means ARI against it (k = its number of values).
    The probe and the principal directions use at most ``max_train`` train rows (drawn with ``seed``).

    Columns ``modality``, ``dim``, ``constant`` (every train row the same), ``probe_accuracy``, ``kmeans_ari_class``,
    ``between_class_share`` and ``kmeans_ari_{nuisance}`` for each nuisance.
    """
    f = standardize(features)
    k = k or f.n_classes
    y_test = f.y["test"]
    chance = np.unique(y_test, return_counts=True)[1].max() / len(y_test)
    rows_train = np.random.default_rng(seed).permutation(len(f.y["train"]))[:max_train]
    y_train = f.y["train"][rows_train]
    rows = []
    for m in f.modalities:
        train, test = f.x["train"][m][rows_train], f.x["test"][m]
        row = {"modality": m, "dim": train.shape[1], "constant": _constant(train),
               "probe_accuracy": linear_probe_score(train, y_train, test, y_test),
               "chance_accuracy": float(chance),
               "kmeans_ari_class": _kmeans_ari(test, y_test, k, n_init, seed),
               "between_class_share": between_class_share(train, y_train, n_components)}
        for name, labels in f.nuisance.get("test", {}).items():
            row[f"kmeans_ari_{name}"] = _kmeans_ari(test, labels, len(np.unique(labels)), n_init, seed)
        rows.append(row)
    return pd.DataFrame(rows)


def what_the_data_can_tell(table: pd.DataFrame, data_name: str) -> str:
    """Markdown sentences computed from :func:`modality_table`: which modality is most and least
    class-separable, whether K-Means sees that separability, and which modalities cluster by a
    nuisance rather than by class. True of whatever data the table was computed on: a constant
    modality, a tie at the top or NaN scores are said to carry no signal, never called the best."""
    t = table.set_index("modality")
    constant = [m for m in t.index if t.get("constant", pd.Series(False, t.index))[m]]
    lines = [f"On {data_name}, **{m}** is constant (every row the same): no signal, whatever its scores."
             for m in constant]
    t = t.drop(index=constant)
    best, worst = leader(t["probe_accuracy"]), leader(-t["probe_accuracy"])
    chance = f"chance {table['chance_accuracy'].iloc[0]:.3f}"
    if best is None or worst is None:
        lines.append(f"On {data_name}, no modality separates the classes better than the others with a linear "
                     f"classifier (test accuracies {_listed(t['probe_accuracy'])}; {chance}): no signal to rank them.")
    else:
        lines.append(f"On {data_name}, a linear classifier separates the classes best from **{best}** "
                     f"(test accuracy {t.loc[best, 'probe_accuracy']:.3f}) and worst from **{worst}** "
                     f"({t.loc[worst, 'probe_accuracy']:.3f}; {chance}).")
    hidden = [m for m in t.index if t.loc[m, "probe_accuracy"] > 0.8 and t.loc[m, "kmeans_ari_class"] < 0.3]
    top = leader(t["kmeans_ari_class"])
    if hidden:
        lines.append("Linearly separable but poorly clustered by K-Means (ARI < 0.3): "
                     + ", ".join(f"**{m}** (ARI {t.loc[m, 'kmeans_ari_class']:.3f})" for m in hidden)
                     + ". There the class is present but not the dominant direction of variance, so an "
                     "unsupervised method must find it; a reconstruction objective is not asked to.")
    elif top is None:
        lines.append(f"K-Means recovers the classes equally (or not at all) from every modality "
                     f"(ARI {_listed(t['kmeans_ari_class'])}): no signal to rank them.")
    else:
        lines.append(f"K-Means recovers the classes best from **{top}** (ARI {t.loc[top, 'kmeans_ari_class']:.3f}).")
    for column in [c for c in t.columns if c.startswith("kmeans_ari_") and c != "kmeans_ari_class"]:
        name = column.removeprefix("kmeans_ari_")
        by_nuisance = [m for m in t.index if t.loc[m, column] > t.loc[m, "kmeans_ari_class"]]
        if by_nuisance:
            lines.append("K-Means groups " + ", ".join(f"**{m}**" for m in by_nuisance)
                         + f" by {name} more than by class (ARI against {name} "
                         + ", ".join(f"{t.loc[m, column]:.3f}" for m in by_nuisance) + "): a nuisance "
                         "that a method preserving variance will keep.")
        else:
            lines.append(f"No modality clusters by {name} more than by class.")
    return " ".join(lines)


def _listed(values: pd.Series) -> str:
    return ", ".join(f"{m} {v:.3f}" for m, v in values.items())


def within_class_alignment(features: Features, split: str = "train", n_components: int = 10,
                           seed: int = 0) -> pd.DataFrame:
    """Is there any correspondence between modalities *beyond the class*?

    For each pair of modalities, the largest canonical correlation between the class-centred
    features (each reduced to ``n_components`` principal directions) of the rows as paired, and
    of the rows re-paired at random within each class. Equal values mean the triplets share only
    their class, as in LUMA, where triplets are formed by shuffling each modality within a class.
    """
    rng = np.random.default_rng(seed)
    y = features.y[split]

    def basis(a):  # orthonormal basis (n, c) of the class-centred top principal directions
        a = a.astype(np.float64).copy()
        for c in np.unique(y):
            a[y == c] -= a[y == c].mean(0)
        _, vecs = np.linalg.eigh(a.T @ a)  # principal directions, ascending eigenvalues
        return np.linalg.qr(a @ vecs[:, -min(n_components, a.shape[1]):])[0]

    bases = {m: basis(features.x[split][m]) for m in features.modalities}
    shuffled = np.arange(len(y))
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        shuffled[rows] = rng.permutation(rows)
    out = []
    for i, a in enumerate(features.modalities):
        for b in features.modalities[i + 1:]:
            paired = np.linalg.svd(bases[a].T @ bases[b], compute_uv=False)[0]
            null = np.linalg.svd(bases[a].T @ bases[b][shuffled], compute_uv=False)[0]
            out.append({"pair": f"{a}-{b}", "as paired": paired, "re-paired within class": null})
    return pd.DataFrame(out)
