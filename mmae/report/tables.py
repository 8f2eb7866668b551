"""Tables for the reader: mean ± std over seeds, models by their labels, the scorecard, and what
the data are (a summary table and a banner)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mmae.data import Features
from mmae.study.questions import headline
from mmae.study.zoo import MODEL_LABELS


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


def spread(table: pd.DataFrame, by: list[str], index: tuple[str, ...] = ("model",), digits: int = 3) -> pd.DataFrame:
    """``mean ± std`` over seeds of every metric: ``index`` as rows (models in the zoo's order, by
    their labels), ``by`` and the metric as columns."""
    s = mean_std(table, [*index, *by, "metric"])
    s["value"] = [format_mean_std(m, sd, digits) for m, sd in zip(s["mean"], s["std"])]
    if "model" in s:
        s["model"] = s["model"].map(MODEL_LABELS).fillna(s["model"])
    columns = [*by, "metric"]
    wide = s.pivot(index=list(index), columns=columns, values="value")
    order = list(dict.fromkeys(zip(*[s[c] for c in columns]))) if len(columns) > 1 else list(dict.fromkeys(s["metric"]))
    rows = list(dict.fromkeys(zip(*[s[c] for c in index]))) if len(index) > 1 else list(dict.fromkeys(s[index[0]]))
    return wide.reindex(index=rows, columns=order)



def labelled(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the model names of :data:`MODEL_LABELS` (for figure legends)."""
    return table.assign(model=table["model"].map(MODEL_LABELS).fillna(table["model"]))


def pair_mean(table: pd.DataFrame, over: list[str]) -> pd.DataFrame:
    """Average ``value`` over the columns ``over`` (e.g. the 6 modality pairs) per model, seed, metric."""
    keep = [c for c in table.columns if c not in (*over, "value")]
    return table.groupby(keep, sort=False, as_index=False)["value"].mean()




def scorecard(tables: dict[str, pd.DataFrame], modalities, digits: int = 3) -> pd.DataFrame:
    """One row per question, one column per model: the headline number of each chapter as
    ``mean ± std`` over seeds ("n/a" where a model cannot answer, e.g. decoding without a decoder)."""
    noise_max = tables["noise"]["sigma"].max()
    top = max((int(m[3:]) for m in tables["tagging"].get("metric", pd.Series(dtype=str)).unique() if m != "top1"),
              default=5)  # top-5, or every class when there are fewer (mmae.study.questions.top_k)
    M = len(modalities)
    pairs, partial, partial_sizes = M * (M - 1), 2 ** M - 2, list(range(1, M))
    rows = [  # (label, table, metric, filter)
        (f"retrieval mAP, mean of {pairs} modality pairs", "retrieval", "map", {}),
        (f"retrieval recall@10, mean of {pairs} pairs", "retrieval", "recall@10", {}),
        ("K-Means ARI, all modalities", "subsets", "ari", {"n_modalities": M}),
        (f"K-Means ARI, mean of {partial} partial subsets", "subsets", "ari", {"n_modalities": partial_sizes}),
        ("linear probe accuracy, all modalities", "subsets", "probe_accuracy", {"n_modalities": M}),
        (f"linear probe accuracy, mean of {partial} partial subsets", "subsets", "probe_accuracy",
         {"n_modalities": partial_sizes}),
        (f"cross-modal prediction skill, mean of {pairs} pairs", "cross_modal", "skill", {"source": list(modalities)}),
        (f"K-Means ARI, one modality at noise sigma {noise_max:g}", "noise", "ari", {"sigma": noise_max}),
        (f"probe accuracy, one modality at noise sigma {noise_max:g}", "noise", "probe_accuracy", {"sigma": noise_max}),
        (f"tagging top-1, mean of {partial + 1} subsets", "tagging", "top1", {}),
        (f"tagging top-{top}, mean of {partial + 1} subsets", "tagging", f"top{top}", {}),
        ("OOD clustering ARI (k = number of OOD classes)", "ood", "ari", {}),
        ("OOD detection AUROC", "ood", "auroc", {}),
    ]
    names = list(dict.fromkeys(pd.concat([t["model"] for t in tables.values() if "model" in t])))
    card = pd.DataFrame("n/a", index=[r[0] for r in rows], columns=[MODEL_LABELS.get(n, n) for n in names])
    for label, question, metric, where in rows:
        if tables[question].empty:  # no model could answer (no decoder, no OOD split)
            continue
        h = headline(tables[question], metric, **where)
        for name, g in h.groupby("model", sort=False):
            card.loc[label, MODEL_LABELS.get(name, name)] = format_mean_std(g["value"].mean(), g["value"].std(), digits)
    return card




def summary_table(features: Features):
    """One row per split x modality: rows, dim, classes, mean, std (a pandas DataFrame)."""
    rows = [dict(split=s, modality=m, rows=a.shape[0], dim=a.shape[1],
                 classes=len(np.unique(features.y[s])), mean=float(a.mean()), std=float(a.std()))
            for s in features.splits for m, a in features.x[s].items()]
    return pd.DataFrame(rows)


def banner(features: Features) -> str:
    """A Markdown sentence saying what the data are, and loudly when they are not LUMA."""
    shape = (f"{features.n_classes} in-distribution classes, modalities "
             + ", ".join(f"{m} {d}-D" for m, d in features.dims.items())
             + (f", {len(np.unique(features.y['ood']))} OOD classes" if "ood" in features.y else ", no OOD split"))
    if features.synthetic:
        return (f"**Data: {features.name}.** These are *synthetic* features generated by "
                f"`mmae.data.synthetic` ({shape}). Every number computed on them describes this synthetic "
                "set, **not** a reproduction of the paper.")
    if features.is_luma:
        return f"**Data: {features.name}** ({shape}), built from LUMA by `mmae.luma`."
    return (f"**Data: {features.name}** ({shape}). These are not LUMA: numbers computed on them "
            "test whether the paper's claims hold on other media, and are never a reproduction of its tables.")
