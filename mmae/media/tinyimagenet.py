"""Tiny ImageNet-200, the image source of the LUMA-shaped real set: the 66-class subset tar beside
the repository or the official ``tiny-imagenet-200.zip`` (md5-checked download).

Tiny ImageNet (Stanford CS231n) holds 64 x 64 photographs of 200 WordNet synsets drawn from
ImageNet: 500 train and 50 val images each. Terms of use: ImageNet's (non-commercial research
and education; https://image-net.org/download).
"""
from __future__ import annotations

import io
import re
import tarfile
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

TINY_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
TINY_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
DEFAULT_TAR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tinyimagenet-subset.tar"
PER_CLASS = 550  # 500 train + 50 val images per class
LICENCE = ("Tiny ImageNet (Stanford CS231n), images from ImageNet: ImageNet's terms of use, non-commercial "
           "research and educational use only, https://image-net.org/download")
_NUM = re.compile(r"_(\d+)\.JPEG$")


def download_tiny(dest: str | Path | None = None, url: str = TINY_URL, md5: str = TINY_MD5) -> Path:
    """Download the official ``tiny-imagenet-200.zip`` (248 MB) to ``dest`` and check its md5.

    ``dest`` defaults to ``~/.cache/mmae/tiny-imagenet-200.zip``; a file with the right md5 is
    reused. Raises ConnectionError when offline and ValueError when the md5 differs (the bad file
    is removed).
    """
    from mmae.luma.fetch import fetch_md5

    dest = Path(dest) if dest is not None else Path.home() / ".cache" / "mmae" / "tiny-imagenet-200.zip"
    return fetch_md5(url, dest, md5, f"Download it on a machine with internet access (md5 {md5}) and pass its "
                     f"path (`python -m mmae.media build --source PATH`), or use the subset tar ({DEFAULT_TAR})")


def _decode(raw: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))  # 554 of the 36,300 are greyscale


def _names(source: Path, names: list[str], wnids: tuple[str, ...]) -> dict[str, list[str]]:
    """Member names of every wanted class, train images (by number) then val images (by number)."""
    out = {w: ([], []) for w in wnids}
    if "tinyimagenet/words.txt" in names:  # the subset tar: train/<wnid>/, val/<wnid>/
        for n in names:
            parts = n.split("/")
            if len(parts) == 4 and parts[1] in ("train", "val") and parts[2] in out and n.endswith(".JPEG"):
                out[parts[2]][parts[1] == "val"].append(n)
        return {w: sorted(t, key=_number) + sorted(v, key=_number) for w, (t, v) in out.items()}
    raise ValueError(f"{source}: expected the Tiny ImageNet subset tar (tinyimagenet/words.txt) or "
                     "tiny-imagenet-200.zip (tiny-imagenet-200/wnids.txt)")


def _number(name: str) -> int:
    return int(_NUM.search(name).group(1))


def _zip_names(zf: zipfile.ZipFile, wnids: tuple[str, ...]) -> dict[str, list[str]]:
    """The official zip: train/<wnid>/images/<wnid>_<i>.JPEG, val/images/ + val_annotations.txt."""
    names = zf.namelist()
    train = {w: sorted((n for n in names if n.startswith(f"tiny-imagenet-200/train/{w}/images/")), key=_number)
             for w in wnids}
    val = {w: [] for w in wnids}
    for line in zf.read("tiny-imagenet-200/val/val_annotations.txt").decode().splitlines():
        f = line.split("\t")
        if len(f) > 1 and f[1] in val:
            val[f[1]].append(f"tiny-imagenet-200/val/images/{f[0]}")
    return {w: train[w] + sorted(val[w], key=_number) for w in wnids}


@lru_cache(maxsize=2)
def read_tiny(source: str | Path, wnids: tuple[str, ...], per_class: int = PER_CLASS) -> dict[str, np.ndarray]:
    """uint8 (per_class, 64, 64, 3) per wnid: its train images by number, then its val images
    (Tiny ImageNet: 500 + 50 = 550).

    ``source`` is the subset tar (``tinyimagenet/{train,val}/<wnid>/*.JPEG``) or the official
    ``tiny-imagenet-200.zip``; both give the same pictures in the same order.

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist.
    ValueError
        If it is neither layout, or a class has not ``per_class`` images of 64 x 64 x 3.
    """
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"Tiny ImageNet source {source} does not exist: put tinyimagenet-subset.tar at "
                                f"{DEFAULT_TAR} (../shared/data beside the repository) or download the official "
                                "archive (`python -m mmae.media build --tiny download`)")
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            members = _zip_names(zf, wnids)
            out = {w: np.stack([_decode(zf.read(n)) for n in ns]) for w, ns in members.items() if ns}
    else:
        with tarfile.open(source, "r:*") as tf:
            index = {m.name: m for m in tf.getmembers()}
            members = _names(source, list(index), wnids)
            out = {w: np.stack([_decode(tf.extractfile(index[n]).read()) for n in ns]) for w, ns in members.items() if ns}
    bad = {w: out[w].shape if w in out else "absent" for w in wnids
           if w not in out or out[w].shape != (per_class, 64, 64, 3)}
    if bad:
        raise ValueError(f"{source}: expected {per_class} images of 64x64x3 per class, got {bad}")
    return out
