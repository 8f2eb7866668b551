"""The questions of chapters 08-12, each a function of the zoo and the data returning a long table:
one row per (model, seed, condition, metric), the number in ``value``."""
from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pandas as pd
import torch

from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from mmae.data import Features, add_gaussian_noise
from mmae.device import pick_device
from mmae.evaluation import (N_INIT, cluster_scores, fit_linear_probe, knn_tag_scores, ood_auroc_score,
                             prediction_skill_score, retrieval_scores, top_k_accuracy)
from mmae.evaluation.batched import fit_linear_probes, kmeans_many
from mmae.evaluation.neighbours import knn_tag_scores_many, retrieval_scores_many
from mmae.study.zoo import Zoo, embed


def subsets(modalities) -> list[tuple[str, ...]]:
    """The non-empty subsets of ``modalities``, by size, then in modality order (7 for 3)."""
    return [s for r in range(1, len(modalities) + 1) for s in itertools.combinations(modalities, r)]


def subset_name(subset) -> str:
    return "+".join(subset)



def _rows(name: str, seed: int, metrics: dict[str, float], **condition) -> list[dict]:
    return [{"model": name, "seed": seed, **condition, "metric": k, "value": v} for k, v in metrics.items()]


def _pick(x: dict[str, np.ndarray], subset) -> dict[str, np.ndarray]:
    return {m: x[m] for m in subset}


ENGINES = ("batched", "reference")  # every problem of a table at once (mmae.evaluation.batched), or one by one


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")


def distinct_rows(x: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct input of ``x`` (its modalities' rows side by side) and, for
    every row, which of those it repeats: ``x`` at ``first`` then ``inverse`` is ``x``. On a split
    whose modalities share a few clips or texts (the real set's pools) a subset without the image
    has 6 to 17 times fewer distinct rows than rows; a model maps equal inputs to equal outputs, so
    scoring the distinct ones and spreading the scores back is exact."""
    a = np.concatenate([np.ascontiguousarray(v).view(np.uint8).reshape(len(v), -1) for v in x.values()], axis=1)
    codes, _ = pd.factorize(pd.Series([r.tobytes() for r in a]))  # hashing rows' bytes: fast on many repeats
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    return first, inverse


def _groups(arrays: list[np.ndarray]) -> dict[tuple, list[int]]:
    """Indices of ``arrays`` by shape: the batched engine stacks problems of one shape."""
    out: dict[tuple, list[int]] = {}
    for i, a in enumerate(arrays):
        out.setdefault(a.shape, []).append(i)
    return out


def cluster_many(Z: list[np.ndarray], y: np.ndarray, k: int, n_init: int, seeds: list[int],
                 engine: str = "batched", device="auto") -> list[dict[str, float]]:
    """K-Means (``k``, ``n_init`` restarts, ``seeds[i]``) of every embedding ``Z[i]``, scored by
    ARI and NMI against ``y``: with :func:`mmae.evaluation.batched.kmeans_many` (``"batched"``) or
    one :func:`mmae.evaluation.cluster_scores` at a time (``"reference"``). Equal problems (the same
    embedding and seed: chapter 10's noise-free condition of every modality) are solved once."""
    _check_engine(engine)
    if engine == "reference":
        return [{m: c[m] for m in ("ari", "nmi")} for c in
                (cluster_scores(z, y, k, n_init, s) for z, s in zip(Z, seeds))]
    keys = [_problem_key(z, s) for z, s in zip(Z, seeds)]
    first: dict = {}  # equal problems (the same embedding and seed) are clustered once
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    unique = sorted(set(first.values()))
    Zu = [Z[i] for i in unique]
    scores: dict = {}
    for idx in _groups(Zu).values():
        labels, _ = kmeans_many([Zu[i] for i in idx], k, n_init, [seeds[unique[i]] for i in idx],
                                device=pick_device(device))
        for i, lab in zip(idx, labels):
            scores[unique[i]] = {"ari": float(adjusted_rand_score(y, lab)), "nmi": float(normalized_mutual_info_score(y, lab))}
    return [dict(scores[first[key]]) for key in keys]


def _problem_key(z: np.ndarray, seed: int) -> tuple:
    z = np.ascontiguousarray(z)
    return hashlib.sha256(z.tobytes()).hexdigest(), z.shape, str(z.dtype), int(seed)


def probe_many(train: list[np.ndarray], y_train: np.ndarray, tests: list[list[np.ndarray]], y_test: np.ndarray,
               engine: str = "batched", device="auto") -> list[list[float]]:
    """Accuracy on each of ``tests[i]`` of the linear probe fitted on ``train[i]``: with
    :func:`mmae.evaluation.batched.fit_linear_probes` or one :func:`mmae.evaluation.fit_linear_probe`
    at a time (``"reference"``); nothing in the probe is random, so no seed is asked."""
    _check_engine(engine)
    if engine == "reference":
        fits = [fit_linear_probe(z, y_train) for z in train]
        return [[float((f(z) == y_test).mean()) for z in zs] for f, zs in zip(fits, tests)]
    out: list = [None] * len(train)
    for idx in _groups(train).values():
        predict = fit_linear_probes([train[i] for i in idx], y_train, device=pick_device(device))
        pred = predict([np.concatenate(tests[i]) for i in idx])            # (P, sum of m)
        for i, p in zip(idx, pred):
            parts = np.split(p, np.cumsum([len(z) for z in tests[i]])[:-1])
            out[i] = [float((q == y_test).mean()) for q in parts]
    return out


def _grid(zoo: Zoo):
    """(name, seed, model) of every trained model of the zoo."""
    return [(name, seed, model) for name, models in zoo.models.items() for seed, model in zip(zoo.seeds, models)]


def retrieval_table(zoo: Zoo, features: Features, split: str = "test", metric: str = "cosine",
                    engine: str = "batched", device="auto") -> pd.DataFrame:
    """Q1: query with one modality's embeddings, rank another's; relevant = same class.
    Columns model, seed, query, gallery, metric (map, precision@10, recall@1/5/10), value."""
    _check_engine(engine)
    x, y = features.x[split], features.y[split]
    cases, Q, G = [], [], []
    for name, seed, model in _grid(zoo):
        emb = {m: embed(model, {m: x[m]}) for m in x}
        for a, b in itertools.permutations(x, 2):
            cases.append((name, seed, a, b)), Q.append(emb[a]), G.append(emb[b])
    if engine == "reference":
        scores = [retrieval_scores(q, g, y, y, metric=metric) for q, g in zip(Q, G)]
    else:
        scores: list = [None] * len(Q)
        for idx in _groups(Q).values():
            many = retrieval_scores_many([Q[i] for i in idx], [G[i] for i in idx], y, y,
                                         metric=metric, device=pick_device(device))
            for i, sc in zip(idx, many):
                scores[i] = sc
    return pd.DataFrame([r for (name, seed, a, b), sc in zip(cases, scores)
                         for r in _rows(name, seed, sc, query=a, gallery=b)])


def subset_table(zoo: Zoo, features: Features, k: int, n_init: int = N_INIT, engine: str = "batched",
                 device="auto") -> pd.DataFrame:
    """Q2: embed the test split from each non-empty subset of modalities: K-Means (``k``) ARI and
    NMI, and the accuracy of a linear probe fitted on the train embeddings of the same subset."""
    xtr, xte, ytr, yte = features.x["train"], features.x["test"], features.y["train"], features.y["test"]
    cases, train, test = [], [], []
    for name, seed, model in _grid(zoo):
        for subset in subsets(features.modalities):
            cases.append((name, seed, subset))
            train.append(embed(model, _pick(xtr, subset))), test.append(embed(model, _pick(xte, subset)))
    seeds = [seed for _, seed, _ in cases]
    clusters = cluster_many(test, yte, k, n_init, seeds, engine, device)
    probes = probe_many(train, ytr, [[z] for z in test], yte, engine, device)
    return pd.DataFrame([r for (name, seed, subset), c, (acc,) in zip(cases, clusters, probes)
                         for r in _rows(name, seed, {"ari": c["ari"], "nmi": c["nmi"], "probe_accuracy": acc},
                                        subset=subset_name(subset), n_modalities=len(subset))])


@torch.no_grad()
def cross_modal_table(zoo: Zoo, features: Features) -> pd.DataFrame:
    """Q2: decode modality B from another modality A alone (and every modality from all), scored
    against predicting the train mean of B: :func:`mmae.evaluation.prediction_skill_score` (0 = no
    better than the mean). Self-pairs (A -> A) are left out: they are reconstruction, not prediction."""
    xte, mods = features.x["test"], features.modalities
    mean = {m: features.x["train"][m].mean(0) for m in mods}
    rows = []
    for name, seed, model in _grid(zoo):
        if not len(getattr(model, "decoders", ())):
            continue  # the contrastive model and the PCA baseline have no decoder
        for source in [(m,) for m in mods] + [tuple(mods)]:
            z = torch.as_tensor(embed(model, _pick(xte, source)))
            x_hat = {m: v.numpy() for m, v in model.decode(z).items()}
            for target in mods:
                if source == (target,):
                    continue  # reconstructing a modality from itself is not cross-modal
                rows += _rows(name, seed, {"skill": prediction_skill_score(xte[target], x_hat[target], mean[target])},
                              source=subset_name(source), target=target)
    return pd.DataFrame(rows)


def noise_table(zoo: Zoo, features: Features, sigmas, k: int, n_init: int = N_INIT, engine: str = "batched",
                device="auto") -> pd.DataFrame:
    """Q3: Gaussian noise of std ``sigma`` (in feature standard deviations) on one test modality:
    K-Means ARI and the accuracy of the probe fitted on clean train embeddings (all modalities)."""
    xtr, xte, ytr, yte = features.x["train"], features.x["test"], features.y["train"], features.y["test"]
    conditions = [(m, float(s)) for m in features.modalities for s in sigmas]
    cases, train, noisy = [], [], []
    for name, seed, model in _grid(zoo):
        train.append(embed(model, xtr))
        noisy.append([embed(model, add_gaussian_noise(xte, m, s, random_state=seed)) for m, s in conditions])
        cases += [(name, seed, m, s) for m, s in conditions]
    seeds = [seed for _, seed, _, _ in cases]
    clusters = cluster_many([z for zs in noisy for z in zs], yte, k, n_init, seeds, engine, device)
    accs = [a for row in probe_many(train, ytr, noisy, yte, engine, device) for a in row]
    return pd.DataFrame([r for (name, seed, m, s), c, acc in zip(cases, clusters, accs)
                         for r in _rows(name, seed, {"ari": c["ari"], "probe_accuracy": acc}, modality=m, sigma=s)])


TOP = 5  # the tags a user scans: the top 5, or every class when there are fewer


def top_k(n_classes: int) -> int:
    """The larger k of the tagging table: ``min(TOP, n_classes)`` (top-5 of 2 classes means nothing)."""
    return min(TOP, n_classes)


def tagging_table(zoo: Zoo, features: Features, n_neighbors: int = 10, tops=None, engine: str = "batched",
                  device="auto") -> pd.DataFrame:
    """Q8: tags (classes) of a new asset with any subset of modalities from its ``n_neighbors``
    nearest neighbours among the labelled train assets embedded from all modalities: top-k accuracy
    for each k of ``tops`` (default 1 and :func:`top_k` of the class count; metrics ``top{k}``)."""
    _check_engine(engine)
    xtr, xte, ytr, yte = features.x["train"], features.x["test"], features.y["train"], features.y["test"]
    n_classes = int(max(ytr.max(), yte.max())) + 1
    tops = tops or (1, top_k(features.n_classes))
    if bad := [t for t in tops if not 1 <= t <= n_classes]:
        raise ValueError(f"tops must be in [1, {n_classes}] (the classes), got {bad}")
    sets = subsets(features.modalities)
    rows = [distinct_rows(_pick(xte, subset)) for subset in sets]  # each distinct query tagged once
    cases, library, queries = [], [], []  # one library per model, queried from every subset
    for name, seed, model in _grid(zoo):
        cases += [(name, seed, subset) for subset in sets]
        library.append(embed(model, xtr))
        queries.append([embed(model, {m: a[first] for m, a in _pick(xte, subset).items()})
                        for subset, (first, _) in zip(sets, rows)])
    if engine == "reference":
        scores = [knn_tag_scores(lib, ytr, q, n_neighbors, n_classes=n_classes) for lib, qs in zip(library, queries)
                  for q in qs]
    else:
        per_model: list = [None] * len(library)
        for idx in _groups(library).values():
            many = knn_tag_scores_many([library[i] for i in idx], ytr,
                                       [np.concatenate(queries[i]) for i in idx], n_neighbors,
                                       n_classes=n_classes, device=pick_device(device))
            for i, sc in zip(idx, many):
                per_model[i] = np.split(sc, np.cumsum([len(q) for q in queries[i]])[:-1])
        scores = [sc for parts in per_model for sc in parts]
    scores = [sc[inverse] for sc, (_, inverse) in zip(scores, rows * len(library))]
    return pd.DataFrame([r for (name, seed, subset), sc in zip(cases, scores)
                         for r in _rows(name, seed, {f"top{t}": top_k_accuracy(yte, sc, t) for t in tops},
                                        subset=subset_name(subset), n_modalities=len(subset))])


def ood_table(zoo: Zoo, features: Features, n_init: int = N_INIT, engine: str = "batched", device="auto") -> pd.DataFrame:
    """Q6: K-Means with k = the number of OOD classes on the OOD embeddings (ARI, NMI), and OOD
    detection by the distance to the nearest in-distribution class centroid (AUROC). Empty (with
    the columns) when the data have no OOD split."""
    _check_engine(engine)
    if "ood" not in features.x:  # an optional split: nothing to measure
        return pd.DataFrame(columns=["model", "seed", "metric", "value"])
    y_ood = features.y["ood"]
    cases, ood, auroc = [], [], []
    for name, seed, model in _grid(zoo):
        z_tr, z_te, z_ood = (embed(model, features.x[s]) for s in ("train", "test", "ood"))
        cases.append((name, seed)), ood.append(z_ood)
        auroc.append(ood_auroc_score(z_tr, features.y["train"], z_te, z_ood))
    clusters = cluster_many(ood, y_ood, len(np.unique(y_ood)), n_init, [s for _, s in cases], engine, device)
    return pd.DataFrame([r for (name, seed), c, a in zip(cases, clusters, auroc)
                         for r in _rows(name, seed, {"ari": c["ari"], "nmi": c["nmi"], "auroc": a})])


def headline(table: pd.DataFrame, metric: str, **where) -> pd.DataFrame:
    """One number per (model, seed): ``metric`` averaged over the rows matching ``where``."""
    t = table[table["metric"] == metric]
    for column, value in where.items():
        t = t[t[column].isin(value if isinstance(value, (list, tuple)) else [value])]
    return t.groupby(["model", "seed"], sort=False, as_index=False)["value"].mean()
