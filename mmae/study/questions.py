"""The questions of chapters 08-12, each a function of the zoo and the data returning a long table:
one row per (model, seed, condition, metric), the number in ``value``."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import torch

from mmae.data import Features, add_gaussian_noise
from mmae.evaluation import (N_INIT, cluster_scores, fit_linear_probe, knn_tag_scores, ood_auroc_score,
                             prediction_skill_score, retrieval_scores, top_k_accuracy)
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


def retrieval_table(zoo: Zoo, features: Features, split: str = "test", metric: str = "cosine") -> pd.DataFrame:
    """Q1: query with one modality's embeddings, rank another's; relevant = same class.
    Columns model, seed, query, gallery, metric (map, precision@10, recall@1/5/10), value."""
    x, y = features.x[split], features.y[split]
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            emb = {m: embed(model, {m: x[m]}) for m in x}
            for a, b in itertools.permutations(x, 2):
                rows += _rows(name, seed, retrieval_scores(emb[a], emb[b], y, y, metric=metric), query=a, gallery=b)
    return pd.DataFrame(rows)


def subset_table(zoo: Zoo, features: Features, k: int, n_init: int = N_INIT) -> pd.DataFrame:
    """Q2: embed the test split from each non-empty subset of modalities: K-Means (``k``) ARI and
    NMI, and the accuracy of a linear probe fitted on the train embeddings of the same subset."""
    xtr, xte, ytr, yte = features.x["train"], features.x["test"], features.y["train"], features.y["test"]
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            for subset in subsets(features.modalities):
                z_tr, z_te = embed(model, _pick(xtr, subset)), embed(model, _pick(xte, subset))
                c = cluster_scores(z_te, yte, k, n_init, seed)
                probe = fit_linear_probe(z_tr, ytr, random_state=seed)
                rows += _rows(name, seed, {"ari": c["ari"], "nmi": c["nmi"],
                                           "probe_accuracy": float((probe(z_te) == yte).mean())},
                              subset=subset_name(subset), n_modalities=len(subset))
    return pd.DataFrame(rows)


@torch.no_grad()
def cross_modal_table(zoo: Zoo, features: Features) -> pd.DataFrame:
    """Q2: decode modality B from another modality A alone (and every modality from all), scored
    against predicting the train mean of B: :func:`mmae.evaluation.prediction_skill_score` (0 = no
    better than the mean). Self-pairs (A -> A) are left out: they are reconstruction, not prediction."""
    xte, mods = features.x["test"], features.modalities
    mean = {m: features.x["train"][m].mean(0) for m in mods}
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
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


def noise_table(zoo: Zoo, features: Features, sigmas, k: int, n_init: int = N_INIT) -> pd.DataFrame:
    """Q3: Gaussian noise of std ``sigma`` (in feature standard deviations) on one test modality:
    K-Means ARI and the accuracy of the probe fitted on clean train embeddings (all modalities)."""
    xtr, xte, ytr, yte = features.x["train"], features.x["test"], features.y["train"], features.y["test"]
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            probe = fit_linear_probe(embed(model, xtr), ytr, random_state=seed)
            for m in features.modalities:
                for sigma in sigmas:
                    z = embed(model, add_gaussian_noise(xte, m, sigma, random_state=seed))
                    rows += _rows(name, seed, {"ari": cluster_scores(z, yte, k, n_init, seed)["ari"],
                                               "probe_accuracy": float((probe(z) == yte).mean())},
                                  modality=m, sigma=float(sigma))
    return pd.DataFrame(rows)


def tagging_table(zoo: Zoo, features: Features, n_neighbors: int = 10, tops=(1, 5)) -> pd.DataFrame:
    """Q8: tags (classes) of a new asset with any subset of modalities from its ``n_neighbors``
    nearest neighbours among the labelled train assets embedded from all modalities: top-k accuracy."""
    xtr, xte, ytr, yte = features.x["train"], features.x["test"], features.y["train"], features.y["test"]
    n_classes = int(max(ytr.max(), yte.max())) + 1
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            library = embed(model, xtr)
            for subset in subsets(features.modalities):
                scores = knn_tag_scores(library, ytr, embed(model, _pick(xte, subset)), n_neighbors, n_classes=n_classes)
                rows += _rows(name, seed, {f"top{t}": top_k_accuracy(yte, scores, t) for t in tops},
                              subset=subset_name(subset), n_modalities=len(subset))
    return pd.DataFrame(rows)


def ood_table(zoo: Zoo, features: Features, n_init: int = N_INIT) -> pd.DataFrame:
    """Q6: K-Means with k = the number of OOD classes on the OOD embeddings (ARI, NMI), and OOD
    detection by the distance to the nearest in-distribution class centroid (AUROC). Empty (with
    the columns) when the data have no OOD split."""
    if "ood" not in features.x:  # an optional split: nothing to measure
        return pd.DataFrame(columns=["model", "seed", "metric", "value"])
    y_ood = features.y["ood"]
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            z_tr, z_te, z_ood = (embed(model, features.x[s]) for s in ("train", "test", "ood"))
            c = cluster_scores(z_ood, y_ood, len(np.unique(y_ood)), n_init, seed)
            rows += _rows(name, seed, {"ari": c["ari"], "nmi": c["nmi"],
                                       "auroc": ood_auroc_score(z_tr, features.y["train"], z_te, z_ood)})
    return pd.DataFrame(rows)



def headline(table: pd.DataFrame, metric: str, **where) -> pd.DataFrame:
    """One number per (model, seed): ``metric`` averaged over the rows matching ``where``."""
    t = table[table["metric"] == metric]
    for column, value in where.items():
        t = t[t[column].isin(value if isinstance(value, (list, tuple)) else [value])]
    return t.groupby(["model", "seed"], sort=False, as_index=False)["value"].mean()
