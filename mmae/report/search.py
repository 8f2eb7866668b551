"""The archive-search benchmark on the Performance page: the result file that
``python -m mmae.bench --search`` writes (``book/benchmarks/search-cpu.json``), checked, as a table
and as sentences computed from its numbers (none typed)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mmae.report.benchmarks import FOLDER, SCHEMA
from mmae.report.provenance import format_seconds

PATH = FOLDER / "search-cpu.json"
KIND = "search"
TARGET = 0.9  # the 10-recall@10 that mmae.evaluation.index.IndexSpec's defaults aim at
LABELS = {"flat": "flat (exact)", "hnsw": "HNSW", "ivfpq": "IVF-PQ", "today (torch)": "today's path (torch)"}


def load(path: str | Path = PATH) -> dict | None:
    """The result file at ``path``, checked (schema and kind), with its name under ``file``;
    ``None`` when there is none (the benchmark has not been run)."""
    path = Path(path)
    if not path.is_file():
        return None
    rec = json.loads(path.read_text())
    if rec.get("schema") != SCHEMA or rec.get("kind") != KIND:
        raise ValueError(f"{path}: expected a benchmark result of schema {SCHEMA!r} and kind {KIND!r}, got "
                         f"schema {rec.get('schema')!r}, kind {rec.get('kind')!r}")
    return rec | {"file": path.name}


def table(rec: dict) -> pd.DataFrame:
    """One row per (archive size, index): parameters, build time, size, queries per second, recall."""
    t = pd.DataFrame(rec["results"])
    return pd.DataFrame({
        "rows": t["n"].map("{:,}".format), "index": t["index"].map(lambda i: LABELS.get(i, i)),
        "parameters": t["params"].map(lambda p: ", ".join(f"{k} {v}" for k, v in p.items()) or "-"),
        "build": t["build_s"].map(format_seconds), "bytes / row": t["bytes_per_vector"].map("{:,.0f}".format),
        "size (MB)": (t["bytes"] / 1e6).map("{:,.0f}".format), "queries / s": t["qps"].map("{:,.0f}".format),
        "10-recall@10": t["recall@10"].map("{:.3f}".format)}).set_index(["rows", "index"])


def findings(rec: dict, target: float = TARGET) -> str:
    """Per archive size: each approximate index's speed against the exact one, its memory, and
    whether it reached ``target`` recall; today's path where it was measured."""
    t, info = pd.DataFrame(rec["results"]), rec["info"]
    out = []
    for n, rows in t.groupby("n", sort=True):
        by = rows.set_index("index")
        flat = by.loc["flat"]
        parts = [f"On {n:,} latents, {info['queries']:,} queries of k = {info['k']} take the exact flat index "
                 f"{info['queries'] / flat['qps']:.2f} s ({flat['qps']:,.0f} queries/s, {flat['bytes_per_vector']:,.0f} B a row)"]
        for name in [i for i in by.index if i not in ("flat", "today (torch)")]:
            r = by.loc[name]
            parts.append(f"{LABELS.get(name, name)} answers {r['qps'] / flat['qps']:.1f}x as fast with "
                         f"{r['bytes_per_vector']:,.0f} B a row and finds {r['recall@10']:.3f} of the exact 10 "
                         f"nearest (target {target}: **{'reached' if r['recall@10'] >= target else 'missed'}**), "
                         f"built in {format_seconds(r['build_s'])}")
        if "today (torch)" in by.index:
            parts.append(f"today's path (the archive as one torch tensor, similarities and top-k) answers "
                         f"{by.loc['today (torch)', 'qps']:,.0f} queries/s")
        out.append("; ".join(parts) + ".")
    skipped = [f"{n:,}" for n in sorted(t["n"].unique()) if n > info.get("torch_max", float("inf"))]
    if skipped:
        out.append(f"Today's path is not measured on {', '.join(skipped)} latents: it holds the whole archive "
                   f"as one tensor, up to {info['torch_max']:,} rows here.")
    return "\n\n".join(out)
