"""The comparators' own hyper-parameters, chosen on a validation slice of train, never on test.

Each compared model has one knob the paper does not fix: the MVAE's KL weight ``beta``, the
contrastive model's InfoNCE ``temperature``, the MMAE variants' alignment strength ``align`` and
modality ``dropout``. For each, every value of a small grid is trained on 80 % of the train split
(stratified by class, seeded; the grid's values as the replicas of one stacked run, each with its
own value) and scored on the other 20 %: K-Means ARI of the validation
embeddings from all modalities at k = the number of classes, the paper's question. The value with
the highest mean over seeds wins (the first on ties).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from mmae.artifacts import RESULT_CODE, resolve_dir, run_key
from mmae.data import Features
from mmae.evaluation import N_INIT, cluster_scores
from mmae.study.saved import load_table, save_table
from mmae.study.zoo import variant_config
from mmae.training import TrainConfig, encode, run_params, train_seeds

# model name -> (TrainConfig field, grid of values)
GRIDS = {
    "mvae": ("beta", (0.1, 0.5, 1.0)),
    "mvae_cross": ("beta", (0.1, 0.5, 1.0)),
    "contrastive": ("temperature", (0.05, 0.1, 0.5)),
    "mmae_align": ("align", (0.01, 0.1, 1.0)),
    "mmae_dropout": ("modality_dropout", (0.25, 0.5, 0.75)),
}


def validation_split(features: Features, share: float = 0.2, seed: int = 0) -> Features:
    """The train split cut in two, stratified by class: ``train`` (1 - ``share``) and ``test``
    (``share``, the validation slice). The test and OOD splits of ``features`` are not used."""
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share!r}")
    rng = np.random.default_rng(seed)
    y = features.y["train"]
    val = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        val[rows[:max(1, int(round(share * len(rows))))]] = True
    x = {"train": {m: a[~val] for m, a in features.x["train"].items()},
         "test": {m: a[val] for m, a in features.x["train"].items()}}
    return Features(x, {"train": y[~val], "test": y[val]}, f"{features.name}, validation slice of train",
                    features.synthetic, features.standardized)


def tune(features: Features, cfg: TrainConfig, names, seeds=(0,), n_init: int = N_INIT,
         progress: bool = False) -> pd.DataFrame:
    """Every grid value of every model of ``names`` that has one (:data:`GRIDS`), trained on the
    validation split's train part with ``cfg``'s budget: one row per model, value and seed, with
    the validation K-Means ARI. Models without a grid are skipped."""
    split = validation_split(features)
    k = split.n_classes
    rows = []
    for name in [n for n in names if n in GRIDS]:
        field, grid = GRIDS[name]
        runs = [(value, seed) for value in grid for seed in seeds]  # the whole grid trains together
        c = replace(variant_config(name, cfg, features.dims), **{field: grid[0]})
        models, _ = train_seeds(split, c, [s for _, s in runs], progress, values={field: [v for v, _ in runs]})
        for (value, seed), model in zip(runs, models):
            z = encode(model, split.x["test"])
            ari = cluster_scores(z, split.y["test"], min(k, len(z) - 1), n_init, seed)["ari"]
            rows.append({"model": name, "parameter": field, "value": value, "seed": seed, "validation_ari": ari})
    return pd.DataFrame(rows, columns=["model", "parameter", "value", "seed", "validation_ari"])


def choices(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The winning value of every model of a :func:`tune` table: ``{model: {parameter: value}}``."""
    out = {}
    for name, g in table.groupby("model", sort=False):
        means = g.groupby("value", sort=False)["validation_ari"].mean()
        out[name] = {g["parameter"].iloc[0]: float(means.idxmax())}
    return out


def tuned(features: Features, cfg: TrainConfig, names: list[str], artifacts_dir: str | Path, progress: bool = True
          ) -> dict[str, dict[str, float]]:
    """:func:`choices` of a :func:`tune` table, read from ``artifacts_dir/zoo/tuning.csv`` when
    computed by this code on these data, else computed and written there."""
    key = run_key(features.fingerprint(), {"cfg": run_params(cfg), "names": sorted(names), "grids": GRIDS}, RESULT_CODE)
    folder = resolve_dir(Path(artifacts_dir) / "zoo")
    try:
        table = load_table(folder, "tuning", key)
    except (FileNotFoundError, ValueError):
        table = tune(features, cfg, names, progress=progress)
        save_table(table, folder, "tuning", key)
    return choices(table)
