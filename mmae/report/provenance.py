"""Where a chapter's numbers come from, computed when it is built, never typed by hand.

Every chapter ends with ``provenance.show("NN_name", features, device, artifacts_dir)``: a short
block under the page's last output (the git commit and whether the working tree was dirty, the
data set's name and fingerprint, the versions of the libraries that computed it, the device, the
date in UTC and the chapter's wall time), and the same record as JSON in
``<artifacts_dir>/provenance/NN_name.json``, which the Reproducibility chapter gathers into one table.

The wall time runs from ``provenance.start("NN_name")``, which every chapter calls in its first code
cell (it also starts the watchdog of the book build's time limit, :mod:`mmae.watchdog`); importing
this module starts nothing. Nothing here fails for want of git or of a library: they are reported
as "unknown" or "absent".
"""
from __future__ import annotations

import json
import platform
import re
import subprocess
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from mmae import watchdog
from mmae.artifacts import project_root, writable_dir
from mmae.atomic import write_text

DISTS = ("torch", "numpy", "scikit-learn", "umap-learn", "jupyter-book")  # versions on every page
FOLDER = "provenance"  # under artifacts_dir
UNKNOWN, ABSENT = "unknown", "absent"
FIELDS = ("chapter", "commit", "dirty", "data", "versions", "device", "date", "wall_s")
_CHAPTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_STARTED: tuple[str, float] | None = None  # (chapter, time.perf_counter()) once start() was called


def start(chapter: str) -> float:
    """Start the clock of ``chapter`` (a notebook's name) unless one runs already in this kernel,
    and, when ``MMAE_NOTEBOOK_LIMIT_S`` is set (the book build sets it), the watchdog of its wall
    time (:func:`mmae.watchdog.start`). Return the start (``time.perf_counter``)."""
    global _STARTED
    _check_chapter(chapter)
    if _STARTED is None:
        _STARTED = (chapter, time.perf_counter())
    watchdog.start(_STARTED[0])
    return _STARTED[1]


def elapsed(chapter: str) -> float:
    """Seconds since ``start(chapter)``; ``RuntimeError`` when no clock runs, or another chapter's."""
    if _STARTED is None or _STARTED[0] != chapter:
        running = "no clock runs" if _STARTED is None else f"the clock runs for {_STARTED[0]!r}"
        raise RuntimeError(f"chapter {chapter!r} has no wall time: {running}; call provenance.start({chapter!r}) "
                           "in its first code cell")
    return time.perf_counter() - _STARTED[1]


def _check_chapter(chapter) -> None:
    if not isinstance(chapter, str) or not _CHAPTER.fullmatch(chapter):
        raise ValueError(f"chapter must be a notebook name such as '03_train' (letters, digits, _ . -), got {chapter!r}")


def git_state(root: str | Path | None = None) -> dict:
    """``{"commit": short sha, "dirty": bool}`` of the git checkout at ``root`` (default: the
    repository root); ``{"commit": "unknown", "dirty": None}`` when git is missing, ``root`` is no
    checkout or git fails. Untracked files that are not ignored count as dirty: a new module can
    change what a chapter computes."""
    root = Path(root) if root is not None else project_root()

    def git(*args: str) -> str:
        return subprocess.run(["git", "--no-optional-locks", "-C", str(root), *args], capture_output=True,
                              text=True, timeout=60, check=True).stdout.strip()

    try:
        commit, status = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return {"commit": UNKNOWN, "dirty": None}
    return {"commit": commit, "dirty": bool(status)}


def versions(dists: tuple[str, ...] = DISTS) -> dict[str, str]:
    """Python's version and each distribution's (``"absent"`` when it is not installed)."""
    found = {"python": platform.python_version()}
    for dist in dists:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = ABSENT
    return found


def describe_device(device) -> str:
    """The device a chapter computed on: ``"auto"`` resolved by :func:`mmae.device.pick_device`,
    a CUDA device with its name (``"cuda:0 (NVIDIA H200)"``)."""
    import torch

    from mmae.device import pick_device

    dev = pick_device(str(device) if isinstance(device, torch.device) else device)
    if dev.type != "cuda":
        return str(dev)
    index = torch.cuda.current_device() if dev.index is None else dev.index
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def _data(features) -> list[dict]:
    """name, fingerprint and standardisation of a Features, a list of them, or None (no data)."""
    items = [] if features is None else list(features) if isinstance(features, (list, tuple)) else [features]
    for i, f in enumerate(items):
        if not (hasattr(f, "name") and callable(getattr(f, "fingerprint", None))):
            where = "features" if len(items) == 1 and not isinstance(features, (list, tuple)) else f"features[{i}]"
            raise TypeError(f"{where} must be a mmae.data.Features (or features a list of them, or None), "
                            f"got {type(f).__name__}")
    return [{"name": f.name, "fingerprint": f.fingerprint(), "standardized": bool(getattr(f, "standardized", False))}
            for f in items]


def record(chapter: str, features=None, device="cpu", *, root: str | Path | None = None,
           now: datetime | None = None, wall_s: float | None = None) -> dict:
    """The provenance of ``chapter`` (a notebook's name, e.g. ``"03_train"``), as a JSON-ready dict.

    Parameters
    ----------
    chapter : str
        The notebook's name: letters, digits, ``_``, ``.``, ``-`` (it names the JSON file).
    features : Features, list of Features or None
        The data the chapter computed on (None: none).
    device : str or torch.device
        The chapter's ``device`` parameter (``"auto"`` is resolved); ``"cpu"`` for a chapter
        without one.
    root : str, Path or None
        The git checkout (default: the repository root).
    now, wall_s : datetime, float or None
        The date (UTC) and the wall time; default the present moment and ``elapsed(chapter)``.
    """
    _check_chapter(chapter)
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError(f"now must be a timezone-aware datetime (UTC), got the naive {now.isoformat()}")
    wall_s = elapsed(chapter) if wall_s is None else wall_s
    if isinstance(wall_s, bool) or not isinstance(wall_s, (int, float)) or not wall_s >= 0:
        raise ValueError(f"wall_s must be a number of seconds >= 0, got {wall_s!r}")
    return {"chapter": chapter, **git_state(root), "data": _data(features), "versions": versions(),
            "device": describe_device(device), "wall_s": round(float(wall_s), 1),
            "date": now.astimezone(timezone.utc).isoformat(timespec="seconds")}


def format_seconds(seconds: float) -> str:
    """``"8.2 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(round(seconds), 60)
    return f"{minutes} min {s:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def commit_text(rec: dict) -> str:
    """``"`abc1234`"``, with ``" (working tree dirty)"`` or ``" (git unavailable)"``."""
    if rec["commit"] == UNKNOWN:
        return "unknown (git unavailable)"
    return f"`{rec['commit']}`" + (" (working tree dirty)" if rec["dirty"] else "")


def data_text(rec: dict) -> str:
    """Each data set's name and the first 12 hex digits of its fingerprint."""
    return "; ".join(f"{d['name']}: fingerprint `{d['fingerprint'][:12]}`" + (" (standardised)" if d.get("standardized")
                     else "") for d in rec["data"]) or "none"


def to_markdown(rec: dict) -> str:
    """The block shown at the end of a chapter: a heading line and a short list (plain CommonMark,
    which is what myst-nb renders a cell's Markdown output with: no tables)."""
    libs = ", ".join(f"{k} {v}" for k, v in rec["versions"].items())
    rows = [("commit", commit_text(rec)), ("data", data_text(rec)), ("versions", libs), ("device", rec["device"]),
            ("built", f"{rec['date']}, in {format_seconds(rec['wall_s'])}")]
    return "**Provenance of this page**, computed when it was built:\n\n" + "\n".join(f"- {k}: {v}" for k, v in rows)


def write(rec: dict, artifacts_dir: str | Path = "artifacts") -> Path:
    """Write ``rec`` atomically to ``<artifacts_dir>/provenance/<chapter>.json``; return the path."""
    missing = [f for f in FIELDS if f not in rec]
    if missing:
        raise ValueError(f"rec must hold the fields {list(FIELDS)}; missing {missing}")
    path = writable_dir(Path(artifacts_dir) / FOLDER) / f"{rec['chapter']}.json"
    return write_text(path, json.dumps(rec, indent=1) + "\n")


def show(chapter: str, features=None, device="cpu", artifacts_dir: str | Path = "artifacts") -> None:
    """Display the provenance block of ``chapter`` and write its record (see :func:`record`)."""
    from IPython.display import Markdown, display

    rec = record(chapter, features, device)
    write(rec, artifacts_dir)
    display(Markdown(to_markdown(rec)))


def read(artifacts_dir: str | Path = "artifacts", chapters: list[str] | None = None) -> list[dict]:
    """The records in ``<artifacts_dir>/provenance/`` by chapter name, only those of ``chapters``
    when given (a stale record of a chapter no longer in the book is not read); [] when there is none."""
    folder = Path(artifacts_dir) if Path(artifacts_dir).is_absolute() else project_root() / artifacts_dir
    records = []
    for path in sorted((folder / FOLDER).glob("*.json")):
        if chapters is not None and path.stem not in chapters:
            continue
        try:
            rec = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path.name}: expected a provenance record (JSON), got an unreadable file "
                             f"({type(err).__name__}); rebuild chapter {path.stem}") from err
        missing = [f for f in FIELDS if f not in rec] if isinstance(rec, dict) else list(FIELDS)
        if missing:
            raise ValueError(f"{path.name}: expected the fields {list(FIELDS)}, missing {missing}; "
                             f"rebuild chapter {path.stem}")
        records.append(rec)
    return records


def chapters(root: str | Path | None = None, exclude: tuple[str, ...] = ()) -> list[str]:
    """The book's chapters (``notebooks/NN_*.py`` under ``root``), by name, less ``exclude``."""
    folder = (Path(root) if root is not None else project_root()) / "notebooks"
    return [p.stem for p in sorted(folder.glob("[0-9][0-9]_*.py")) if p.stem not in exclude]


def table(records: list[dict]):
    """One row per record: chapter, commit, data, device, date, wall time, then one column per version."""
    import pandas as pd

    rows = [{"chapter": r["chapter"], "commit": commit_text(r).replace("`", ""),
             "data": data_text(r).replace("`", ""), "device": r["device"], "built (UTC)": r["date"],
             "wall time": format_seconds(r["wall_s"]), **r["versions"]} for r in records]
    return pd.DataFrame(rows).set_index("chapter") if rows else pd.DataFrame(columns=["commit"])


def _listing(groups: dict) -> str:
    return "; ".join(f"{key} ({', '.join(names)})" for key, names in groups.items())


def verdict(records: list[dict], expected: list[str] | None = None) -> str:
    """Whether the chapters were built from one commit, a clean tree, one fingerprint per data set
    and one environment, as Markdown sentences (``expected``: chapters that should have a record)."""
    if not records:
        return "No provenance record yet: build the chapters first."
    names = [r["chapter"] for r in records]
    lines = []
    missing = [c for c in expected or [] if c not in names]
    if missing:
        lines.append(f"- **No record** for {', '.join(missing)}: build {'it' if len(missing) == 1 else 'them'} "
                     "with the same `artifacts_dir`.")
    commits: dict[str, list[str]] = {}
    for r in records:
        commits.setdefault(commit_text(r), []).append(r["chapter"])
    known = {r["commit"] for r in records} - {UNKNOWN}
    same_commit = len({r["commit"] for r in records}) == 1 and bool(known)
    clean = all(r["dirty"] is False for r in records)
    if same_commit:
        lines.append(f"- **Commit**: all {len(records)} chapters were built from `{known.pop()}`, "
                     + ("with a clean working tree." if clean else "with uncommitted changes (a dirty tree)."))
    else:
        lines.append(f"- **Commit**: the chapters were built from {len(commits)} states of the code: "
                     f"{_listing(commits)}. A chapter served from the build cache keeps the commit it was "
                     "executed at.")
    data: dict[tuple, dict[str, list[str]]] = {}
    for r in records:
        for d in r["data"]:
            data.setdefault((d["name"], d.get("standardized", False)), {}).setdefault(
                f"`{d['fingerprint'][:12]}`", []).append(r["chapter"])
    same_data = all(len(fps) == 1 for fps in data.values())
    for (name, std), fps in data.items():
        form = "standardised" if std else "as loaded"
        lines.append(f"- **Data**: {name}, {form}: " + (f"one fingerprint {_listing(fps)}." if len(fps) == 1 else
                                                         f"**{len(fps)} different fingerprints**: {_listing(fps)}."))
    envs: dict[str, list[str]] = {}
    for r in records:
        envs.setdefault(", ".join(f"{k} {v}" for k, v in r["versions"].items()), []).append(r["chapter"])
    lines.append(f"- **Environment**: {next(iter(envs))}, in every chapter." if len(envs) == 1 else
                 f"- **Environment**: {len(envs)} different sets of versions: {_listing(envs)}.")
    yes = {True: "yes", False: "no"}
    lines.append(f"\n**Same commit: {yes[same_commit]}. Clean working tree: {yes[clean]}. Same data "
                 f"(one fingerprint per data set): {yes[same_data]}. Every chapter recorded: {yes[not missing]}.**")
    return "\n".join(lines)

