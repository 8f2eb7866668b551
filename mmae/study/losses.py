"""The training histories of the zoo (chapter 07): last-epoch losses and whole loss curves."""
from __future__ import annotations

import pandas as pd

from mmae.study.questions import _rows
from mmae.study.zoo import MODEL_LABELS, Zoo


def final_losses(zoo: Zoo) -> pd.DataFrame:
    """The last epoch of every trained model's history: model, seed, metric (a history column), value."""
    rows = []
    for name, histories in zoo.histories.items():
        for seed, h in zip(zoo.seeds, histories):
            last = h.iloc[-1].drop(["epoch", "seconds"])
            rows += _rows(name, seed, {k: float(v) for k, v in last.items() if k.startswith(("test_loss_", "infonce", "kl"))})
    return pd.DataFrame(rows)


def loss_curves(zoo: Zoo) -> pd.DataFrame:
    """Every trained model's history, long: model, seed, epoch, metric, value. Metrics: ``train
    MSE`` and ``test MSE`` (reconstruction from all modalities, summed over modalities; the models
    with a decoder) and ``InfoNCE`` (the contrastive model's training loss)."""
    names = {"loss": "train MSE", "test_loss": "test MSE", "infonce": "InfoNCE"}
    rows = []
    for name, histories in zoo.histories.items():
        for seed, h in zip(zoo.seeds, histories):
            for column in [c for c in names if c in h]:
                rows += [{"model": name, "seed": seed, "epoch": int(e), "metric": names[column], "value": float(v)}
                         for e, v in zip(h["epoch"], h[column])]
    return pd.DataFrame(rows, columns=["model", "seed", "epoch", "metric", "value"])


def weighting_effect(final: pd.DataFrame, base: str = "mmae", other: str = "mmae_dimweighted") -> str:
    """A sentence per modality: the test MSE of ``other`` relative to ``base`` (means over seeds)."""
    means = final.groupby(["model", "metric"])["value"].mean()
    if base not in means.index.get_level_values(0) or other not in means.index.get_level_values(0):
        return f"(needs both {base!r} and {other!r} in `models`)"
    parts = []
    for metric in [m for m in means[base].index if m.startswith("test_loss_")]:
        b, o = means[base][metric], means[other][metric]
        parts.append(f"- {metric.removeprefix('test_loss_')}: test MSE {b:.3f} ({MODEL_LABELS[base]}) -> "
                     f"{o:.3f} ({MODEL_LABELS[other]}), x{o / b:.2f}")
    return "\n".join(parts)
