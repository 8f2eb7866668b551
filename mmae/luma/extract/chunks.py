"""Resumable extraction: a feature extractor run chunk by chunk, one task of :func:`mmae.cluster.run`
per chunk not yet on disk, each chunk's result saved as a part by the task that computed it."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mmae import cluster
from mmae.artifacts import display_path
from mmae.atomic import save_npy


def run_in_chunks(fn, items, folder, name: str, chunk_size: int = 1024, desc: str | None = None, *,
                  shared=None, progress: bool = True) -> np.ndarray:
    """``fn`` on consecutive chunks of ``items``, each result saved as ``folder/{name}_part{i:05d}.npy``.

    Parts already on disk are loaded, not recomputed, so a stopped run resumes. Each missing part
    is one task of :func:`mmae.cluster.run` (where ``MMAE_SCHEDULER`` says), which computes it and
    writes it (a temporary file renamed: never half-written); this process then reads every part in
    order. A task whose worker dies runs again elsewhere; on a cluster, ``folder`` must be on a file
    system the workers share.

    Parameters
    ----------
    fn : callable
        ``fn(chunk)``, or ``fn(shared, chunk)`` with ``shared``: (n, ...) rows for a chunk of n items.
        A module-level function where tasks run in other processes (a lambda runs here only).
    items : sequence
        What is cut into chunks (a list or an array).
    folder : str or Path
    name : str
        The parts' file names start with it.
    chunk_size : int
        Items per part.
    desc : str, optional
        The progress bar's label (default ``name``).
    shared : object, optional
        What every chunk reads (the model's description, :class:`mmae.luma.extract.tasks.Extractor`):
        sent to each worker once.
    progress : bool
        Show a progress bar of the chunks computed.

    Raises
    ------
    ValueError
        No items or ``chunk_size < 1``; a part (on disk or computed) whose row count is not its
        chunk's (a part of another ``chunk_size``); nothing is saved for a wrong result.
    FileNotFoundError
        A part a task wrote is not in ``folder`` here (the workers do not share it).
    """
    if len(items) == 0 or chunk_size < 1:
        raise ValueError(f"expected items and chunk_size >= 1, "
                         f"got {len(items)} items, chunk_size={chunk_size}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    starts = range(0, len(items), chunk_size)
    paths = [folder / f"{name}_part{i:05d}.npy" for i in range(len(starts))]
    sizes = [min(chunk_size, len(items) - s) for s in starts]
    parts = {i: part for i, p in enumerate(paths) if p.exists() and (part := _read_part(p)) is not None}
    for i, part in parts.items():
        _check_rows(paths[i], part, sizes[i], i, chunk_size)
    todo = [(fn, paths[i], items[s:s + sizes[i]], i, chunk_size) for i, s in enumerate(starts) if i not in parts]
    cluster.run(_part if shared is None else _shared_part, todo, shared=shared, desc=desc or name,
                progress=progress)
    for _, path, _, i, _ in todo:
        if not path.is_file():
            raise FileNotFoundError(f"{path} was written by a task but is not here: the workers of "
                                    f"{cluster.SCHEDULER} must share this folder (a shared file system)")
        parts[i] = np.load(path, allow_pickle=False)
    return np.concatenate([parts[i] for i in range(len(paths))])


def _part(job, shared=None) -> None:
    """One chunk as a task: compute it, check its rows, save it atomically."""
    fn, path, chunk, i, chunk_size = job
    part = np.asarray(fn(chunk) if shared is None else fn(shared, chunk))
    _check_rows(path, part, len(chunk), i, chunk_size)
    save_npy(path, part)


def _shared_part(shared, job) -> None:
    _part(job, shared)


def _check_rows(path: Path, part: np.ndarray, size: int, i: int, chunk_size: int) -> None:
    if len(part) != size:
        raise ValueError(f"{path}: expected {size} rows (chunk {i}, chunk_size={chunk_size}), got {len(part)}")


def _read_part(path: Path):
    """A saved part, or None (with a warning naming the file) when it is unreadable: it is then recomputed."""
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        warnings.warn(f"{display_path(path)} is unreadable ({type(err).__name__}): computing it again", stacklevel=3)
        return None
