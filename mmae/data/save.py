"""Write a feature bundle (the layout of :mod:`mmae.data.bundle`), plain or with pooled modalities."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mmae.atomic import save_npy, write_text
from mmae.data.bundle import _forms
from mmae.data.features import Features
from mmae.data.manifest import MANIFEST, sha256_file

__all__ = ["save_bundle"]


def _pool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``x`` as float32 (pool) and, per row, which (int64 index), so that
    ``pool[index]`` is ``x`` as float32 bit for bit (rows are compared by their bits: -0.0 is not 0.0)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    pool, index = np.unique(bits, axis=0, return_inverse=True)
    return pool.view(np.float32), index.reshape(-1).astype(np.int64)


def save_bundle(features: Features, path: str | Path, manifest: bool = False, pooled: tuple[str, ...] = ()) -> Path:
    """Write ``features`` as a bundle folder readable by :func:`load_bundle`; returns the folder.

    Every file is written atomically (:mod:`mmae.atomic`): a reader sees the old file or the new
    one. Every modality named in ``pooled`` is written in the pooled form (its distinct rows as
    float32 and an int64 index per row, layout in the module docstring), which loads back to the
    same float32 array; the other form of each modality written, left by an earlier call, is
    removed. ``manifest=True`` also writes ``manifest.json`` (the name and every file's sha256),
    which :func:`load_bundle` then verifies; without it, an existing ``manifest.json`` is refused,
    since it would vouch for files this call replaces.

    Raises
    ------
    ValueError
        If ``pooled`` names a modality ``features`` does not have, or ``manifest=False`` and the
        folder holds a ``manifest.json``.
    """
    import json

    root = Path(path)
    pooled = (pooled,) if isinstance(pooled, str) else tuple(pooled)
    if unknown := [m for m in pooled if m not in features.modalities]:
        raise ValueError(f"pooled must name modalities of the features ({list(features.modalities)}), "
                         f"got {unknown}")
    if not manifest and os.path.lexists(root / MANIFEST):
        raise ValueError(f"{root / MANIFEST}: would no longer match the files written; remove it, "
                         "or pass manifest=True to rewrite it")
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for s in features.splits:
        files.append(save_npy(root / f"{s}_labels.npy", features.y[s]))
        for m in features.modalities:
            plain, pool_file, index_file = _forms(root, s, m)
            if m in pooled:
                pool, index = _pool(features.x[s][m])
                files += [save_npy(pool_file, pool), save_npy(index_file, index)]
                plain.unlink(missing_ok=True)
            else:
                files.append(save_npy(plain, features.x[s][m]))
                pool_file.unlink(missing_ok=True)
                index_file.unlink(missing_ok=True)
        for name, a in features.nuisance.get(s, {}).items():
            files.append(save_npy(root / f"{s}_nuisance_{name}.npy", a))
    if manifest:
        listing = {f.name: {"sha256": sha256_file(f), "bytes": f.stat().st_size} for f in files}
        write_text(root / MANIFEST, json.dumps({"format": "mmae-feature-bundle/1 (mmae.data.save_bundle)",
                                                "name": features.name, "files": listing}, indent=1))
    return root
