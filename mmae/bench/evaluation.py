"""Evaluation speed, side by side in one run: the question tables of chapters 08-12 computed by
today's path (``engine="reference"``: scikit-learn's ``KMeans``, one LBFGS probe, one ranking at a
time) and by the batched engine (:mod:`mmae.evaluation.batched`, :mod:`mmae.evaluation.neighbours`),
on one zoo like the book's (every model of :data:`mmae.study.MODEL_LABELS`, tuned on validation;
``--seeds`` seeds, 5 by default where the book trains 3), with what the two engines' numbers differ by.
"""
from __future__ import annotations

import time

import pandas as pd

from mmae import study
from mmae.device import pick_device
from mmae.evaluation import N_INIT
from mmae.training import make_config

CHAPTERS = {  # chapter: (its question tables, a call of each with the engine and device)
    "08 retrieval": ("retrieval", lambda z, f, e, d: study.retrieval_table(z, f, engine=e, device=d)),
    "09 missing modalities": ("subsets", lambda z, f, e, d: study.subset_table(z, f, f.n_classes, N_INIT, e, d)),
    "10 noise": ("noise", lambda z, f, e, d: study.noise_table(z, f, [0.0, 0.5, 1.0, 2.0], f.n_classes, N_INIT, e, d)),
    "11 tagging": ("tagging", lambda z, f, e, d: study.tagging_table(z, f, engine=e, device=d)),
    "12 OOD": ("ood", lambda z, f, e, d: study.ood_table(z, f, N_INIT, e, d)),
}


def run(data: str = "real", epochs: int = 5, seeds: int = 5, device: str = "auto", artifacts_dir: str = "artifacts",
        tiny: bool = False) -> tuple[pd.DataFrame, dict]:
    """Time every chapter's tables with both engines, reference first, on one zoo.

    ``tiny``: two models, two seeds, one epoch, latent 8 (proves it runs). The zoo is loaded from
    ``artifacts_dir/zoo`` when the book trained it with these parameters, else trained there.

    Returns
    -------
    table : pandas.DataFrame
        One row per chapter: ``reference_s``, ``batched_s``, ``speedup``, and ``max_abs_diff`` and
        ``mean_abs_diff``, the largest and the mean difference of a number between the engines, per
        metric (dicts).
    info : dict
    """
    names = ["mmae", "fusion_pca"] if tiny else list(study.MODEL_LABELS)
    cfg = make_config(epochs=1 if tiny else epochs, latent_dim=8 if tiny else 128, device=device)
    seed_list = list(range(2 if tiny else seeds))
    t0 = time.perf_counter()
    features, zoo, _ = study.prepare(data, 0, cfg, seed_list, names, artifacts_dir, progress=False, tune=not tiny)
    prepare_s = time.perf_counter() - t0
    dev = str(pick_device(device))
    rows = []
    for chapter, (question, table) in CHAPTERS.items():
        timed = {}
        for engine in ("reference", "batched"):
            t = time.perf_counter()
            timed[engine] = (table(zoo, features, engine, dev), time.perf_counter() - t)
        (ref, ref_s), (new, new_s) = timed["reference"], timed["batched"]
        gaps = (new["value"] - ref["value"]).abs().groupby(new["metric"])
        rows.append({"chapter": chapter, "question": question, "problems": len(ref) // max(ref["metric"].nunique(), 1),
                     "reference_s": ref_s, "batched_s": new_s, "speedup": ref_s / new_s,
                     "max_abs_diff": {m: round(float(v), 6) for m, v in gaps.max().items()},
                     "mean_abs_diff": {m: round(float(v), 6) for m, v in gaps.mean().items()}})
    table = pd.DataFrame(rows).set_index("chapter")
    total = table[["reference_s", "batched_s"]].sum()
    info = {"data": features.name, "fingerprint": features.fingerprint(), "device": dev,
            "models": names, "seeds": seed_list, "epochs": cfg.optim.epochs, "n_train": int(len(features.y["train"])),
            "n_test": int(len(features.y["test"])), "n_classes": int(features.n_classes), "n_init": N_INIT,
            "zoo_prepare_s": prepare_s, "total_reference_s": float(total["reference_s"]),
            "total_batched_s": float(total["batched_s"]), "batched_share": float(total["batched_s"] / total["reference_s"])}
    return table, info


def report(table: pd.DataFrame, info: dict) -> str:
    """The table and its context as text."""
    shown = table.drop(columns="mean_abs_diff").assign(max_abs_diff=table["max_abs_diff"].map(
        lambda d: ", ".join(f"{m} {v:.2g}" for m, v in d.items())))
    return (f"{info['data']} ({info['n_train']} train / {info['n_test']} test rows, {info['n_classes']} classes); "
            f"{len(info['models'])} models x {len(info['seeds'])} seeds; K-Means n_init {info['n_init']}; device "
            f"{info['device']}\n\n"
            + shown.to_string(formatters={"reference_s": "{:.1f}".format, "batched_s": "{:.1f}".format,
                                          "speedup": "{:.1f}x".format})
            + f"\n\nchapters 08-12: {info['total_reference_s']:.1f} s today, {info['total_batched_s']:.1f} s batched "
              f"({info['batched_share']:.0%} of today's)")

