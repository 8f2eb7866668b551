"""The comparators' own hyper-parameters, chosen on a validation slice of train, never on test.

Each compared model has one knob the paper does not fix: the MVAE's KL weight ``beta``, the
contrastive model's InfoNCE ``temperature``, the MMAE variants' alignment strength ``align`` and
modality ``dropout``. For each, every value of a small grid is trained on 80 % of the train split
(stratified by class, seeded; the grid's values as the replicas of one stacked run, each with its
own value) and scored on the other 20 %: K-Means ARI of the validation
embeddings from all modalities at k = the number of classes, the paper's question. The value with
the highest mean over seeds wins. A tie at the top is no signal (the LUMA-shaped real set's
validation ARIs of the contrastive model are all 1.000 at 20 epochs): then the value the model
takes untuned wins when it is among the tied, else the first of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmae import cluster
from mmae.artifacts import RESULT_CODE, resolve_dir, run_key
from mmae.data import Features
from mmae.evaluation import N_INIT
from mmae.study.questions import cluster_many
from mmae.study.saved import cached_table
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


@dataclass(frozen=True)
class Validation:
    """The train split cut in two, stratified by class: ``fit``, the features a grid trains on
    (its ``train`` split only), and the held-out slice, ``x`` (modality -> rows) and ``y``."""

    fit: Features
    x: dict[str, np.ndarray]
    y: np.ndarray


def validation_split(features: Features, share: float = 0.2, seed: int = 0) -> Validation:
    """:class:`Validation` of ``features``' train split, ``share`` of every class held out (at
    least one row). The test and OOD splits of ``features`` are never used."""
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share!r}")
    rng = np.random.default_rng(seed)
    y = features.y["train"]
    val = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        val[rows[:max(1, int(round(share * len(rows))))]] = True
    fit = Features({"train": {m: a[~val] for m, a in features.x["train"].items()}}, {"train": y[~val]},
                   f"{features.name}, train without its validation slice", features.synthetic, features.standardized)
    return Validation(fit, {m: a[val] for m, a in features.x["train"].items()}, y[val])


def tune(features: Features, cfg: TrainConfig, names, seeds=(0,), n_init: int = N_INIT,
         progress: bool = False) -> pd.DataFrame:
    """Every grid value of every model of ``names`` that has one (:data:`GRIDS`), trained on the
    validation split's train part with ``cfg``'s budget: one row per model, value and seed, with
    the validation K-Means ARI. Models without a grid are skipped; each model's grid is one task
    of :func:`mmae.cluster.run`."""
    jobs = [(name, cfg, tuple(seeds), n_init) for name in names if name in GRIDS]
    rows = cluster.run(_tune_one, jobs, shared=validation_split(features), desc="tuning grids", progress=progress)
    return pd.DataFrame([r for part in rows for r in part], columns=["model", "parameter", "value", "untuned",
                                                                     "seed", "validation_ari"])


def _tune_one(split: Validation, job: tuple) -> list[dict]:
    """The rows of :func:`tune` for one model, ``job = (name, cfg, seeds, n_init)``: its whole grid
    trained together, as the replicas of one run, then scored on the validation slice."""
    name, cfg, seeds, n_init = job
    field, grid = GRIDS[name]
    runs = [(value, seed) for value in grid for seed in seeds]
    c = variant_config(name, cfg, split.fit.dims, knobs={field: grid[0]})
    untuned = getattr(variant_config(name, cfg, split.fit.dims).knobs, field)  # the value without tuning
    models, _ = train_seeds(split.fit, c, [s for _, s in runs], False, values={field: [v for v, _ in runs]})
    Z = [encode(model, split.x) for model in models]
    k = min(split.fit.n_classes, len(split.y) - 1)
    # every K-Means of the grid at once in the batched engine (1.3 s a problem one by one with
    # scikit-learn against 0.2 s batched: 4,200 x 128, k = 42, 10 restarts, 2-core CPU)
    scores = cluster_many(Z, split.y, k, n_init, [seed for _, seed in runs], device=cfg.runtime.device)
    return [{"model": name, "parameter": field, "value": value, "untuned": value == untuned, "seed": seed,
             "validation_ari": s["ari"]} for (value, seed), s in zip(runs, scores)]


def choices(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The winning value of every model of a :func:`tune` table: ``{model: {parameter: value}}``;
    on a tie at the top, the untuned value when it is among the tied (a tie is no signal to move
    it), else the first of them."""
    out = {}
    for name, g in table.groupby("model", sort=False):
        means = g.groupby("value", sort=False)["validation_ari"].mean()
        top = [v for v, m in means.items() if m == means.max()]
        untuned = set(g.loc[g["untuned"].astype(bool), "value"]) if "untuned" in g else set()
        out[name] = {g["parameter"].iloc[0]: float(next((v for v in top if v in untuned), top[0]))}
    return out


def tuned(features: Features, cfg: TrainConfig, names: list[str], artifacts_dir: str | Path, progress: bool = True
          ) -> dict[str, dict[str, float]]:
    """:func:`choices` of a :func:`tune` table, read from ``artifacts_dir/zoo/tuning.csv`` when
    computed by this code on these data and whole, else computed and written there (a table cut
    short or edited is reported with a warning naming it, then computed again:
    :func:`mmae.study.saved.cached_table`)."""
    key = run_key(features.fingerprint(), {"cfg": run_params(cfg), "names": sorted(names), "grids": GRIDS}, RESULT_CODE)
    folder = resolve_dir(Path(artifacts_dir) / "zoo")
    table = cached_table(folder, "tuning", key, lambda: tune(features, cfg, names, progress=progress))
    return choices(table)
