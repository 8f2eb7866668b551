"""LUMA's audio features: wav2vec 2.0 large at 16 kHz mono, last layer averaged over time (1024-D).

Follows LUMA's ``data_generation/audio_processing.py`` (``extract_audio_deep_features``):
torchaudio's WAV2VEC2_LARGE, one clip at a time. torchaudio is not needed: ``facebook/wav2vec2-large``
(model card: large, pre-trained on LibriSpeech 960 h, not fine-tuned) is the Hugging Face conversion
of the fairseq checkpoint WAV2VEC2_LARGE wraps (not compared numerically here).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from mmae.progress import bar


def read_audio(path, sample_rate: int = 16000) -> np.ndarray:
    """A sound file -> float32 (samples,) mono at ``sample_rate``.

    Channels are averaged (LUMA's ``waveform.reshape(1, -1)`` concatenates them instead; the same for
    mono files) and resampled with ``scipy.signal.resample_poly`` (LUMA:
    ``torchaudio.functional.resample``, a windowed-sinc filter: values differ slightly).
    """
    import soundfile
    from scipy.signal import resample_poly

    if sample_rate < 1:
        raise ValueError(f"sample_rate: expected a positive integer, got {sample_rate}")
    wave, rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # (samples, channels)
    if len(wave) == 0:
        raise ValueError(f"{path}: expected audio samples, got an empty file")
    wave = wave.mean(axis=1)
    if rate != sample_rate:
        g = math.gcd(rate, sample_rate)
        wave = resample_poly(wave, sample_rate // g, rate // g)
    return wave.astype(np.float32)


def _min_samples(config) -> int:
    """Fewest samples giving one frame through the conv stack (400 for wav2vec 2.0 large)."""
    n = 1
    for k, s in zip(reversed(config.conv_kernel), reversed(config.conv_stride)):
        n = (n - 1) * s + k
    return n


def audio_features(model, waves, *, device="cpu", normalize: bool = False) -> np.ndarray:
    """float32 (n, hidden): a ``transformers.Wav2Vec2Model``'s last layer averaged over time, per clip.

    For ``facebook/wav2vec2-large`` (post-norm encoder) ``last_hidden_state`` is the last transformer
    layer's output, i.e. torchaudio's ``extract_features(...)[-1]`` that LUMA averages. Clips run one
    at a time (different lengths, no padding). ``normalize`` standardises each clip (Hugging Face's
    feature-extractor default); torchaudio's WAV2VEC2_LARGE does not (``_normalize_waveform=False``),
    nor does LUMA. With the group norm after the first convolution (``feat_extract_norm="group"``,
    as in wav2vec 2.0 large LS-960) the features barely depend on a clip's offset and scale anyway.
    """
    if len(waves) == 0:
        raise ValueError("waves: expected at least one waveform, got 0")
    model.eval().to(device)
    least, out = _min_samples(model.config), []
    with torch.no_grad():
        for i, wave in enumerate(bar(waves, desc="audio", leave=False)):
            wave = np.asarray(wave, dtype=np.float32)
            if wave.ndim != 1 or len(wave) < least:
                raise ValueError(f"waves[{i}]: expected a 1-D waveform of >= {least} samples, "
                                 f"got shape {wave.shape}")
            x = torch.from_numpy(wave)[None].to(device)  # (1, samples)
            if normalize:
                x = (x - x.mean()) / torch.sqrt(x.var(correction=0) + 1e-7)
            h = model(x).last_hidden_state  # (1, frames, hidden)
            out.append(h.mean(1)[0].float().cpu().numpy())
    return np.stack(out)
