"""Chapter 15's verdicts beside those of a recorded run at another training budget.

The default build trains chapter 15's models briefly (issue 21's time budget); a longer run of the
same chapter is kept as a record, ``book/records/robustness-*.json``: the verdict table that run's
``robustness.csv`` held, the commit and parameters it ran with, and the fingerprint of every data
set. :func:`compare` sets today's cells beside the recorded ones, for the data sets whose
fingerprints match, and :func:`changes` says in words which verdicts the budget moved. The record
is written by :func:`write` from a finished run, never by hand.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mmae import atomic
from mmae.report.findings import verdict_word

FIELDS = ("commit", "date", "params", "fingerprints", "table")


@dataclass(frozen=True)
class Record:
    """A recorded chapter-15 run: ``table`` (questions x data sets, the verdict cells),
    ``fingerprints`` (data set -> data fingerprint), ``params`` (the chapter's parameters)."""

    path: Path
    commit: str
    date: str
    params: dict
    fingerprints: dict
    table: pd.DataFrame


def write(path: str | Path, table: pd.DataFrame, fingerprints: dict[str, str], params: dict, commit: str,
          date: str) -> Path:
    """Record a finished run's verdict ``table`` (written atomically as JSON at ``path``)."""
    missing = [c for c in table.columns if c not in fingerprints]
    if missing:
        raise ValueError(f"fingerprints: every column of the table needs one, missing {missing}")
    body = {"commit": commit, "date": date, "params": params, "fingerprints": dict(fingerprints),
            "table": {"index_name": table.index.name, "columns": list(table.columns),
                      "rows": {q: [str(v) for v in row] for q, row in table.iterrows()}}}
    atomic.write_text(Path(path), json.dumps(body, indent=1) + "\n")
    return Path(path)


def load(path: str | Path) -> Record:
    """The :class:`Record` at ``path``; a ValueError naming the file when it is not one."""
    path = Path(path)
    try:
        body = json.loads(path.read_text())
        t = body["table"]
        table = pd.DataFrame.from_dict(t["rows"], orient="index", columns=t["columns"])
        table.index.name = t["index_name"]
        record = Record(path, *(body[f] for f in FIELDS[:-1]), table)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a chapter-15 record ({type(e).__name__}: {e})") from None
    if set(record.fingerprints) != set(table.columns):
        raise ValueError(f"{path}: its fingerprints name {sorted(record.fingerprints)}, its table {list(table.columns)}")
    return record


def compare(table: pd.DataFrame, record: Record, fingerprints: dict[str, str]) -> pd.DataFrame:
    """One row per question and data set that both answer on the same data (equal fingerprints):
    ``here`` and ``recorded`` cells and whether their verdicts are the ``same``."""
    rows = []
    for column in table.columns:
        if column not in record.table.columns or record.fingerprints[column] != fingerprints.get(column):
            continue  # other data: nothing to compare
        for question in table.index.intersection(record.table.index):
            here, then = table.loc[question, column], record.table.loc[question, column]
            if "not measured" in (here, then):
                continue
            rows.append({"question": question, "data set": column, "here": here, "recorded": then,
                         "same": verdict_word(here) == verdict_word(then)})
    return pd.DataFrame(rows, columns=["question", "data set", "here", "recorded", "same"])


def changes(comparison: pd.DataFrame, record: Record, params: dict) -> str:
    """Markdown: how many verdicts are the same in this run (its chapter parameters ``params``) as
    in the record, which parameters differ, and each verdict that moved."""
    if comparison.empty:
        return f"No data set of this run is a data set of the record {record.path.name}: nothing to compare."
    differ = {k: (v, params[k]) for k, v in record.params.items() if k in params and _plain(params[k]) != v}
    said = ("the same parameters" if not differ else
            ", ".join(f"{k} {then}" for k, (then, _) in differ.items()) + "; here "
            + ", ".join(f"{now}" for _, now in differ.values()))
    moved = comparison[~comparison["same"]]
    head = (f"Of {len(comparison)} verdicts on the same data, {len(comparison) - len(moved)} are the same as in the run "
            f"recorded at commit {record.commit} ({said}), and {len(moved)} moved")
    if moved.empty:
        return head + "."
    lines = [head + ": those verdicts depend on what differs between the runs, not only on the method."]
    lines += [f"- {r['question']}, {r['data set']}: *{verdict_word(r['recorded'])}* there, "
              f"*{verdict_word(r['here'])}* here" for _, r in moved.iterrows()]
    return "\n".join(lines)


def _plain(value):
    """A parameter as JSON reads it back (tuples as lists)."""
    return json.loads(json.dumps(value))
