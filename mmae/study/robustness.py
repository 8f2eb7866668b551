"""Which conclusions survive a change of data: the book's headline questions on several data sets.

Each question compares the MMAE with a reference, per training seed, on one data set:

- ``linear``: K-Means ARI (k = the number of classes) of the MMAE's fused latent against the best
  linear baseline of the same seed (PCA of each modality, and the fusion PCA), the best chosen on
  test, which favours the baseline;
- ``contrastive``: the same ARI against the contrastive model's;
- ``retrieval``: do the MMAE's encoders agree? Cross-modal retrieval mAP (mean over the ordered
  pairs of modalities, relevant = same class) against chance, the mAP of a random ranking;
- ``missing``: the MMAE fed one modality against PCA of that modality alone (ARI, mean over the
  modalities): does joint training help when the other modalities are missing?
- ``ood``: OOD detection AUROC (distance to the nearest class centroid) of the MMAE against the
  fusion PCA; not measured when the data have no OOD split.

:func:`mmae.report.findings.verdicts` turns the measurements of several data sets into one table,
questions as rows, data sets as columns, each cell a verdict with its seed spread;
:func:`mmae.report.findings.survival` says which verdicts hold on every data set.
"""
from __future__ import annotations

import contextlib
import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mmae import cluster
from mmae.artifacts import RESULT_CODE, run_key, writable_dir
from mmae.folders import folder_lock
from mmae.baselines import PCA_DIMS, pca_project
from mmae.data import Features, load_features, standardize
from mmae.evaluation import N_INIT, ood_auroc_score
from mmae.evaluation.neighbours import retrieval_scores_many
from mmae.study.questions import cluster_many
from mmae.study.saved import cached_table
from mmae.study.tuning import GRIDS, tuned
from mmae.study.zoo import Zoo, embed, fit, load_or_train_zoo, pending, zoo_key
from mmae.training import TrainConfig

MODELS = ["mmae", "contrastive", "fusion_pca"]  # the zoo :func:`measure` needs
QUESTION_LABELS = {
    "linear": "MMAE vs the best linear baseline (K-Means ARI)",
    "contrastive": "MMAE vs the contrastive model (K-Means ARI)",
    "retrieval": "Do the MMAE's encoders agree? (retrieval mAP vs chance)",
    "missing": "One modality left: MMAE vs that modality's PCA (ARI)",
    "ood": "OOD detection: MMAE vs fusion PCA (AUROC)",
}


def chance_map(y_query: np.ndarray, y_gallery: np.ndarray) -> float:
    """Expected mAP of a random ranking, to first order: the mean share of the gallery that is
    relevant to a query (same class). 1 / (number of classes) for balanced classes."""
    share = pd.Series(y_gallery).value_counts(normalize=True)
    return float(share.reindex(y_query).fillna(0.0).mean())


def measure(features: Features, zoo: Zoo, n_init: int = N_INIT, device="auto") -> pd.DataFrame:
    """Every question of :data:`QUESTION_LABELS` on ``features`` (standardised) with the models of
    ``zoo`` (it must hold :data:`MODELS`): one row per question, seed and side (``"mmae"`` or
    ``"reference"``) with its value, and ``reference``, what the MMAE was compared with. Every
    K-Means of every seed runs at once in the batched engine (:func:`mmae.study.questions.cluster_many`)
    on ``device``."""
    missing = [n for n in MODELS if n not in zoo.models]
    if missing:
        raise ValueError(f"zoo: robustness needs the models {MODELS}; missing {missing}")
    xtr, xte, ytr, yte = features.x["train"], features.x["test"], features.y["train"], features.y["test"]
    mods, k = features.modalities, features.n_classes
    rows = []

    def add(question, seed, mmae, reference, what):
        rows.extend([{"question": question, "seed": seed, "side": "mmae", "value": float(mmae), "reference": what},
                     {"question": question, "seed": seed, "side": "reference", "value": float(reference),
                      "reference": what}])

    embedded = []  # (seed, name, test embedding) of every K-Means problem, clustered together below
    for i, seed in enumerate(zoo.seeds):
        mmae, contrastive, fusion = (zoo.models[n][i] for n in MODELS)
        embedded += [(seed, m, pca_project(xtr[m], xte[m], PCA_DIMS.get(m, 50), seed)) for m in mods]
        embedded += [(seed, "fusion PCA", embed(fusion, xte)), (seed, "mmae", embed(mmae, xte)),
                     (seed, "contrastive", embed(contrastive, xte))]
        embedded += [(seed, f"mmae from {m}", embed(mmae, {m: xte[m]})) for m in mods]
    scores = cluster_many([z for _, _, z in embedded], yte, k, n_init, [s for s, _, _ in embedded], device=device)
    ari = {(seed, name): c["ari"] for (seed, name, _), c in zip(embedded, scores)}
    for i, seed in enumerate(zoo.seeds):
        mmae, fusion = zoo.models["mmae"][i], zoo.models["fusion_pca"][i]
        pca = {m: ari[seed, m] for m in mods}
        baselines = pca | {"fusion PCA": ari[seed, "fusion PCA"]}
        best = max(baselines, key=baselines.get)
        fused = ari[seed, "mmae"]
        add("linear", seed, fused, baselines[best], f"best linear baseline ({best})")
        add("contrastive", seed, fused, ari[seed, "contrastive"], "contrastive model")
        emb = {m: embed(mmae, {m: xte[m]}) for m in mods}
        pairs = list(itertools.permutations(mods, 2))  # one problem at a time: each scores its distinct queries once
        maps = [retrieval_scores_many([emb[a]], [emb[b]], yte, yte)[0]["map"] for a, b in pairs]
        add("retrieval", seed, np.mean(maps), chance_map(yte, yte), "chance")
        add("missing", seed, np.mean([ari[seed, f"mmae from {m}"] for m in mods]), np.mean(list(pca.values())),
            "PCA of the same modality")
        if "ood" in features.x:
            z_tr, z_ood = embed(mmae, xtr), embed(mmae, features.x["ood"])
            f_tr, f_te, f_ood = (embed(fusion, features.x[s]) for s in ("train", "test", "ood"))
            add("ood", seed, ood_auroc_score(z_tr, ytr, embed(mmae, xte), z_ood),
                ood_auroc_score(f_tr, ytr, f_te, f_ood), "fusion PCA")
    return pd.DataFrame(rows, columns=["question", "seed", "side", "value", "reference"])


def differences(measured: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """MMAE minus reference per data set, question and seed (columns data, question, seed, value),
    the numbers behind every cell of :func:`verdicts`, for a figure."""
    rows = []
    for name, table in measured.items():
        wide = table.pivot_table(index=["question", "seed"], columns="side", values="value").reset_index()
        wide["value"] = wide["mmae"] - wide["reference"]
        rows.append(wide.assign(data=name)[["data", "question", "seed", "value"]])
    out = pd.concat(rows, ignore_index=True)
    order = {q: i for i, q in enumerate(QUESTION_LABELS)}  # the questions in the book's order
    out = out.sort_values("question", key=lambda q: q.map(order), kind="stable", ignore_index=True)
    return out.assign(question=out["question"].map(QUESTION_LABELS))


def calibration(features: dict[str, Features], n_init: int = N_INIT) -> pd.DataFrame:
    """The Table II check of data sets of LUMA's shape: K-Means ARI at k = 42 of PCA of each
    modality (the paper's protocol), one column per data set, and the paper's ARI beside them."""
    from mmae.baselines import single_modality_table
    from mmae.paper import TABLE2, TABLE2_K

    out = TABLE2.set_index("modality")[["ari"]].rename(columns={"ari": "paper (LUMA)"})
    for name, f in features.items():
        t = single_modality_table(f, ks=[TABLE2_K], n_init=n_init)
        out[name] = t.set_index("modality")["ari"].round(3)
    out.index.name = f"ARI at k = {TABLE2_K}"
    return out


def folder_name(data: str) -> str:
    """The artifacts sub-folder of one data set: ``"synthetic:low_snr"`` -> ``"synthetic-low_snr"``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(data)).strip("-.") or "data"


def run(data: str, cfg: TrainConfig, seeds: list[int], artifacts_dir: str | Path, n_init: int = N_INIT,
        tune: bool = True, data_seed: int = 0, environ: bool = False, progress: bool = True,
        features: Features | None = None) -> tuple[Features, pd.DataFrame, dict]:
    """Load ``data`` (``environ`` False: ``"real"`` is the committed set whatever ``MMAE_DATA``
    says; or take its standardised ``features``), train or load :data:`MODELS` with ``cfg`` (their
    knobs chosen on validation when ``tune``), and :func:`measure` them. Models and the table are
    cached in :func:`folder` under keys of code, data and parameters; a cached table cut short or
    edited is reported with a warning naming it, then measured again
    (:func:`mmae.study.saved.cached_table`).
    Returns the standardised features, the :func:`measure` table and the tuned choices."""
    if features is None:
        features = standardize(load_features(data, seed=data_seed, environ=environ))
    out = folder(artifacts_dir, data)
    with folder_lock(out):  # one writer per data set's folder
        chosen = tuned(features, cfg, MODELS, out, progress) if tune else {}
        table = _measured(features, cfg, seeds, out, n_init, chosen, progress)
    return features, table, chosen


def _measured(features: Features, cfg: TrainConfig, seeds: list[int], out: Path, n_init: int, chosen: dict,
              progress: bool) -> pd.DataFrame:
    """The :func:`measure` table of the zoo of ``chosen``: cached under a key of the zoo's code,
    data and parameters, which needs no model; the zoo is loaded (or trained) only to measure."""
    key = run_key(zoo_key(features, cfg, seeds, MODELS, chosen), {"n_init": n_init}, RESULT_CODE)
    return cached_table(out, "robustness", key, lambda: measure(
        features, load_or_train_zoo(features, cfg, seeds, MODELS, out, progress, chosen), n_init, cfg.runtime.device))


def folder(artifacts_dir: str | Path, data: str) -> Path:
    """Where the models and tables of one data set are kept: ``artifacts_dir/robustness/{name}/``."""
    return writable_dir(Path(artifacts_dir) / "robustness" / folder_name(data))


def run_all(jobs: list[tuple[str, TrainConfig, bool]], seeds: list[int], artifacts_dir: str | Path,
            n_init: int = N_INIT, tune: bool = True, data_seed: int = 0, progress: bool = True
            ) -> list[tuple[Features, pd.DataFrame, dict]]:
    """:func:`run` of every ``(data, cfg, environ)`` of ``jobs``, its work spread over
    :func:`mmae.cluster.run` in three rounds of tasks, each one per data set and model: the
    tuning and the models that need none, then the models trained with the tuned knobs, then the
    measurements. The results in the order of ``jobs``, what :func:`run` returns of each."""
    sets = [(d, c, standardize(load_features(d, seed=data_seed, environ=e)), folder(artifacts_dir, d))
            for d, c, e in jobs]
    shared = ([f for _, _, f, _ in sets], list(seeds), n_init)
    with contextlib.ExitStack() as stack:
        for _, _, _, out in sets:
            stack.enter_context(folder_lock(out))  # this process writes for every data set's folder
        first = [("tune", i, (c, out)) for i, (_, c, _, out) in enumerate(sets) if tune]
        first += [("fit", i, job) for i, (_, c, f, out) in enumerate(sets)
                  for job in pending(f, c, seeds, [n for n in MODELS if not tune or n not in GRIDS], out)]
        cluster.run(_round, first, shared=shared, desc="tuning, models", progress=progress)
        chosen = [tuned(f, c, MODELS, out, False) if tune else {} for _, c, f, out in sets]
        second = [("fit", i, job) for i, (_, c, f, out) in enumerate(sets)
                  for job in pending(f, c, seeds, MODELS, out, chosen[i])]
        cluster.run(_round, second, shared=shared, desc="tuned models", progress=progress)
        third = [("measure", i, (c, out, chosen[i])) for i, (_, c, _, out) in enumerate(sets)]
        cluster.run(_round, third, shared=shared, desc="measurements", progress=progress)
        return [run(d, c, seeds, artifacts_dir, n_init, tune, data_seed, progress=False, features=f)
                for d, c, f, _ in sets]


def _round(shared: tuple, task: tuple) -> None:
    """A task of :func:`run_all`: one data set's tuning, one model's training or one measurement,
    left in the data set's folder for :func:`run` to load. ``shared``: (the standardised features
    of every data set, seeds, n_init)."""
    (what, i, args), (features, seeds, n_init) = task, shared
    if what == "measure":
        cfg, out, chosen = args
        _measured(features[i], cfg, seeds, out, n_init, chosen, False)
    elif what == "tune":
        cfg, out = args
        tuned(features[i], cfg, MODELS, out, False)
    else:
        fit(features[i], args)


def luma_sized(spec: str) -> bool:
    """Whether a data set has LUMA's size (the LUMA-shaped real set, the synthetic sets): chapter 15
    trains those for fewer epochs, so that every set gets about as many steps."""
    return spec in ("real", "real:tiny50") or spec.startswith("synthetic")


def _label(spec: str) -> str:
    if spec in ("real", "real:tiny50"):
        return "real, 42 classes"
    if spec == "real:cifar10":
        return "real, 8 classes"
    if spec.startswith("synthetic"):
        return "synthetic: " + (spec.partition(":")[2] or "nuisance")
    return f"yours: {Path(spec).name}"


def columns(data: str, data_sets: list[str]) -> pd.DataFrame:
    """The data sets compared: ``data_sets`` (``"real"`` always the committed set), then ``data``
    when it is another one (a bundle folder, or ``"real"`` while ``MMAE_DATA`` names a bundle).
    Columns label, spec (for :func:`mmae.data.load_features`) and environ."""
    import os

    if isinstance(data_sets, str) or not data_sets:
        raise ValueError(f"data_sets must be a non-empty list of data names, got {data_sets!r}")
    rows = [(_label(d), d, False) for d in dict.fromkeys(data_sets)]
    env = os.environ.get("MMAE_DATA") if str(data) == "real" else None
    if env:
        rows.append((_label(env), "real", True))
    elif str(data) not in data_sets:
        rows.append((_label(str(data)), str(data), True))
    return pd.DataFrame(rows, columns=["label", "spec", "environ"])


def data_table(features: dict[str, Features], epochs: dict[str, int], chosen: dict[str, dict]) -> pd.DataFrame:
    """What every column is: the data's name, classes, rows per split, training epochs and the
    contrastive temperature chosen on validation (the default when not tuned)."""
    rows = []
    for label, f in features.items():
        t = chosen.get(label, {}).get("contrastive", {}).get("temperature")
        rows.append({"data set": label, "what": f.name, "classes": f.n_classes,
                     **{f"{s} rows": len(f.y[s]) if s in f.y else 0 for s in ("train", "test", "ood")},
                     "epochs": epochs[label], "temperature": "default" if t is None else t})
    return pd.DataFrame(rows).set_index("data set")
