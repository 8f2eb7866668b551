"""Fetching LUMA: the Hugging Face dataset, LUMA's split index files and CIFAR-10/100.

Nothing is downloaded at import time. (This module is not called ``download`` so that
``mmae.luma.download`` stays the function :func:`download`.)
"""
from __future__ import annotations

import shutil
from pathlib import Path

from mmae.data import MODALITIES
from mmae.luma.rows import split_index_name

HF_DATASET = "bezirganyan/LUMA"
SPLIT_INDEX_URL = "https://raw.githubusercontent.com/bezirganyan/LUMA/main/split_indices/{}"
CIFAR_URLS = {"cifar-10-batches-py": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
              "cifar-100-python": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"}


def fetch(url: str, dest: Path) -> Path:
    """Download ``url`` to ``dest`` (``file://`` URLs too); a network failure -> ConnectionError."""
    import urllib.error
    import urllib.request

    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:
            shutil.copyfileobj(r, f)
    except (urllib.error.URLError, OSError) as e:
        dest.unlink(missing_ok=True)
        raise ConnectionError(f"could not download {url} to {dest} ({e}); this needs internet access: "
                              "run `python -m mmae.luma download` on a machine that has it, then copy "
                              "the folder") from e
    return dest


def md5_file(path: Path) -> str:
    """md5 hex digest of a file (the checksum CIFAR and Tiny ImageNet publish)."""
    import hashlib

    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_md5(url: str, dest: Path, md5: str, instead: str) -> Path:
    """Download ``url`` to ``dest`` and check its md5; a file at ``dest`` with that md5 is reused.

    Raises ConnectionError when offline (the message adds ``instead``: what to do without a
    network) and ValueError when the md5 differs (the bad file is removed).
    """
    dest = Path(dest)
    if dest.is_file() and md5_file(dest) == md5:
        return dest
    part = dest.with_name(dest.name + ".part")
    try:
        fetch(url, part)
    except ConnectionError as e:
        raise ConnectionError(f"{e}. {instead}") from e
    if (actual := md5_file(part)) != md5:
        part.unlink()
        raise ValueError(f"{url}: md5 must be {md5}, got {actual}: the download is corrupt (removed; try again)")
    part.replace(dest)
    return dest


def download(luma_dir: str | Path, dataset: bool = True, splits: bool = True, cifar: bool = True) -> Path:
    """Make a local LUMA copy: the Hugging Face dataset, LUMA's split index files, CIFAR-10/100.

    Nothing is downloaded at import time; files already present are kept (re-running resumes).

    Parameters
    ----------
    luma_dir : str or Path
        Destination folder (about 7 GB with CIFAR).
    dataset, splits, cifar : bool
        Which parts to fetch: ``bezirganyan/LUMA`` from Hugging Face (audio, text, EDM images),
        ``split_indices/*.txt`` from LUMA's GitHub repository, CIFAR's python archives.

    Raises
    ------
    ConnectionError
        When a source cannot be reached; the message names it and says what to do.
    """
    import tarfile

    root = Path(luma_dir)
    root.mkdir(parents=True, exist_ok=True)
    if dataset:
        from huggingface_hub import snapshot_download

        try:
            snapshot_download(repo_id=HF_DATASET, repo_type="dataset", local_dir=root)
        except Exception as e:  # huggingface_hub wraps network errors in several classes
            raise ConnectionError(f"could not download the Hugging Face dataset {HF_DATASET} to {root} "
                                  f"({type(e).__name__}: {e}); run this on a machine with internet access "
                                  "or `git clone https://huggingface.co/datasets/bezirganyan/LUMA` there") from e
    if splits:
        for m in MODALITIES:
            for split in ("train", "test"):
                name = split_index_name(m, split)
                if not (root / "split_indices" / name).exists():
                    fetch(SPLIT_INDEX_URL.format(name), root / "split_indices" / name)
    if cifar:
        for folder, url in CIFAR_URLS.items():
            if not (root / folder).is_dir():
                archive = fetch(url, root / Path(url).name)
                with tarfile.open(archive) as tar:
                    tar.extractall(root, filter="data")
                archive.unlink()
    return root
