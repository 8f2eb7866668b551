"""The LUMA-shaped set's features, one (split, class) chunk per task of :func:`mmae.cluster.run`.

The expensive parts (EfficientNet-Lite0's penultimate features of a class's photographs, Whisper's
encodings of its clip pool) are cached per chunk in ``MMAE_CACHE/media-build/tiny50/`` under names
that carry their key (:func:`mmae.media.make50.chunk_keys`). :func:`extract` plans a :class:`Chunk`
for every (split, class) whose files are not there yet; each runs as a task
(:func:`compute_chunk`: where ``MMAE_SCHEDULER`` says, ``python -m mmae.media build --scheduler``)
that loads the encoders once per worker process, synthesises the clips itself, writes its files
atomically and returns its time per item. This process merges the times into ``timings.json``
(one writer) and reads every chunk in order, so the features are the same byte for byte wherever
the chunks ran (every task runs with :func:`mmae.cluster.current_threads` torch threads and as many
CTranslate2 threads). On a cluster the cache must be on a file system the workers share, and the
workers need the voice engines of :mod:`mmae.media.voices`.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mmae import cluster
from mmae.atomic import save_npy, write_text
from mmae.data import sha256_file
from mmae.media import classes50 as cl
from mmae.media import efficientnet as enet
from mmae.media import make50 as mk
from mmae.media import whisper
from mmae.media.tinyimagenet import read_tiny


@dataclass(frozen=True)
class Chunk:
    """One (split, class) chunk as a task: what to compute and where to save it.

    Attributes
    ----------
    split : str
    label : int
    image_file, audio_file : str
        The cached penultimate features (n rows, 1280) and audio features (one row per clip).
    images : ndarray or None
        uint8 (n, 64, 64, 3) photographs of the chunk's rows; None when ``image_file`` is cached.
    audio : bool
        Whether ``audio_file`` must be computed.
    """

    split: str
    label: int
    image_file: str
    audio_file: str
    images: np.ndarray | None = None
    audio: bool = False


@lru_cache(maxsize=1)
def _lite0():
    """EfficientNet-Lite0, loaded once per process."""
    return enet.load_lite0()


def _timed(path: Path, compute, per: int, timings: dict) -> None:
    """``compute()`` saved at ``path`` atomically, its time per item (of ``per``) in ``timings``."""
    start = time.perf_counter()
    a = compute()
    timings[path.name] = (time.perf_counter() - start) / per
    save_npy(path, a)


def compute_chunk(cfg: mk.Tiny50Config, chunk: Chunk) -> dict[str, float]:
    """One chunk as a task: the files of ``chunk`` it must compute, saved; ``{file name: seconds per item}``
    (the audio's time is the encoder's, not the synthesis')."""
    timings: dict[str, float] = {}
    if chunk.images is not None:
        _timed(Path(chunk.image_file), lambda: enet.penultimate_features(
            _lite0(), chunk.images, size=cfg.image_size, progress=False), len(chunk.images), timings)
    if chunk.audio:
        waves = [mk.clip_of(cfg, chunk.split, chunk.label, j)[0] for j in range(cfg.clips(chunk.split))]
        model = whisper.load_whisper(threads=cluster.current_threads()) if cfg.audio == "whisper" else None
        _timed(Path(chunk.audio_file), lambda: mk._audio_features(cfg, waves, model), len(waves), timings)
    return timings


def plan(cfg: mk.Tiny50Config, table: dict, images: dict, key: dict, work: Path) -> list[Chunk]:
    """Every (split, class) chunk of :func:`mmae.media.make50.draw`'s ``table``, in order, with what is not cached."""
    out = []
    for split, t in table.items():
        for label in mk.split_classes(split):
            image = work / f"{split}_{label}_penultimate-{key['image']}.npy"
            audio = work / f"{split}_{label}_{cfg.audio}-{key['audio']}.npy"
            rows = t["image"][t["labels"] == label]
            out.append(Chunk(split, label, str(image), str(audio),
                             None if image.is_file() else images[cl.CLASSES[label].wnid][rows], not audio.is_file()))
    return out


def run_chunks(cfg: mk.Tiny50Config, chunks: list[Chunk], work: Path, progress: bool = True) -> dict[str, float]:
    """The chunks with something to compute, as tasks; every chunk's time per item (``work/timings.json``,
    merged here and written once, by this process)."""
    saved = work / "timings.json"
    timings = json.loads(saved.read_text()) if saved.is_file() else {}
    todo = [c for c in chunks if c.images is not None or c.audio]
    work.mkdir(parents=True, exist_ok=True)
    for done in cluster.run(compute_chunk, todo, shared=cfg, desc="chunks", progress=progress):
        timings.update(done)
    if todo:
        write_text(saved, json.dumps(timings, indent=0, sort_keys=True))
    for c in chunks:
        for f in (c.image_file, c.audio_file):
            if not Path(f).is_file():
                raise FileNotFoundError(f"{f} was written by a task but is not here: the workers of "
                                        f"{cluster.SCHEDULER} must share {work} (a shared file system)")
    return timings


def extract(cfg: mk.Tiny50Config, tiny: Path, work: Path, progress: bool = True) -> dict:
    """Every feature of the set, chunk by chunk (cached in ``work``): per split the penultimate
    image features of its rows, the audio features and voices of its clip pools, the text features
    of its description pools, and the draw."""
    images = read_tiny(tiny, tuple(c.wnid for c in cl.CLASSES))
    pools = mk.texts_of(cfg)
    table = mk.draw(cfg, {i: {k: len(v) for k, v in p.items()} for i, p in pools.items()})
    key = mk.chunk_keys(cfg, sha256_file(tiny))
    chunks = plan(cfg, table, images, key, work)
    timings = run_chunks(cfg, chunks, work, progress)
    minilm, tok = mk._text_model()
    out = {"draw": table, "pools": pools}
    for split in table:
        mine = [c for c in chunks if c.split == split]
        out[split] = {"penultimate": np.concatenate([np.load(c.image_file) for c in mine]),
                      "audio": [np.load(c.audio_file) for c in mine],
                      "voice": [np.array([mk.voice_of(cfg, split, c.label, j) for j in range(cfg.clips(split))], np.int64)
                                for c in mine],
                      "text": [mk._embed(minilm, tok, pools[c.label]["all" if split == "ood" else split],
                                         cl.CLASSES[c.label].word) for c in mine]}
    kinds = {"image_s_per_image": f"_penultimate-{key['image']}.npy", "audio_s_per_clip": f"_{cfg.audio}-{key['audio']}.npy"}
    out["timings"] = {k: (float(np.median(v)) if (v := [t for f, t in timings.items() if f.endswith(end)]) else None)
                      for k, end in kinds.items()}  # medians over the chunks this cache computed
    out["timings"]["chunks_timed"] = len(timings)
    return out
