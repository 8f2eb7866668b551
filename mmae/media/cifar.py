"""CIFAR-10, the image source of the media set: read from the JPEG subset tar or the official
archive, and download the official archive with its md5 checked."""
from __future__ import annotations

import io
import pickle
import tarfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from mmae.media import LABEL_NAMES

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_MD5 = "c58f30108f718f92721af3b95e74349a"
# ../shared/data beside the repository (machines of this project reach no site but the registries)
DEFAULT_TAR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10-jpeg-subset.tar"


def download_cifar(dest: str | Path | None = None, url: str = CIFAR_URL, md5: str = CIFAR_MD5) -> Path:
    """Download the official ``cifar-10-python.tar.gz`` to ``dest`` and check its md5.

    ``dest`` defaults to ``~/.cache/mmae/cifar-10-python.tar.gz``; an existing file with the right md5
    is reused. Raises ConnectionError when offline (the message says what to do instead) and
    ValueError when the md5 differs (the bad file is removed).
    """
    from mmae.luma.fetch import fetch_md5

    dest = Path(dest) if dest is not None else Path.home() / ".cache" / "mmae" / "cifar-10-python.tar.gz"
    return fetch_md5(url, dest, md5, f"For the small real set: download it on a machine with internet access "
                     f"(md5 {md5}) and pass its path, `python -m mmae.media build --set cifar10 --source PATH`, "
                     f"or use the JPEG subset tar ({DEFAULT_TAR})")


@lru_cache(maxsize=2)
def read_cifar(source: str | Path = DEFAULT_TAR, pool: int = 1000) -> dict[tuple[str, str], np.ndarray]:
    """uint8 (pool, 32, 32, 3) images per (CIFAR split, class): the first ``pool`` of each class.

    ``source`` is the JPEG subset tar (``cifar10/{train,test}/<class>/0000.jpg``) or the official
    ``cifar-10-python.tar.gz`` (python pickles, the exact pixels); both give the same pictures in
    the same order (the JPEG files are numbered in the archive's order).
    """
    from PIL import Image

    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"CIFAR-10 source {source} does not exist: put cifar10-jpeg-subset.tar at "
                                f"{DEFAULT_TAR} (../shared/data beside the repository) or download the official "
                                "archive (`python -m mmae.media build --cifar download`)")
    out = {}
    with tarfile.open(source, "r:*") as tf:
        names = set(tf.getnames())
        if "cifar-10-batches-py/batches.meta" in names:
            load = lambda n: pickle.load(tf.extractfile(f"cifar-10-batches-py/{n}"), encoding="latin1")  # noqa: E731
            label_names = load("batches.meta")["label_names"]
            for split, files in (("train", [f"data_batch_{i}" for i in range(1, 6)]), ("test", ["test_batch"])):
                parts = [load(f) for f in files]
                x = np.concatenate([np.asarray(p["data"], np.uint8) for p in parts]).reshape(-1, 3, 32, 32)
                y = np.concatenate([p["labels"] for p in parts])
                for k, c in enumerate(label_names):
                    out[split, c] = x[y == k][:pool].transpose(0, 2, 3, 1).copy()
        elif "cifar10/test/cat/0000.jpg" in names:
            for split in ("train", "test"):
                for c in LABEL_NAMES:
                    out[split, c] = np.stack([np.asarray(Image.open(io.BytesIO(tf.extractfile(
                        f"cifar10/{split}/{c}/{i:04d}.jpg").read())).convert("RGB")) for i in range(pool)])
        else:
            raise ValueError(f"{source}: expected the CIFAR-10 JPEG subset tar or cifar-10-python.tar.gz, "
                             f"found neither cifar10/test/cat/0000.jpg nor cifar-10-batches-py/batches.meta")
    bad = {k: v.shape for k, v in out.items() if v.shape != (pool, 32, 32, 3)}
    if bad:
        raise ValueError(f"{source}: expected {pool} images of 32x32x3 per class and split, got {bad}")
    return out
