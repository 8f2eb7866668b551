"""The numbers the paper reports (arXiv 2511.17596, Tables I-IV), and paper-vs-here tables.

Tables II and III are on the LUMA test split; Table IV on the test latents with z = 128.
Note: the paper's Table II image row equals its Table III k = 42 row, digit for digit.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

_METRICS = ["silhouette", "ari", "nmi"]

TABLE1 = pd.DataFrame({"modality": ["image", "audio", "text"], "feature_dim": [50, 1024, 768],
                       "train": [21000] * 3, "test": [4200] * 3, "ood": [3859] * 3})
TABLE2 = pd.DataFrame([["image", 0.418, 0.545, 0.724], ["text", 0.147, 0.091, 0.380],
                       ["audio", 0.087, 0.053, 0.227]], columns=["modality", *_METRICS])
TABLE3 = pd.DataFrame([[30, 0.392, 0.456, 0.695], [42, 0.418, 0.545, 0.724], [50, 0.416, 0.549, 0.724]],
                      columns=["k", *_METRICS])
TABLE4 = pd.DataFrame([[30, 0.445, 0.547, 0.888], [40, 0.620, 0.826, 0.949], [42, 0.630, 0.914, 0.962],
                       [50, 0.586, 0.896, 0.948]], columns=["k", *_METRICS])
TABLE2_K = 42  # Table II gives one k; its image row equals Table III at k = 42
PAPER_N_CLASSES = 42  # LUMA's in-distribution classes: the paper's k = 42 is "k = the number of classes"
PAPER_KS = (30, 40, 42, 50, 60)  # the paper's K-Means grid (Sec. IV-A)


def k_grid(n_classes: int, n_rows: int | None = None) -> dict[int, int]:
    """The paper's k grid at the same ratios to the class count: {paper k: k here}.

    k here = round(paper k x ``n_classes`` / 42), kept in [2, ``n_rows`` - 1] (K-Means needs fewer
    clusters than rows). Several paper ks may land on one k here (5 classes: 40 and 42 -> 5).

    Examples
    --------
    >>> k_grid(42)
    {30: 30, 40: 40, 42: 42, 50: 50, 60: 60}
    >>> k_grid(5)
    {30: 4, 40: 5, 42: 5, 50: 6, 60: 7}
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise TypeError(f"n_classes must be an int, got {type(n_classes).__name__} {n_classes!r}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    high = n_rows - 1 if n_rows is not None else None
    if high is not None and high < 2:
        raise ValueError(f"n_rows must be >= 3 for K-Means with k >= 2, got {n_rows}")
    return {k: int(np.clip(np.floor(k * n_classes / PAPER_N_CLASSES + 0.5), 2, high or np.inf))
            for k in PAPER_KS}


def ks_for(n_classes: int, n_rows: int | None = None) -> list[int]:
    """The distinct ks of :func:`k_grid`, ascending (the notebooks' default ``ks``)."""
    return sorted(set(k_grid(n_classes, n_rows).values()))


def here_k(n_classes: int, k_paper: int = TABLE2_K, n_rows: int | None = None) -> int:
    """The k here that stands where the paper used ``k_paper`` (42 -> the number of classes)."""
    return int(np.clip(np.floor(k_paper * n_classes / PAPER_N_CLASSES + 0.5), 2,
                       (n_rows - 1) if n_rows else np.inf))


PAPER, HERE = "paper (LUMA)", "here"  # the two sources of a side-by-side table


def side_by_side(here: pd.DataFrame, paper: pd.DataFrame, on: str, metrics=_METRICS,
                 n_classes: int = PAPER_N_CLASSES) -> pd.DataFrame:
    """Paper and here, metric by metric, for every row of ``paper`` (keyed by column ``on``).

    The columns pair ``("ari", "paper (LUMA)")`` with ``("ari", "here")``: what "here" is stands
    once, in the chapter's banner (:func:`mmae.report.tables.banner`), not in every header.
    With ``on="k"``, each paper k is paired with the k here at the same ratio to the number of
    classes (:func:`k_grid` with ``n_classes``); the index then reads "paper k -> k here".
    """
    if on not in here or on not in paper:
        raise ValueError(f"both tables need the column {on!r}; here has {list(here)}, paper {list(paper)}")
    paper, key = paper.copy(), on
    if on == "k":
        grid = k_grid(n_classes)
        paper["k_here"], key = paper["k"].map(grid), "k_here"
        here = here.rename(columns={"k": "k_here"})
    # every paper row is kept; a row not computed here (e.g. a smaller k grid) shows NaN
    # and with on != "k", every row computed here too (other modalities than LUMA's)
    merged = paper.merge(here[[key, *metrics]], on=key, how="left" if on == "k" else "outer",
                         suffixes=("_paper", "_here"))
    columns = {(m, src): merged[f"{m}_{suf}"] for m in metrics
               for src, suf in ((PAPER, "paper"), (HERE, "here"))}
    index = merged[on]
    if on == "k" and (merged["k"] != merged["k_here"]).any():
        index = pd.Index([f"{a} -> {b}" for a, b in zip(merged["k"], merged["k_here"])], name="paper k -> k here")
    return pd.DataFrame(columns).set_index(pd.Index(index)).round(3)


def table1_side_by_side(features) -> pd.DataFrame:
    """Table I beside the same counts here: per modality its feature dimension and the rows of
    each split, ``("train", "paper (LUMA)")`` next to ``("train", "here")``; classes last."""
    here = {m: {"feature_dim": features.dims[m], **{s: len(features.y[s]) if s in features.y else 0
                                                     for s in ("train", "test", "ood")}} for m in features.modalities}
    paper = TABLE1.set_index("modality")
    cols = {}
    for c in ("feature_dim", "train", "test", "ood"):
        cols[(c, PAPER)] = paper[c].reindex(list(dict.fromkeys([*paper.index, *here])))
        cols[(c, HERE)] = pd.Series({m: v[c] for m, v in here.items()}).reindex(cols[(c, PAPER)].index)
    out = pd.DataFrame(cols).astype(object)
    out = out.where(out.notna(), "")
    n_ood = len(set(features.y["ood"])) if "ood" in features.y else 0
    classes = pd.Series("", index=out.columns, dtype=object)
    classes[("train", PAPER)], classes[("train", HERE)] = "42 + 8", f"{features.n_classes} + {n_ood}"
    out.loc["classes (in distribution + OOD)"] = classes
    return out


def paper_summary(k: int = 42) -> pd.DataFrame:
    """The paper's numbers of every method at ``k``: one row per method (Tables II, III, IV)."""
    rows = [TABLE2.assign(method="PCA " + TABLE2.modality)]
    if k in set(TABLE3.k):
        rows.append(TABLE3[TABLE3.k == k].assign(method="fusion PCA"))
    if k in set(TABLE4.k):
        rows.append(TABLE4[TABLE4.k == k].assign(method="MMAE"))
    return pd.concat(rows, ignore_index=True)[["method", *_METRICS]]


def _read_table(f, columns: tuple[str, ...]) -> pd.DataFrame:
    """A table notebook 02 or 04 wrote, checked whole: ``columns`` present, every cell of them
    filled and every one but ``data`` a number. Tables are written atomically, so a table that
    fails this was cut or edited afterwards: a ValueError names it, instead of a wrong summary."""
    try:
        t = pd.read_csv(f)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ValueError(f"{f} is not a readable table ({type(e).__name__}): rerun notebooks 02 and 04") from None
    missing = [c for c in columns if c not in t.columns]
    bad = [c for c in columns if c in t.columns and (t[c].isna().any() or (c != "data" and not
                                                     pd.api.types.is_numeric_dtype(t[c])))]
    if missing or bad or t.empty:
        raise ValueError(f"{f} was cut short or edited (missing columns {missing}, empty or non-numeric cells in "
                         f"{bad}, {len(t)} rows): rerun notebooks 02 and 04")
    return t


def here_summary(artifacts_dir, data_name: str, k: int = 42,
                 fusion_weights: tuple[float, ...] | None = None) -> pd.DataFrame:
    """The same rows as :func:`paper_summary`, read from the tables notebooks 02 and 04 wrote.

    Parameters
    ----------
    k : int
        The k here (the number of classes stands for the paper's 42: :func:`here_k`).
    fusion_weights : tuple of float or None
        One weight per modality, in the bundle's modality order; None: all ones.

    Raises
    ------
    FileNotFoundError
        If a table is missing (run notebooks 02 and 04 first).
    ValueError
        If a table was computed on other data than ``data_name``, or lacks ``k`` or the weights.
    """
    from pathlib import Path

    tables = {}
    for name in ("table2_single_modality", "table3_fusion", "table4_mmae"):
        f = Path(artifacts_dir) / f"{name}.csv"
        if not f.exists():
            raise FileNotFoundError(f"{f} is missing: run notebooks 02_baselines and 04_evaluate first")
        t = _read_table(f, ("data", "k", *_METRICS))
        if set(t["data"]) != {data_name}:
            raise ValueError(f"{f} was computed on {sorted(set(t['data']))}, expected {data_name!r}: "
                             "rerun notebooks 02 and 04 with the same data")
        tables[name] = t[t.k == k]
    t2, t3, t4 = tables.values()
    weight_columns = [c for c in t3.columns if c.startswith("weight_")]
    weights = list(fusion_weights) if fusion_weights is not None else [1.0] * len(weight_columns)
    if len(weights) != len(weight_columns):
        raise ValueError(f"fusion_weights must give one weight per modality {weight_columns}, got {weights}")
    t3 = t3[np.isclose(t3[weight_columns].to_numpy(float), weights).all(axis=1)]
    if t2.empty or t3.empty or t4.empty:
        raise ValueError(f"the tables in {artifacts_dir} lack k = {k} or fusion weights {tuple(weights)}")
    rows = [t2.assign(method="PCA " + t2.modality), t3.assign(method="fusion PCA"),
            t4.assign(method="MMAE")]
    return pd.concat(rows, ignore_index=True)[["method", *_METRICS]]
