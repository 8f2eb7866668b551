"""The benchmark's result files as the Performance page reads them: where they lie, their schema,
and each file checked and turned into a table. :mod:`mmae.bench.results` writes them."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

FOLDER = Path(__file__).resolve().parents[2] / "book" / "benchmarks"  # the committed result files
SCHEMA = "mmae-bench/1"
KINDS = ("train", "eval", "search", "sweeps")  # python -m mmae.bench, --eval, --search, --sweeps


def load(path: str | Path) -> dict:
    """A result file, checked: its schema and kind; the results as a list of dicts."""
    path = Path(path)
    rec = json.loads(path.read_text())
    if rec.get("schema") != SCHEMA or rec.get("kind") not in KINDS:
        raise ValueError(f"{path}: not a benchmark result of schema {SCHEMA!r} (schema {rec.get('schema')!r}, "
                         f"kind {rec.get('kind')!r})")
    return rec


def table(rec: dict) -> pd.DataFrame:
    """The results of a record as a DataFrame indexed like the benchmark's table."""
    index = {"train": "trainer", "eval": "chapter", "search": ["n", "index"], "sweeps": "way"}[rec["kind"]]
    return pd.DataFrame(rec["results"]).set_index(index)
