"""Findings as sentences computed from the tables of a run, so that no result is typed into prose.

Every function returns Markdown that is true of whatever data the tables were computed on: it
names the data, compares numbers with their spread over seeds ("above", "below", "within the
spread of"), and says nothing a table does not show.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mmae.evaluation.checks import leader
from mmae.report.tables import format_mean_std
from mmae.study.questions import headline
from mmae.study.robustness import QUESTION_LABELS
from mmae.study.zoo import MODEL_LABELS


def verdict(a, b) -> str:
    """"above", "below" or "within the spread of": ``a`` against ``b``, each one value or the
    per-seed values of a method. Within means the means differ by no more than the larger std;
    a NaN on either side (a score that could not be computed) reads "not comparable (no signal)".

    Examples
    --------
    >>> verdict([0.5, 0.7], [0.1, 0.1]), verdict([0.5, 0.7], [0.55, 0.65]), verdict(0.2, 0.3)
    ('above', 'within the spread of', 'below')
    >>> verdict(float("nan"), 0.3)
    'not comparable (no signal)'
    """
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    if np.isnan(a).any() or np.isnan(b).any():
        return NO_SIGNAL
    spread = max(a.std(ddof=1) if len(a) > 1 else 0.0, b.std(ddof=1) if len(b) > 1 else 0.0)
    if abs(a.mean() - b.mean()) <= spread:
        return "within the spread of"
    return "above" if a.mean() > b.mean() else "below"


NO_SIGNAL = "not comparable (no signal)"


def _label(name: str) -> str:
    return MODEL_LABELS.get(name, name)


def _per_model(table: pd.DataFrame, metric: str, **where) -> dict[str, np.ndarray]:
    h = headline(table, metric, **where)
    return {name: g["value"].to_numpy() for name, g in h.groupby("model", sort=False)}


def ranking(table: pd.DataFrame, metric: str, data_name: str, what: str, chance: float | None = None,
            **where) -> str:
    """Which model scores best on ``metric`` (a long table of chapters 08-12, averaged over the
    rows matching ``where``), and where the MMAE stands against it and against the fusion PCA."""
    scores = _per_model(table, metric, **where)
    if not scores:
        return f"On {data_name}, no model answers this question."
    best = leader({n: v.mean() for n, v in scores.items()})
    if best is None:
        listed = ", ".join(f"{_label(n)} {v.mean():.3f}" for n, v in scores.items())
        return f"On {data_name}, no model stands out on {what} ({listed}): no signal to rank them."
    parts = [f"On {data_name}, the best {what} is the {_label(best)}'s ({scores[best].mean():.3f})"]
    if "mmae" in scores and best != "mmae":
        parts.append(f"the MMAE's ({scores['mmae'].mean():.3f}) is {verdict(scores['mmae'], scores[best])} it")
    if "mmae" in scores and "fusion_pca" in scores:
        parts.append(f"the MMAE is {verdict(scores['mmae'], scores['fusion_pca'])} the fusion PCA baseline "
                     f"({scores['fusion_pca'].mean():.3f})")
    if chance is not None:
        parts.append(f"chance is about {chance:.3f}")
    return "; ".join(parts) + "."


def reconstruction(history: pd.DataFrame, data_name: str) -> str:
    """Chapter 3: which modalities the MMAE reconstructs well at the last epoch (test MSE of
    standardised features: 1 is no better than predicting the mean)."""
    last = history.iloc[-1]
    mse = {c.removeprefix("test_loss_"): float(last[c]) for c in history.columns if c.startswith("test_loss_")}
    best, worst = min(mse, key=mse.get), max(mse, key=mse.get)
    near_mean = [m for m, v in mse.items() if v >= 0.9]
    text = (f"On {data_name}, after {int(last['epoch'])} epochs the MMAE reconstructs **{best}** best "
            f"(test MSE {mse[best]:.3f}) and **{worst}** worst ({mse[worst]:.3f}).")
    if near_mean:
        text += (" Near the mean (MSE >= 0.9 of standardised features): "
                 + ", ".join(f"**{m}**" for m in near_mean) + ".")
    return text


def fused_vs_each(per_modality: pd.DataFrame, k: int, data_name: str) -> str:
    """Chapter 4: K-Means ARI at ``k`` of the fused latent against each modality's own encoding."""
    at = per_modality[per_modality["k"] == k].set_index("latent")["ari"]
    fused = at.pop("fused z")
    best = leader(at)
    if best is None:
        return (f"On {data_name} at k = {k}, K-Means on the fused latent reaches ARI {fused:.3f}; the single "
                f"modalities' own encodings ({', '.join(f'{m} {v:.3f}' for m, v in at.items())}) give no single "
                "best one to compare it with: no signal.")
    return (f"On {data_name} at k = {k}, K-Means on the fused latent reaches ARI {fused:.3f}, "
            f"{verdict(fused, at[best])} the best single modality's own encoding ({best}, {at[best]:.3f}); "
            f"the weakest encoding is {at.idxmin()} ({at.min():.3f}).")


def summary(here: pd.DataFrame, reported: pd.DataFrame, data_name: str, k: int) -> str:
    """Chapter 6: the paper's two headline orderings (the MMAE above every linear baseline, the
    single modalities' order) checked on these data, as Markdown bullets."""
    h, p = here.set_index("method")["ari"], reported.set_index("method")["ari"]
    linear_here = leader(h.drop("MMAE"))
    if linear_here is None:
        return (f"- On {data_name}, no linear baseline stands out (ARI at k = {k}: "
                + ", ".join(f"{m} {v:.3f}" for m, v in h.items()) + "): no signal to compare the MMAE with.")
    lines = [f"- **MMAE against the best linear baseline** (ARI at k = {k} here, 42 in the paper): on "
             f"{data_name} the MMAE ({h['MMAE']:.3f}) is {verdict(h['MMAE'], h[linear_here])} the best "
             f"linear baseline ({linear_here}, {h[linear_here]:.3f}); in the paper it is "
             f"{verdict(p['MMAE'], p.drop('MMAE').max())} ({p['MMAE']:.3f} against {p.drop('MMAE').max():.3f})."]
    single_here = h[[m for m in h.index if m.startswith("PCA ")]].sort_values(ascending=False)
    single_paper = p[[m for m in p.index if m.startswith("PCA ")]].sort_values(ascending=False)
    order = lambda s: " > ".join(m.removeprefix("PCA ") for m in s.index)  # noqa: E731
    same = list(single_here.index) == list(single_paper.index)
    lines.append(f"- **Order of the single modalities** (ARI): here {order(single_here)}; in the paper "
                 f"{order(single_paper)}: {'the same order' if same else 'a different order'}.")
    return "\n".join(lines)


def weakest_link(table: pd.DataFrame, metric: str, column: str, data_name: str, model: str = "mmae",
                 what: str = "", **where) -> str:
    """Chapters 9-10: for ``model``, the value of ``column`` (a modality, a subset) with the lowest
    mean ``metric`` and the one with the highest, among the rows matching ``where``."""
    t = table[(table["model"] == model) & (table["metric"] == metric)]
    for c, v in where.items():
        t = t[t[c].isin(v if isinstance(v, (list, tuple)) else [v])]
    if t.empty:
        return f"On {data_name}, {_label(model)} was not measured here."
    means = t.groupby(column, sort=False)["value"].mean()
    if leader(means) is None or leader(-means) is None:
        return (f"On {data_name}, the {_label(model)}'s {what or metric} does not single out one {column} "
                f"(" + ", ".join(f"{c} {v:.3f}" for c, v in means.items()) + "): no signal.")
    return (f"On {data_name}, the {_label(model)}'s {what or metric} is lowest with {column} "
            f"**{means.idxmin()}** ({means.min():.3f}) and highest with **{means.idxmax()}** ({means.max():.3f}).")


def scorecard_leaders(card: pd.DataFrame, data_name: str) -> str:
    """Chapter 14: for every question of the scorecard, the model with the highest mean (Markdown
    bullets); every row of the scorecard is higher-is-better."""
    means = card.apply(lambda col: pd.to_numeric(col.str.split(" ±").str[0], errors="coerce"))
    lines = [f"On {data_name}, the highest mean per question:"]
    for question, row in means.iterrows():
        top = leader(row)
        mmae = f"; MMAE {row['MMAE']:.3f}" if "MMAE" in row and pd.notna(row["MMAE"]) else ""
        if top is not None:
            lines.append(f"- {question}: **{top}** ({row.max():.3f}{mmae})")
        elif row.notna().any():
            lines.append(f"- {question}: no single highest mean ({row.max():.3f} shared{mmae}): no signal")
    return "\n".join(lines)


def _cell(g: pd.DataFrame, digits: int = 3) -> str:
    a, b = (g.loc[g["side"] == side, "value"].to_numpy() for side in ("mmae", "reference"))
    fmt = lambda v: format_mean_std(v.mean(), v.std(ddof=1) if len(v) > 1 else 0.0, digits)  # noqa: E731
    return f"{verdict(a, b)} ({fmt(a)} vs {fmt(b)})"


def verdicts(measured: dict[str, pd.DataFrame], digits: int = 3) -> pd.DataFrame:
    """Questions as rows, data sets (the keys of ``measured``, tables of :func:`measure`) as
    columns; each cell "MMAE <verdict> the reference (mean ± std over seeds of both)", the verdict
    of :func:`mmae.report.findings.verdict`; "not measured" where a data set cannot answer (no OOD split)."""
    out = pd.DataFrame(index=list(QUESTION_LABELS.values()), columns=list(measured), dtype=object)
    for name, table in measured.items():
        for q, label in QUESTION_LABELS.items():
            g = table[table["question"] == q]
            out.loc[label, name] = _cell(g, digits) if len(g) else "not measured"
    out.index.name = "question (MMAE is ... the reference)"
    return out


def verdict_word(cell: str) -> str:
    """The verdict of a :func:`verdicts` cell, the words before its numbers:
    ``"above (0.9 ± 0.1 vs 0.8 ± 0.0)"`` -> ``"above"``."""
    return str(cell).split(" (")[0]


def survival(table: pd.DataFrame) -> str:
    """Markdown bullets: for every question, whether its verdict (the words before the numbers)
    is the same on every data set that answers it (it survives) or changes (a property of the data)."""
    lines = []
    for question, row in table.iterrows():
        said = {c: verdict_word(v) for c, v in row.items() if v != "not measured"}
        if not said:
            continue
        kinds = sorted(set(said.values()))
        if len(said) == 1:
            (name, v), = said.items()
            lines.append(f"- **{question}**: *{v}* on {name}, the only data set that answers it: one data "
                         "set cannot tell whether this survives.")
        elif len(kinds) == 1:
            lines.append(f"- **{question}**: the MMAE is *{kinds[0]}* the reference on all {len(said)} "
                         "data sets: this conclusion survives the change of data.")
        else:
            where = "; ".join(f"*{v}* on {', '.join(c for c in said if said[c] == v)}" for v in kinds)
            lines.append(f"- **{question}**: {where}. A property of the data, not of the method.")
    return "\n".join(lines)
