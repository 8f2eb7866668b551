"""The folders :func:`mmae.luma.bundle.build_bundle` may write into: absent, empty, or its own."""
from __future__ import annotations

import json
import re
from pathlib import Path

from mmae.data import MODALITIES
from mmae.folders import claim_dir

BUNDLE_FORMAT = "mmae-luma-bundle/1"
_SPLITS = "(?:train|test|ood)"
_TMP = r"\.(?:{})\.\w+\.tmp"  # a temporary file of mmae.atomic left by a kill: .{name}.{random}.tmp
_OUT_NAMES = rf"{_SPLITS}_(?:labels|{'|'.join(MODALITIES)})\.npy|triplets\.csv|finetune_history\.csv|manifest\.json"
_PART_NAMES = rf"{_SPLITS}_\w+_part\d{{5}}\.npy|stamp\.txt|vgg_finetuned\.pt|finetune_history\.csv"
_OWN_OUT = re.compile(rf"{_OUT_NAMES}|parts|{_TMP.format(_OUT_NAMES)}")
_OWN_PART = re.compile(rf"{_PART_NAMES}|{_TMP.format(_PART_NAMES)}")


def claim_out(out_dir: str | Path, overwrite: bool = False) -> Path:
    """``out_dir`` once :func:`foreign_entries` finds nothing foreign in it (or ``overwrite``):
    FileExistsError naming what is foreign otherwise, NotADirectoryError for a file
    (:func:`mmae.folders.claim_dir`). :func:`build_bundle` calls it first; the command line, before
    it loads any model."""
    return claim_dir(out_dir, foreign_entries, overwrite, "python -m mmae.luma extract")


def foreign_entries(out: str | Path) -> list[str]:
    """What in bundle folder ``out`` :func:`build_bundle` did not write (empty: ``out`` is its own).

    Its own: the names it writes (``{split}_{labels,image,audio,text}.npy``, ``triplets.csv``,
    ``finetune_history.csv``, ``manifest.json``, ``parts/`` holding only its chunks, ``stamp.txt``,
    ``vgg_finetuned.pt`` and ``finetune_history.csv``, and the temporary files of a killed write),
    in a folder marked as its work: a ``manifest.json`` of format ``mmae-luma-bundle/1``, or
    ``parts/stamp.txt`` (a run that stopped before its manifest). Arrays and tables with neither
    marker are another program's, whatever their names.
    """
    out = Path(out)
    names = sorted(p.name for p in out.iterdir())
    bad = [n for n in names if not _OWN_OUT.fullmatch(n)]
    parts = out / "parts"
    if parts.is_dir():
        bad += [f"parts/{p.name}" for p in sorted(parts.iterdir()) if not _OWN_PART.fullmatch(p.name) or p.is_dir()]
    elif parts.exists():
        bad.append("parts (a file, not the folder of parts)")
    manifest = out / "manifest.json"
    if manifest.exists():
        fmt = _manifest_format(manifest)
        if fmt != BUNDLE_FORMAT:
            bad.append(f"manifest.json (format {fmt!r}, not {BUNDLE_FORMAT!r})")
    elif not (parts / "stamp.txt").is_file():
        bad += [f"{n} (neither a manifest.json of {BUNDLE_FORMAT} nor parts/stamp.txt beside it)"
                for n in names if n != "parts" and n not in bad]
    return bad


def _manifest_format(path: Path) -> str | None:
    """The ``format`` of manifest ``path``; None when it is unreadable or has none."""
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return manifest.get("format") if isinstance(manifest, dict) else None
