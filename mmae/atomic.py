"""Writes that cannot be half-done, and one writer per artifacts folder at a time.

Every artifact goes to a temporary file in its own folder, is flushed and fsynced, then renamed
over its target with :func:`os.replace` (atomic on POSIX and Windows): a reader sees the old file
or the new one, never a mix, and a kill or a full disk leaves the old file in place.
:func:`folder_lock` serialises writers of one folder (an advisory ``flock`` on ``.lock``), so two
runs into one ``artifacts_dir`` wait for each other, or fail with a clear error after ``timeout``.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".lock"
_HELD: dict[Path, int] = {}  # folders whose lock this process holds, and how deeply nested


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; on a clean exit it is fsynced and renamed
    onto ``path``, on an exception it is removed and ``path`` is untouched.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:  # the bytes reach the disk before the rename makes them visible
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``path`` to fill; on a clean exit it replaces ``path`` (the old
    folder is moved aside, then removed), on an exception it is removed and ``path`` is untouched."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    tmp.chmod(0o755)
    try:
        yield tmp
        old = path.with_name(f".{path.name}.old")
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def save_torch(obj, path: str | Path) -> Path:
    """``torch.save`` to ``path`` atomically."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def save_npy(path: str | Path, array) -> Path:
    """``numpy.save`` to ``path`` (which must end in ``.npy``) atomically."""
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)
    return Path(path)


def save_csv(table, path: str | Path, header: str = "", **kwargs) -> Path:
    """``table.to_csv(**kwargs)`` written to ``path`` atomically, after an optional ``header`` line."""
    return write_text(path, header + table.to_csv(**kwargs))


def save_figure(fig, path: str | Path, **kwargs) -> Path:
    """``fig.savefig`` to ``path`` atomically (the format from ``path``'s suffix)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or None, **kwargs)
    return path


def book_figure(fig, path: str | Path | None = None):
    """A figure of the book: ``fig``, saved by :func:`save_figure` (130 dpi, tight bounding box) when
    ``path`` is given, and returned, so that a plotting function ends ``return book_figure(fig, path)``."""
    if path is not None:
        save_figure(fig, path, dpi=130, bbox_inches="tight")
    return fig


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
