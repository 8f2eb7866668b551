"""The tables saved on disk (the per-seed tables of chapters 08-12, tuning, chapter 15's measurements).

Each CSV carries the key of what it was computed from (``# key: ...``), so a table computed from
other models is never read, and the sha256 of its text (:func:`mmae.atomic.save_csv` with
``checksum=True``), so a table cut short by a kill or a full disk, or edited by hand, is never read
as a whole one. The checksum is a line of the file itself rather than a sidecar: the table and its
checksum are renamed into place together, and a table copied elsewhere keeps its own.
:func:`load_table` raises on either (chapter 14, which cannot recompute, names the chapter to run
again); :func:`cached_table` reuses a table or computes it, and reports a damaged one with a
warning naming the file (tuning, chapter 15).
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mmae.atomic import read_checked, save_csv


class DamagedTable(ValueError):
    """A saved table that cannot be trusted: unreadable, without its checksum, cut short or edited."""


def table_path(artifacts_dir: str | Path, question: str) -> Path:
    """Where :func:`save_table` writes ``question``'s table: ``artifacts_dir/beyond_{question}.csv``."""
    return Path(artifacts_dir) / f"beyond_{question}.csv"


def save_table(table: pd.DataFrame, artifacts_dir: Path, question: str, key: str) -> Path:
    """Write ``beyond_{question}.csv`` atomically: its first line the key (``# key: ...``), its second
    the sha256 of the rest with the row count (:func:`mmae.atomic.save_csv`). An empty table (no OOD
    split) is written too, key, checksum and header only."""
    path = table_path(artifacts_dir, question)
    save_csv(table, path, header=f"# key: {key}\n", checksum=True, index=False)
    return path


def _read(path: Path, key: str) -> pd.DataFrame | None:
    """The table at ``path`` if it is whole and was computed under ``key``; None if under another key.

    Raises
    ------
    DamagedTable
        The file is unreadable, has no checksum line, or does not match it (cut short or edited).
    """
    try:
        text = read_checked(path)
    except (UnicodeDecodeError, OSError) as err:  # a decode error is a ValueError too: first
        raise DamagedTable(f"{path} is unreadable ({type(err).__name__})") from None
    except ValueError as err:
        raise DamagedTable(str(err)) from None
    first, _, body = text.partition("\n")
    if first != f"# key: {key}":
        return None
    try:
        return pd.read_csv(io.StringIO(body))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DamagedTable(f"{path} is unreadable ({type(err).__name__})") from None


def load_table(artifacts_dir: Path, question: str, key: str) -> pd.DataFrame:
    """The table :func:`save_table` wrote, if it is whole and was computed from exactly this zoo.

    Raises
    ------
    FileNotFoundError
        There is no table: the message names the chapter that writes it.
    ValueError
        The table was computed from another zoo (other code, data, models or seeds), or is damaged
        (:class:`DamagedTable`: unreadable, without checksum, cut short or edited). The message
        names the file and the chapter to run again.
    """
    path = table_path(artifacts_dir, question)
    chapter = QUESTION_CHAPTERS.get(question, "notebooks/07_comparators")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the chapter that writes it first ({chapter})")
    try:
        table = _read(path, key)
    except DamagedTable as err:
        raise DamagedTable(f"{err}: run {chapter} again") from None
    if table is None:
        raise ValueError(f"{path} was computed from other code, data, models or seeds than these: "
                         f"run {chapter} again with the same parameters")
    return table


def cached_table(artifacts_dir: str | Path, question: str, key: str, compute: Callable[[], pd.DataFrame]
                 ) -> pd.DataFrame:
    """``question``'s table saved under ``key`` in ``artifacts_dir`` when it is there and whole;
    else ``compute()``, saved (:func:`save_table`) and returned.

    A table of another key is a cache miss, computed again without a word; a damaged one
    (unreadable, without checksum, cut short or edited) is reported with a warning naming the file,
    then computed again.
    """
    path = table_path(artifacts_dir, question)
    table = None
    if path.exists():
        try:
            table = _read(path, key)
        except DamagedTable as err:
            warnings.warn(f"{err}: computing it again", stacklevel=2)
    if table is None:
        table = compute()
        save_table(table, artifacts_dir, question, key)
    return table


#: the chapter that writes each question's table (any other table: notebooks/07_comparators)
QUESTION_CHAPTERS = {"retrieval": "notebooks/08_retrieval", "subsets": "notebooks/09_missing_modalities",
                     "cross_modal": "notebooks/09_missing_modalities", "noise": "notebooks/10_noise",
                     "tagging": "notebooks/11_tagging", "ood": "notebooks/12_ood"}
