"""The per-seed tables of chapters 08-12 saved on disk: each CSV carries the key of the zoo it was
computed from, so a table computed from other models is never read."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmae.atomic import save_csv

def save_table(table: pd.DataFrame, artifacts_dir: Path, question: str, key: str) -> Path:
    """Write ``beyond_{question}.csv``, its first line the zoo's key (``# key: ...``), for the
    scorecard (notebook 14). An empty table (no OOD split) is written too, key and header only."""
    path = Path(artifacts_dir) / f"beyond_{question}.csv"
    save_csv(table, path, header=f"# key: {key}\n", index=False)
    return path


def load_table(artifacts_dir: Path, question: str, key: str) -> pd.DataFrame:
    """The table :func:`save_table` wrote, if it was computed from exactly this zoo; else an error."""
    path = Path(artifacts_dir) / f"beyond_{question}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the chapter that writes it first ({QUESTION_CHAPTERS.get(question, 'notebooks/07_comparators')})")
    chapter = QUESTION_CHAPTERS.get(question, "notebooks/07_comparators")
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline().strip()
            if first != f"# key: {key}":
                raise ValueError(f"{path} was computed from other code, data, models or seeds than these: "
                                 f"run {chapter} again with the same parameters")
            return pd.read_csv(f)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as err:
        raise ValueError(f"{path} is unreadable ({type(err).__name__}): run {chapter} again") from None


#: the chapter that writes each question's table (any other table: notebooks/07_comparators)
QUESTION_CHAPTERS = {"retrieval": "notebooks/08_retrieval", "subsets": "notebooks/09_missing_modalities",
                     "cross_modal": "notebooks/09_missing_modalities", "noise": "notebooks/10_noise",
                     "tagging": "notebooks/11_tagging", "ood": "notebooks/12_ood"}
