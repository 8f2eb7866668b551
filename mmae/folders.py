"""The folders the package writes into: claimed before any work, and one writer at a time.

:func:`claim_dir` refuses to write into a folder that holds another program's files (a command's
``--overwrite`` lifts that); :func:`folder_lock` serialises the writers of one folder (an advisory
``flock`` on ``.lock``), so two runs into one ``artifacts_dir`` wait for each other, or fail with a
clear error after ``timeout``. The files themselves are written by :mod:`mmae.atomic`.
"""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_NAME = ".lock"
_HELD: dict[Path, int] = {}  # folders whose lock this process holds, and how deeply nested


def claim_dir(folder: str | Path, foreign: Callable[[Path], list[str]], overwrite: bool = False,
              writer: str = "this command") -> Path:
    """Check that ``writer`` may write into ``folder`` before it starts: an absent or empty folder,
    or one holding only ``writer``'s own work, its resumable parts or its earlier output.

    Parameters
    ----------
    folder : str or Path
        The output folder.
    foreign : callable
        ``foreign(folder)``: what in the (non-empty) folder is not ``writer``'s own, one entry per
        file or sub-folder (its name, with a reason where the name alone does not say it); empty
        when all of it is ``writer``'s.
    overwrite : bool, default False
        Write whatever the folder holds (the command's ``--overwrite``).
    writer : str
        The command, as the error names it.

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    NotADirectoryError
        ``folder`` exists and is not a folder (with ``overwrite`` too).
    FileExistsError
        ``folder`` holds something ``foreign`` lists and ``overwrite`` is False; the message names
        the folder and the first entries.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder}: the output folder of {writer} must be a folder, got a file")
    if overwrite or not folder.exists():
        return folder
    bad = foreign(folder)
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise FileExistsError(f"{folder} is not empty and not {writer}'s own work: it holds {', '.join(bad[:5])}{more}. "
                              f"{writer} refuses to write over it: choose a new or empty folder, move those away, or "
                              "pass --overwrite (overwrite=True)")
    return folder


@contextlib.contextmanager
def folder_lock(folder: str | Path, timeout: float = 3600.0, poll: float = 0.5) -> Iterator[Path]:
    """Hold the lock of ``folder`` (``folder/.lock``) while the block runs: another process that
    asks for it waits up to ``timeout`` seconds, then gets a :class:`TimeoutError` naming the
    folder and the process that holds it. Nested calls in one process share the lock."""
    import fcntl

    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    if _HELD.get(folder):  # already ours: nesting (a notebook cell around a library call) is fine
        _HELD[folder] += 1
        try:
            yield lock
        finally:
            _HELD[folder] -= 1
        return
    with open(lock, "a+") as f:
        start = time.monotonic()
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - start >= timeout:
                    f.seek(0)
                    holder = f.read().strip() or "another process"
                    raise TimeoutError(f"{folder} is locked by {holder} (waited {timeout:g} s): another run is "
                                       "writing to this artifacts_dir; wait for it or use another artifacts_dir")
                time.sleep(poll)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        _HELD[folder] = 1
        try:
            yield lock
        finally:
            _HELD.pop(folder, None)
            f.seek(0)
            f.truncate()
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
