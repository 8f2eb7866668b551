"""Figures of the book: loss curves, 2-D maps of the latent (paper Figs. 3-5), metric-vs-k curves.

Every function returns the matplotlib Figure and saves it when ``path`` is given.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from mmae.atomic import book_figure
from mmae.progress import quiet_import


def embed_2d(X: np.ndarray, method: str = "tsne", random_state: int = 0, perplexity: float = 30.0,
             n_neighbors: int = 15) -> np.ndarray:
    """2-D map of ``X`` (n, d) by t-SNE (scikit-learn, PCA init) or UMAP (umap-learn) -> (n, 2).

    On few points, ``perplexity`` is capped at (n - 1) / 3 and ``n_neighbors`` at n - 1, so that
    any data set can be drawn (both methods refuse larger values).
    """
    n = len(X)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(perplexity, max((n - 1) / 3, 1.0))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=random_state).fit_transform(X)
    if method == "umap":
        umap = quiet_import("umap")  # umap imports tqdm.auto: see mmae.progress
        n_neighbors = min(n_neighbors, n - 1)
        return umap.UMAP(n_neighbors=n_neighbors, random_state=random_state, n_jobs=1).fit_transform(X)
    raise ValueError(f"method must be 'tsne' or 'umap', got {method!r}")


def plot_history(history: pd.DataFrame, path=None, title: str = "MMAE reconstruction loss"):
    """Train (solid) and test (dashed) MSE per modality and in total, per epoch (log scale)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    cols = [c for c in history if c.startswith("loss")]
    for c, color in zip(cols, sns.color_palette("deep")):
        ax.plot(history["epoch"], history[c], color=color, label=f"train {c.removeprefix('loss').strip('_') or 'total'}")
        if f"test_{c}" in history:
            ax.plot(history["epoch"], history[f"test_{c}"], color=color, ls="--")
    ax.set(xlabel="epoch", ylabel="MSE (standardised features)", yscale="log", title=title)
    ax.legend(title="solid: train, dashed: test", fontsize=8)
    return book_figure(fig, path)


def plot_embedding(E: np.ndarray, labels: np.ndarray, title: str, path=None, legend_title: str | None = None,
                   point_size: float = 3.0):
    """Scatter of a 2-D map ``E`` (n, 2) coloured by ``labels`` (legend only for a few labels)."""
    fig, ax = plt.subplots(figsize=(6.5, 6))
    values = np.unique(labels)
    palette = sns.color_palette("husl", len(values)) if len(values) > 10 else sns.color_palette("deep")
    for v, color in zip(values, palette):
        sel = labels == v
        ax.scatter(E[sel, 0], E[sel, 1], s=point_size, color=color, label=str(v), alpha=0.7, linewidths=0)
    if len(values) <= 10:
        ax.legend(title=legend_title, markerscale=4, fontsize=8)
    ax.set(title=title, xticks=[], yticks=[])
    return book_figure(fig, path)


def plot_metric_vs_k(table: pd.DataFrame, metric: str, hue: str, path=None, title: str | None = None):
    """``metric`` against k, one line per value of column ``hue`` (e.g. modality or method)."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    sns.lineplot(table, x="k", y=metric, hue=hue, marker="o", ax=ax)
    ax.set(title=title or f"{metric} against k", xticks=sorted(table["k"].unique()))
    return book_figure(fig, path)


def plot_paper_vs_here(here: pd.DataFrame, paper: pd.DataFrame, metric: str, data_name: str, path=None):
    """Grouped bars of ``metric`` per method: the paper (LUMA) next to here (``data_name``)."""
    both = pd.concat([paper.assign(source="paper: LUMA"), here.assign(source=f"here: {data_name}")])
    fig, ax = plt.subplots(figsize=(7, 3.8))
    sns.barplot(both, x="method", y=metric, hue="source", ax=ax)
    ax.set(title=f"{metric}: paper vs here", xlabel="")
    ax.legend(fontsize=8)
    return book_figure(fig, path)


def plot_seed_bars(table: pd.DataFrame, x: str, hue: str, path=None, title: str = "", ylabel: str = "value"):
    """Bars of the mean of ``value`` over seeds per ``x`` and ``hue``, error bars one std."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    sns.barplot(table, x=x, y="value", hue=hue, errorbar="sd", ax=ax, err_kws={"linewidth": 1})
    ax.set(title=title, ylabel=ylabel, xlabel="")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=7, title=None)
    return book_figure(fig, path)


def plot_seed_lines(table: pd.DataFrame, x: str, hue: str, path=None, title: str = "", ylabel: str = "value",
                    panel: str | None = None, logx: bool = False):
    """Mean of ``value`` over seeds against ``x``, one line per ``hue``, band one std; one panel
    per value of ``panel`` (e.g. the corrupted modality) when given."""
    panels = list(dict.fromkeys(table[panel])) if panel else [None]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), sharey=True, squeeze=False)
    for ax, p in zip(axes[0], panels):
        sel = table if p is None else table[table[panel] == p]
        sns.lineplot(sel, x=x, y="value", hue=hue, errorbar="sd", marker="o", ax=ax, legend=ax is axes[0, -1])
        ax.set(title=f"{panel} = {p}" if p is not None else title, ylabel=ylabel, xscale="log" if logx else "linear")
    if panel:
        fig.suptitle(title, y=1.02)
    axes[0, -1].legend(fontsize=7)
    return book_figure(fig, path)


def plot_differences(table: pd.DataFrame, path=None, title: str = "MMAE minus reference, per seed"):
    """One panel per question: ``value`` (MMAE minus its reference, one point per seed) for every
    data set, the mean as a bar; a dashed line at 0 (no difference)."""
    questions = list(dict.fromkeys(table["question"]))
    fig, axes = plt.subplots(1, len(questions), figsize=(3.3 * len(questions), 3.6), squeeze=False)
    for ax, q in zip(axes[0], questions):
        sel = table[table["question"] == q]
        sns.barplot(sel, x="data", y="value", hue="data", errorbar=None, alpha=0.4, ax=ax, legend=False)
        sns.stripplot(sel, x="data", y="value", hue="data", size=4, ax=ax, legend=False)
        ax.axhline(0, color="k", lw=0.8, ls="--")
        ax.set(title=q.split(" (")[0], xlabel="", ylabel="MMAE minus reference" if ax is axes[0, 0] else "")
        ax.title.set_fontsize(8)
        ax.tick_params(axis="x", labelsize=7, rotation=60)
    fig.suptitle(title, y=1.02)
    return book_figure(fig, path)


def plot_finetune(history: pd.DataFrame | str | Path, path=None, title: str = "VGG11-BN fine-tuning on the labels"):
    """Loss and train accuracy per epoch of :func:`mmae.luma.extract.finetune_vgg` (head-only epochs shaded)."""
    h = pd.read_csv(history) if isinstance(history, (str, Path)) else history
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, col in ((a, "loss"), (b, "accuracy")):
        ax.plot(h["epoch"], h[col], marker="o", color="0.3")
        head = h.loc[h["phase"] == "head", "epoch"]
        if len(head):
            ax.axvspan(head.min() - 0.5, head.max() + 0.5, color="C0", alpha=0.15, label="head only")
        ax.set(xlabel="epoch", ylabel=col)
    b.set_ylim(0, 1)
    a.legend(fontsize=8)
    fig.suptitle(title)
    return book_figure(fig, path)
