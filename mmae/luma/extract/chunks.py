"""Resumable extraction: run a feature extractor chunk by chunk, each chunk's result saved as a part."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mmae.artifacts import display_path
from mmae.atomic import save_npy
from mmae.progress import bar


def run_in_chunks(fn, items, folder, name: str, chunk_size: int = 1024,
                  desc: str | None = None) -> np.ndarray:
    """``fn`` on consecutive chunks of ``items``, each result saved as ``folder/{name}_part{i:05d}.npy``.

    Parts already on disk are loaded, not recomputed, so a crashed run resumes. A part is written
    to a temporary file and renamed (never half-written); one whose row count does not match its
    chunk (another ``chunk_size``) raises. Returns the parts concatenated in order.
    """
    if len(items) == 0 or chunk_size < 1:
        raise ValueError(f"expected items and chunk_size >= 1, "
                         f"got {len(items)} items, chunk_size={chunk_size}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for i, start in enumerate(bar(range(0, len(items), chunk_size), desc=desc or name)):
        path, size = folder / f"{name}_part{i:05d}.npy", min(chunk_size, len(items) - start)
        part = _read_part(path) if path.exists() else None
        saved = part is not None
        part = part if saved else np.asarray(fn(items[start:start + size]))
        if len(part) != size:
            raise ValueError(f"{path}: expected {size} rows (chunk {i}, chunk_size={chunk_size}), "
                             f"got {len(part)}")
        if not saved:
            save_npy(path, part)
        parts.append(part)
    return np.concatenate(parts)


def _read_part(path: Path):
    """A saved part, or None (with a warning naming the file) when it is unreadable: it is then recomputed."""
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        warnings.warn(f"{display_path(path)} is unreadable ({type(err).__name__}): computing it again", stacklevel=2)
        return None
