"""Where notebooks hand results to each other, and the keys that keep those results fresh.

Files in ``artifacts_dir`` (default ``artifacts/`` at the repository root):

==================================  ===========================================================
``mmae_z{latent_dim}.pt``           checkpoint: weights, model and train configs, loss history,
                                    the run key, data name and fingerprint (03_train)
``latents_z{latent_dim}_{split}.npy``  fused latents z of each split, (n_split, latent_dim) (03_train)
``table2_single_modality.csv``      PCA + K-Means per modality, every k (02_baselines)
``table3_fusion.csv``               fusion PCA + K-Means, every weight triple and k (02_baselines)
``table4_mmae.csv``                 K-Means on the MMAE test latents, every k (04_evaluate)
``zoo/{model}_z{latent_dim}.pt``    every seed of one compared model, with its run key (07-14)
``robustness/{data set}/``          the zoo, tuning and table of one data set of chapter 15
``beyond_{question}.csv``           per-seed tables of chapters 08-12, tagged with the zoo's key
``scorecard.csv``                   every model x every question, mean ± std (14_scorecard)
``sweeps/{param}={value}/``         papermill runs of 03_train and ``sweeps.csv`` (13_sweeps)
``fig*.png``                        the figures shown in the book
==================================  ===========================================================

Every cached result carries a *run key*: a sha256 of the ``mmae`` source it depends on
(:data:`TRAINING_CODE` for trained models, :data:`RESULT_CODE` for tables computed from them), the
data fingerprint and the parameters, so a change to any of them can never be served stale, while
an edit to a figure or a sentence keeps every trained model.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import mmae


def project_root(start: Path | None = None) -> Path:
    """The repository root (the first folder upwards holding ``_config.yml`` and ``mmae/``), else cwd."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").exists() and (folder / "mmae").is_dir():
            return folder
    return here


def display_path(path: str | os.PathLike, root: Path | None = None) -> str:
    """``path`` as a page of the book should print it: relative to the repository root (``root``,
    default :func:`project_root`) when it lies inside it, else relative to the working directory
    when it lies there, else as given. The build machine's absolute paths never reach a reader.

    Examples
    --------
    >>> display_path(project_root() / "artifacts" / "mmae_z128.pt")
    'artifacts/mmae_z128.pt'
    >>> display_path("/elsewhere/x.pt", root=Path("/repo"))
    '/elsewhere/x.pt'
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path, got {type(path).__name__} {path!r}")
    given = Path(path)
    absolute = (given if given.is_absolute() else Path.cwd() / given).resolve()
    for base in (root or project_root(), Path.cwd()):
        try:
            return absolute.relative_to(Path(base).resolve()).as_posix()
        except ValueError:
            continue
    return given.as_posix()


SYSTEM = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin",
          "/sys", "/usr", "/var")  # folders of the system; "/var/tmp" is a user folder
USER = ("/var/tmp",)


def check_folder(artifacts_dir: str | Path) -> Path:
    """The absolute form of ``artifacts_dir`` (a relative one taken from the repository root), or
    a ``ValueError`` when it is ``/`` or lies in a system folder (:data:`SYSTEM`): results go to
    the project or to a user's folder, never where a run as root would scatter them over the system."""
    if not isinstance(artifacts_dir, (str, os.PathLike)) or not str(artifacts_dir).strip():
        raise TypeError(f"artifacts_dir must be a non-empty str or path, got {type(artifacts_dir).__name__} "
                        f"{artifacts_dir!r}")
    path = Path(artifacts_dir)
    path = (path if path.is_absolute() else project_root() / path).resolve()
    inside = lambda base: path == Path(base) or Path(base) in path.parents  # noqa: E731
    if path == Path(path.anchor) or (any(inside(b) for b in SYSTEM) and not any(inside(u) for u in USER)):
        raise ValueError(f"artifacts_dir must be inside the project or a user folder, got {str(artifacts_dir)!r} "
                         f"({path}: {'the root of the file system' if path == Path(path.anchor) else 'a system folder'})")
    return path


def resolve_dir(artifacts_dir: str | Path) -> Path:
    """An absolute ``artifacts_dir``; a relative one is taken from the repository root, so that the
    book (run from ``notebooks/``) and papermill (run from the root) share one folder. Created if
    needed; ``/`` or a system folder is refused (:func:`check_folder`)."""
    path = check_folder(artifacts_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


# What a cached result depends on, as paths under mmae/: a cosmetic edit elsewhere (a figure, a
# sentence of a finding, the benchmark) keeps every cache; an edit here invalidates what depends on it.
TRAINING_CODE = ("data", "models", "training", "device.py")  # trained weights and their histories
RESULT_CODE = TRAINING_CODE + ("evaluation", "study", "baselines.py", "paper.py")  # tables computed from models
EXTRACTION_CODE = ("luma", "data", "device.py")  # LUMA's features extracted by mmae.luma


def writable_dir(artifacts_dir: str | Path) -> Path:
    """:func:`resolve_dir`, then a check that files can be created there, before any expensive
    work: a read-only ``artifacts_dir`` is an error now, not after a training run."""
    try:
        path = resolve_dir(artifacts_dir)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        path = Path(artifacts_dir)
        raise PermissionError(f"artifacts_dir {path} is not writable ({err.strerror}): "
                              "choose another folder with -p artifacts_dir ...") from err
    return path


def code_version(parts: tuple[str, ...] = TRAINING_CODE) -> str:
    """sha256 over the source of the ``mmae`` modules under ``parts`` (folders or files relative
    to the package; path and content of every ``.py``)."""
    root = Path(mmae.__file__).parent
    files = set()
    for part in parts:
        path = root / part
        files |= set(path.rglob("*.py")) if path.is_dir() else {path} if path.exists() else set()
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def run_key(data_fingerprint: str, params: dict, code: tuple[str, ...] = TRAINING_CODE) -> str:
    """The key of a cached result: the version of the ``code`` it depends on + data fingerprint +
    parameters (JSON, sorted)."""
    blob = json.dumps({"code": code_version(code), "data": data_fingerprint, "params": params},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def checkpoint_path(artifacts_dir: Path, latent_dim: int) -> Path:
    return Path(artifacts_dir) / f"mmae_z{latent_dim}.pt"


def latents_path(artifacts_dir: Path, latent_dim: int, split: str) -> Path:
    return Path(artifacts_dir) / f"latents_z{latent_dim}_{split}.npy"
