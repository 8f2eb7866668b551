"""Resumable extraction: run a feature extractor chunk by chunk, each chunk's result saved as a part."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm


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
    for i, start in enumerate(tqdm(range(0, len(items), chunk_size), desc=desc or name)):
        path, size = folder / f"{name}_part{i:05d}.npy", min(chunk_size, len(items) - start)
        part = np.load(path) if path.exists() else np.asarray(fn(items[start:start + size]))
        if len(part) != size:
            raise ValueError(f"{path}: expected {size} rows (chunk {i}, chunk_size={chunk_size}), "
                             f"got {len(part)}")
        if not path.exists():
            with open(path.with_suffix(".tmp"), "wb") as f:
                np.save(f, part)
            os.replace(path.with_suffix(".tmp"), path)
        parts.append(part)
    return np.concatenate(parts)
