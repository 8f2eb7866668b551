"""The numbers the paper reports (arXiv 2511.17596, Tables I-IV), and paper-vs-here tables.

Tables II and III are on the LUMA test split; Table IV on the test latents with z = 128.
Note: the paper's Table II image row equals its Table III k = 42 row, digit for digit.
"""
from __future__ import annotations

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


def side_by_side(here: pd.DataFrame, paper: pd.DataFrame, on: str, data_name: str,
                 metrics=_METRICS) -> pd.DataFrame:
    """Paper and here, metric by metric, for every row of ``paper`` (keyed by column ``on``).

    The column header names both data sets, e.g. ``("ari", "paper: LUMA")`` and
    ``("ari", "here: synthetic LUMA-shaped (seed 0)")``, so no number is read without its data.
    """
    if on not in here or on not in paper:
        raise ValueError(f"both tables need the column {on!r}; here has {list(here)}, paper {list(paper)}")
    # every paper row is kept; a row not computed here (e.g. a smaller k grid) shows NaN
    merged = paper.merge(here[[on, *metrics]], on=on, how="left", suffixes=("_paper", "_here"))
    columns = {(m, src): merged[f"{m}_{suf}"] for m in metrics
               for src, suf in (("paper: LUMA", "paper"), (f"here: {data_name}", "here"))}
    return pd.DataFrame(columns).set_index(merged[on]).round(3)


def paper_summary(k: int = 42) -> pd.DataFrame:
    """The paper's numbers of every method at ``k``: one row per method (Tables II, III, IV)."""
    rows = [TABLE2.assign(method="PCA " + TABLE2.modality)]
    if k in set(TABLE3.k):
        rows.append(TABLE3[TABLE3.k == k].assign(method="fusion PCA"))
    if k in set(TABLE4.k):
        rows.append(TABLE4[TABLE4.k == k].assign(method="MMAE"))
    return pd.concat(rows, ignore_index=True)[["method", *_METRICS]]


def here_summary(artifacts_dir, data_name: str, k: int = 42,
                 fusion_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> pd.DataFrame:
    """The same rows as :func:`paper_summary`, read from the tables notebooks 02 and 04 wrote.

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
        t = pd.read_csv(f)
        if set(t["data"]) != {data_name}:
            raise ValueError(f"{f} was computed on {sorted(set(t['data']))}, expected {data_name!r}: "
                             "rerun notebooks 02 and 04 with the same data")
        tables[name] = t[t.k == k]
    t2, t3, t4 = tables.values()
    t3 = t3[(t3[["alpha", "beta", "gamma"]] == list(fusion_weights)).all(axis=1)]
    if t2.empty or t3.empty or t4.empty:
        raise ValueError(f"the tables in {artifacts_dir} lack k = {k} or fusion weights {fusion_weights}")
    rows = [t2.assign(method="PCA " + t2.modality), t3.assign(method="fusion PCA"),
            t4.assign(method="MMAE")]
    return pd.concat(rows, ignore_index=True)[["method", *_METRICS]]
