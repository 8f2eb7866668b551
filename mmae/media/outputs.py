"""What both media builders share about their output: which folder they may write over, and
the first stages of ``verify`` (every file against the manifest, the rows drawn at random)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mmae.data import verify_manifest
from mmae.data.manifest import MANIFEST
from mmae.folders import claim_dir


def foreign_entries(out: str | Path, fmt: str) -> list[str]:
    """What in ``out`` is not the earlier output of the builder whose manifest format is ``fmt``
    (empty: ``out`` is that builder's own, and may be replaced).

    Its own output is a folder whose ``manifest.json`` has ``format`` ``fmt`` and lists every other
    file in it (the builder writes the whole folder at once, :func:`mmae.atomic.atomic_dir`; its
    resumable chunks live in the cache, not here). Without such a manifest, everything in the
    folder is foreign.
    """
    out = Path(out)
    names = sorted(p.name for p in out.iterdir())
    try:
        manifest = json.loads((out / MANIFEST).read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        manifest = None
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found != fmt:
        why = "none" if MANIFEST not in names else f"format {found!r}"
        return [f"{n} (no manifest.json of this builder: {why})" for n in names]
    listed = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    return [n for n in names if n != MANIFEST and (n not in listed or not (out / n).is_file())]


def claim_out(out: str | Path, fmt: str, overwrite: bool = False) -> Path:
    """``out`` once :func:`foreign_entries` finds nothing foreign in it (or ``overwrite``), before
    any work; FileExistsError naming what is foreign otherwise, NotADirectoryError for a file."""
    return claim_dir(out, lambda folder: foreign_entries(folder, fmt), overwrite, "python -m mmae.media build")


def check_files(bundle: str | Path) -> dict:
    """The first stage of :func:`verify`: every file the manifest of ``bundle`` lists against its
    sha256, every ``.npy`` file listed (:func:`mmae.data.verify_manifest`). Returns the manifest.

    Raises
    ------
    FileNotFoundError
        ``bundle`` is not a folder, it has no ``manifest.json``, or a listed file is missing.
    ValueError
        A file's sha256 differs from the manifest's (the message names the file and both hashes), a
        ``.npy`` file is not listed, or the manifest is malformed.
    """
    bundle = Path(bundle)
    if not bundle.is_dir():
        raise FileNotFoundError(f"bundle folder {bundle} does not exist")
    manifest = verify_manifest(bundle)
    if manifest is None:
        raise FileNotFoundError(f"{bundle / MANIFEST} is missing: verify checks every file of the bundle against "
                                "the sha256 its manifest records, and a bundle without one cannot be verified")
    return manifest


def draw_rows(counts: dict[str, int], n_rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The rows :func:`verify` rebuilds: ``n_rows`` distinct rows of every split drawn at random
    (all of them when the split has fewer), sorted; ``counts`` gives each split's row count. The
    same ``counts``, ``n_rows`` and ``seed`` draw the same rows.

    Raises
    ------
    TypeError
        ``n_rows`` or ``seed`` is not an int.
    ValueError
        ``n_rows`` < 1, ``seed`` < 0 or a count < 1.
    """
    for name, value, low in (("n_rows", n_rows, 1), ("seed", seed, 0)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if bad := {s: n for s, n in counts.items() if n < 1}:
        raise ValueError(f"counts: every split must have at least 1 row, got {bad}")
    rng = np.random.default_rng(seed)
    return {s: np.sort(rng.choice(n, min(n_rows, n), replace=False)) for s, n in counts.items()}
