"""Spoken class words: espeak-ng "speakers", per-clip augmentation and log-mel statistics.

LUMA records each class word spoken by many people. Offline, ``espeak-ng`` (GPL-3.0; the audio it
generates is not covered by the GPL) speaks the word with 32 synthetic speakers (``SPEAKERS``):
8 English accents x the voice variants ``m1..m7, f1..f5`` with their own pitch, speed and
amplitude. Each (speaker, word) base clip is synthesised once (22.05 kHz, resampled to 16 kHz mono
with a polyphase filter); every row of the data set then gets its own augmented copy from an RNG
seeded by ``(seed, split, row)`` (:func:`augment`): random gain (-6..+6 dB), random leading and
trailing silence (0..0.25 s each) and white noise at a random SNR (5..30 dB).

Features (:func:`logmel_stats`, 192-D): 25 ms Hann windows (400 samples), 10 ms hop, 512-point
FFT power spectrum, 64 HTK-mel triangular bands over 0..8000 Hz (:func:`mel_filterbank`),
``log(mel + 1e-6)``; then per band the mean and standard deviation over time and the standard
deviation of the first time-differences (deltas): ``[mean(64), std(64), std(delta)(64)]``.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from math import gcd

import numpy as np
from scipy.signal import resample_poly

SAMPLE_RATE = 16000
N_MELS, WIN, HOP, N_FFT = 64, 400, 160, 512
SPLIT_CODES = {"train": 0, "test": 1, "ood": 2}
ACCENTS = ("en-gb", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: espeak-ng voice (accent + variant), pitch 0-99, words/min, amplitude."""

    voice: str
    pitch: int
    speed: int
    amplitude: int

    def args(self) -> list[str]:
        return ["-v", self.voice, "-p", str(self.pitch), "-s", str(self.speed), "-a", str(self.amplitude)]


#: the fixed speaker table (index = the nuisance label ``speaker``)
SPEAKERS = tuple(Speaker(f"{ACCENTS[i % 8]}+{VARIANTS[(5 * i) % 12]}", 25 + (17 * i) % 51,
                         125 + (23 * i) % 66, 70 + (29 * i) % 61) for i in range(32))


def espeak_version() -> str:
    """``espeak-ng --version`` (first line), or raise a clear error if it is not installed."""
    if shutil.which("espeak-ng") is None:
        raise FileNotFoundError("espeak-ng is not installed: `apt-get install espeak-ng` (Debian/Ubuntu)")
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[0]


def synthesize(word: str, speaker: Speaker) -> np.ndarray:
    """float32 mono waveform at 16 kHz of ``word`` spoken by ``speaker`` (peak-normalised to 0.5).

    Raises
    ------
    TypeError
        If ``word`` is not a str.
    ValueError
        If ``word`` is not a plain word or espeak-ng produced no audio.
    """
    if not isinstance(word, str):
        raise TypeError(f"word: expected a str, got {type(word).__name__} {word!r}")
    if not word.replace(" ", "").isalpha():
        raise ValueError(f"word: expected letters only, got {word!r}")
    espeak_version()
    raw = subprocess.run(["espeak-ng", *speaker.args(), "--stdout", word], capture_output=True, check=True).stdout
    if raw[:4] != b"RIFF" or len(raw) <= 44:
        raise ValueError(f"espeak-ng {speaker.args()} {word!r}: expected a WAV on stdout, got {len(raw)} bytes")
    rate = int.from_bytes(raw[24:28], "little")
    x = np.frombuffer(raw[44:44 + (len(raw) - 44) // 2 * 2], np.int16).astype(np.float64) / 32768
    g = gcd(SAMPLE_RATE, rate)
    x = resample_poly(x, SAMPLE_RATE // g, rate // g)
    nz = np.flatnonzero(np.abs(x) > 1e-3)  # trim espeak's own silence
    if len(nz) == 0:
        raise ValueError(f"espeak-ng {speaker.args()} {word!r}: silent output")
    x = x[nz[0]:nz[-1] + 1]
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def row_rng(seed: int, split: str, row: int) -> np.random.Generator:
    """The RNG of one row: ``default_rng([seed, split code, row])`` (rows rebuild independently)."""
    if split not in SPLIT_CODES:
        raise ValueError(f"split: expected one of {list(SPLIT_CODES)}, got {split!r}")
    return np.random.default_rng([seed, SPLIT_CODES[split], row])


def augment(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random gain (-6..6 dB), leading/trailing silence (0..0.25 s each), white noise at SNR 5..30 dB."""
    wave = np.asarray(wave, np.float64)
    gain = 10 ** (rng.uniform(-6, 6) / 20)
    lead, trail = rng.integers(0, SAMPLE_RATE // 4, size=2)
    x = np.concatenate([np.zeros(lead), gain * wave, np.zeros(trail)])
    snr = rng.uniform(5, 30)
    power = np.mean((gain * wave) ** 2)
    x = x + rng.standard_normal(len(x)) * np.sqrt(power / 10 ** (snr / 10))
    return np.clip(x, -1, 1).astype(np.float32)


def hz_to_mel(f):
    """HTK mel scale: ``2595 log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


def mel_to_hz(m):
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                   fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """float64 (n_mels, n_fft // 2 + 1) triangular filters, equally spaced in HTK mel, peak 1.

    Filter ``i`` rises linearly from mel point ``i`` to ``i + 1`` and falls to ``i + 2`` (n_mels + 2
    points from ``fmin`` to ``fmax``, default Nyquist), evaluated at the FFT bin frequencies.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    if n_mels < 1 or n_fft < 2 or not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"mel_filterbank: expected n_mels >= 1, n_fft >= 2, 0 <= fmin < fmax <= "
                         f"{sample_rate / 2}, got n_mels={n_mels}, n_fft={n_fft}, fmin={fmin}, fmax={fmax}")
    hz = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    bins = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lo, mid, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    return np.maximum(0, np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)))


def log_mel(wave: np.ndarray) -> np.ndarray:
    """float32 (n_mels, frames) log-mel spectrogram: 25 ms Hann windows, 10 ms hop, 512-point FFT."""
    wave = np.asarray(wave, np.float64)
    if wave.ndim != 1 or len(wave) < WIN:
        raise ValueError(f"wave: expected 1-D audio of >= {WIN} samples, got shape {wave.shape}")
    n = 1 + (len(wave) - WIN) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(wave, WIN)[::HOP][:n] * np.hanning(WIN)
    power = np.abs(np.fft.rfft(frames, N_FFT)) ** 2
    return np.log(mel_filterbank() @ power.T + 1e-6).astype(np.float32)


def logmel_stats(wave: np.ndarray) -> np.ndarray:
    """float32 (192,): per mel band the mean and std over time and the std of the time-deltas."""
    m = log_mel(wave).astype(np.float64)
    d = np.diff(m, axis=1) if m.shape[1] > 1 else np.zeros_like(m)
    return np.concatenate([m.mean(1), m.std(1), d.std(1)]).astype(np.float32)


@lru_cache(maxsize=None)
def base_clip(word: str, speaker: int) -> np.ndarray:
    """The un-augmented clip of ``word`` by ``SPEAKERS[speaker]`` (synthesised once per process)."""
    if not 0 <= speaker < len(SPEAKERS):
        raise ValueError(f"speaker: expected 0..{len(SPEAKERS) - 1}, got {speaker}")
    clip = synthesize(word, SPEAKERS[speaker])
    clip.setflags(write=False)
    return clip


def row_clip(word: str, seed: int, split: str, row: int) -> tuple[np.ndarray, int]:
    """(augmented 16 kHz waveform, speaker index) of one data-set row, from its own RNG alone.

    The row's RNG (:func:`row_rng`) first draws the speaker uniformly from ``SPEAKERS``, then the
    augmentation of that speaker's base clip of ``word``.
    """
    rng = row_rng(seed, split, row)
    speaker = int(rng.integers(len(SPEAKERS)))
    return augment(base_clip(word, speaker), rng), speaker
