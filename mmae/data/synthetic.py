"""Deterministic, LUMA-shaped synthetic features (the default data when LUMA is absent).

LUMA (github bezirganyan/LUMA) has 50 classes: 42 in-distribution classes (labels 0..41,
500 train / 100 test samples each) and 8 out-of-distribution classes (labels 42..49).
Its triplets are formed by shuffling each modality within a class, so the only
cross-modal correspondence is the class label. We mimic that: given the label, the
image, audio and text rows are drawn independently.

Three *variants* carry the class in different ways (``variant``; chapter 15 compares them).
The default, ``"nuisance"``, per modality (default dimensions 50 / 1024 / 768):

- image: logits of a 50-way classifier. A high logit at the predicted class, elevated
  logits for the other classes of its super-class (groups of 5 consecutive labels),
  Gaussian noise; a fraction of samples is "misclassified" (peak at a group neighbour).
- audio: wav2vec-like. A nuisance "speaker" offset (drawn independently of the class)
  dominates a weak class signal; noise is anisotropic (shared low-rank factors).
- text: BERT-like. A large common mean offset, a few shared high-variance directions,
  a medium class signal and isotropic noise.

The constants below were calibrated so that the paper's Table II protocol (StandardScaler
and PCA to 50/256/256 fit on train, K-Means with k=42 on the test split) gives ARIs close
to the paper's (image 0.545 > text 0.091 > audio 0.053). Seeds 0/1/2 give image
0.544/0.517/0.515, text 0.112/0.097/0.097, audio 0.056/0.047/0.060; NMI and silhouette
(paper: 0.724/0.418, 0.380/0.147, 0.227/0.087) are matched only roughly: image ~0.75/0.41,
text ~0.24/0.06, audio ~0.15/0.14. See ``tests/test_synthetic.py``.

The other variants keep the labels, shapes and conditional independence, and drop the rest:

- ``"low_snr"``: every modality is a class mean (a super-class shares half its variance) times a
  per-modality scale, plus isotropic N(0, 1) noise. No nuisance: a weak modality is weak because
  it carries little information.
- ``"nonlinear"``: a 16-D class code (class mean times a scale, plus N(0, 1)) through a fixed random
  tanh network (256 units) to each modality's dimension, plus 0.1 isotropic noise. The class
  structure is curved: a nonlinear encoder has something to find that PCA cannot.

Their scales (:data:`LOW_SNR`, :data:`NONLINEAR`) were found by bisection on the same Table II
ARIs at seed 0: low_snr gives image / text / audio 0.560 / 0.114 / 0.047 (seed 1: 0.534 / 0.105 /
0.073), nonlinear 0.532 / 0.085 / 0.051 (seed 1: 0.550 / 0.060 / 0.044). Their silhouettes are
lower than the paper's (low_snr near 0), which is not calibrated.
"""

from __future__ import annotations

import numpy as np

from mmae.data.features import DEFAULT_DIMS, LUMA_N_CLASSES, LUMA_N_ID, MODALITIES

N_CLASSES, N_ID = LUMA_N_CLASSES, LUMA_N_ID  # labels 0..41 in distribution; OOD classes 42..49
GROUP = 5  # super-class size: labels c // GROUP share a super-class

# Calibrated constants (see module docstring). Stds are per dimension unless noted.
# image logits: true-class peak, super-class boost, noise, fraction peaking at a neighbour
IMG_PEAK, IMG_GROUP, IMG_NOISE, IMG_MISCLASS = 14.0, 2.0, 1.0, 0.27
# class means (audio, text): strengths spread over [1/SPREAD, SPREAD], some classes stand out
SPREAD = 2.0
# audio: speakers (std of offsets), class std, super-class share of it; noise factors
# (count, std of the first, decay of std with rank) and isotropic noise
AUD_SPEAKERS, AUD_SPEAKER, AUD_CLASS, AUD_SHARE = 30, 0.5, 0.295, 0.5
AUD_FACTORS, AUD_FACTOR, AUD_DECAY, AUD_NOISE = 32, 3.0, 0.5, 1.0
# text: common offset; a few dominant directions (count, std along the first, decay);
# class std, super-class share of it; isotropic noise
TXT_OFFSET, TXT_DIRS, TXT_DIR, TXT_DECAY = 5.0, 8, 10.0, 0.5
TXT_CLASS, TXT_SHARE, TXT_NOISE = 0.27, 0.5, 0.2

# The other variants: one class-separation scale per modality, calibrated like the constants above
# (Table II ARI, seed 0). low_snr: class mean * scale + isotropic N(0, 1) noise. nonlinear: a
# NL_RANK-D class code (class mean * scale + N(0, 1)) through a random tanh network of NL_HIDDEN
# units with input gain NL_GAIN, plus NL_NOISE isotropic noise.
LOW_SNR = {"image": 0.539, "audio": 0.083, "text": 0.1}
NONLINEAR = {"image": 1.245, "audio": 0.4, "text": 0.424}
NL_RANK, NL_HIDDEN, NL_GAIN, NL_NOISE = 16, 256, 2.0, 0.1
VARIANTS = ("nuisance", "low_snr", "nonlinear")

def _check_int(name: str, value, low: int) -> None:
    """TypeError unless `value` is an int (bool is rejected), ValueError unless it is >= `low`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name} must be {'a positive' if low == 1 else 'a non-negative'} int, got {value!r}")


def _check_args(seed, n_train_per_class, n_test_per_class, n_ood, dims) -> dict[str, int]:
    """Validate the arguments of `make_synthetic`; return the dims to use."""
    _check_int("seed", seed, 0)
    _check_int("n_train_per_class", n_train_per_class, 1)
    _check_int("n_test_per_class", n_test_per_class, 1)
    _check_int("n_ood", n_ood, 1)
    if dims is None:
        return dict(DEFAULT_DIMS)
    if not isinstance(dims, dict):
        raise TypeError(f"dims must be a dict with the keys {sorted(MODALITIES)}, got {type(dims).__name__} {dims!r}")
    if set(dims) != set(MODALITIES):
        raise ValueError(f"dims must have exactly the keys {sorted(MODALITIES)}, got {sorted(dims)}")
    for m in MODALITIES:
        _check_int(f"dims[{m!r}]", dims[m], 1)
    return {m: int(dims[m]) for m in MODALITIES}


def _class_means(rng: np.random.Generator, d: int, share: float) -> np.ndarray:
    """(50, d) class means, per-dim std 1; a fraction `share` of the variance is
    common to the super-class, so classes of one group are semantically close."""
    group = rng.standard_normal((N_CLASSES // GROUP, d))
    own = rng.standard_normal((N_CLASSES, d))
    # per-class strengths evenly spread (in random order) within the ID and within the OOD
    # classes: evenly spread rather than drawn, as random draws vary the ARI more across seeds
    strength = np.concatenate([rng.permutation(np.geomspace(1 / SPREAD, SPREAD, k))
                               for k in (N_ID, N_CLASSES - N_ID)])[:, None]
    mix = np.sqrt(share) * group[np.arange(N_CLASSES) // GROUP] + np.sqrt(1 - share) * own
    return strength * mix


def _unit(rng: np.random.Generator, k: int, d: int) -> np.ndarray:
    """(k, d) random unit-norm directions."""
    u = rng.standard_normal((k, d))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def _factors(rng: np.random.Generator, k: int, d: int, top: float, decay: float) -> np.ndarray:
    """(k, d) random directions with std top * rank**-decay along the rank-th one."""
    return top * np.arange(1, k + 1)[:, None] ** -decay * _unit(rng, k, d)


def _params(rng: np.random.Generator, dims: dict[str, int]) -> dict[str, np.ndarray]:
    """Dataset-level structure shared by all splits: class means, speakers, shared directions."""
    di, da, dt = dims["image"], dims["audio"], dims["text"]
    k_a, k_t = min(AUD_FACTORS, da), min(TXT_DIRS, dt)
    return {
        # (50, di) map from the 50 class logits to di dims: identity when di == 50
        "img_map": np.eye(N_CLASSES) if di == N_CLASSES else _unit(rng, N_CLASSES, di),
        "aud_speaker": AUD_SPEAKER * rng.standard_normal((AUD_SPEAKERS, da)),  # (S, da)
        "aud_class": AUD_CLASS * _class_means(rng, da, AUD_SHARE),  # (50, da)
        # (k_a, da) noise factors with decaying std: anisotropic, not axis-aligned
        "aud_factors": _factors(rng, k_a, da, AUD_FACTOR, AUD_DECAY),
        "txt_offset": TXT_OFFSET * rng.standard_normal((1, dt)),  # (1, dt) common mean
        "txt_dirs": _factors(rng, k_t, dt, TXT_DIR, TXT_DECAY),  # (k_t, dt) a few dominate
        "txt_class": TXT_CLASS * _class_means(rng, dt, TXT_SHARE),  # (50, dt)
    }


def _image(rng: np.random.Generator, y: np.ndarray, p: dict) -> np.ndarray:
    """(n, d_image) logits: peak at the (possibly mis-)predicted class, raised super-class."""
    n = len(y)
    # misclassified samples peak at a random other member of their super-class
    offset = rng.integers(1, GROUP, size=n)
    wrong = (y // GROUP) * GROUP + (y % GROUP + offset) % GROUP
    pred = np.where(rng.random(n) < IMG_MISCLASS, wrong, y)
    logits = IMG_NOISE * rng.standard_normal((n, N_CLASSES))
    group_mask = (np.arange(N_CLASSES)[None, :] // GROUP) == (y[:, None] // GROUP)
    logits += IMG_GROUP * group_mask
    logits[np.arange(n), pred] += IMG_PEAK
    return logits @ p["img_map"]


def _audio(rng: np.random.Generator, y: np.ndarray, p: dict) -> tuple[np.ndarray, np.ndarray]:
    """(n, d_audio): speaker offset + weak class mean + low-rank and isotropic noise; and the
    speaker of every row (n,), the planted nuisance."""
    n, (k, d) = len(y), p["aud_factors"].shape
    speaker = rng.integers(0, AUD_SPEAKERS, size=n)  # independent of the class
    x = p["aud_speaker"][speaker] + p["aud_class"][y]
    x += rng.standard_normal((n, k)) @ p["aud_factors"]
    x += AUD_NOISE * rng.standard_normal((n, d))
    return x, speaker


def _text(rng: np.random.Generator, y: np.ndarray, p: dict) -> np.ndarray:
    """(n, d_text): common offset + dominant shared directions + class mean + noise."""
    n, (k, d) = len(y), p["txt_dirs"].shape
    x = p["txt_offset"] + p["txt_class"][y]
    x = x + rng.standard_normal((n, k)) @ p["txt_dirs"]  # (n, dt): broadcasts the offset
    x += TXT_NOISE * rng.standard_normal((n, d))
    return x


def _scaled_params(rng: np.random.Generator, dims: dict[str, int], variant: str) -> dict:
    """Structure of the low_snr and nonlinear variants: per modality class means (50, d or
    NL_RANK), and for nonlinear the random network (w1, b1, w2)."""
    scale = LOW_SNR if variant == "low_snr" else NONLINEAR
    p = {}
    for m in MODALITIES:
        d = dims[m] if variant == "low_snr" else NL_RANK
        p[m] = {"means": scale[m] * _class_means(rng, d, 0.5)}
        if variant == "nonlinear":
            p[m] |= {"w1": NL_GAIN * rng.standard_normal((NL_RANK, NL_HIDDEN)) / np.sqrt(NL_RANK),
                     "b1": rng.uniform(-1.0, 1.0, NL_HIDDEN),
                     "w2": rng.standard_normal((NL_HIDDEN, dims[m])) / np.sqrt(NL_HIDDEN)}
    return p


def _scaled(rng: np.random.Generator, y: np.ndarray, p: dict) -> np.ndarray:
    """One modality of the low_snr (no ``w1`` in ``p``) or nonlinear variant: (n, d)."""
    h = p["means"][y] + rng.standard_normal((len(y), p["means"].shape[1]))
    if "w1" not in p:
        return h
    x = np.tanh(h @ p["w1"] + p["b1"]) @ p["w2"]
    return x + NL_NOISE * rng.standard_normal(x.shape)


def make_synthetic(seed: int = 0, n_train_per_class: int = 500, n_test_per_class: int = 100,
                   n_ood: int = 3859, dims: dict[str, int] | None = None, return_nuisance: bool = False,
                   variant: str = "nuisance"):
    """Generate a deterministic LUMA-shaped synthetic feature set.

    Parameters
    ----------
    seed : int, default 0
        Non-negative seed of all randomness; the same seed gives bit-identical arrays.
    n_train_per_class, n_test_per_class : int, default 500, 100
        Rows per in-distribution class (labels 0..41) in the train and test splits.
    n_ood : int, default 3859
        Rows of the OOD split, spread as evenly as possible over labels 42..49.
    dims : dict of str to int, optional
        Feature dimension per modality; keys exactly "image", "audio", "text".
        Defaults to ``{"image": 50, "audio": 1024, "text": 768}``.
    return_nuisance : bool, default False
        Also return the planted nuisance: ``{split: {"speaker": (n,) int64}}``, the audio speaker
        (``{split: {}}`` for the variants without one).
    variant : {"nuisance", "low_snr", "nonlinear"}, default "nuisance"
        How the modalities carry the class (each calibrated on Table II; see :data:`VARIANTS`):
        ``"nuisance"`` image logits with a misclassification ceiling, audio dominated by a planted
        speaker, text by a few shared directions; ``"low_snr"`` a weak class mean in isotropic
        noise, no nuisance; ``"nonlinear"`` a 16-D class code through a random tanh network.

    Returns
    -------
    x : dict of str to dict of str to ndarray
        ``x[split][modality]`` float32 of shape (n, d) for splits "train", "test", "ood".
    y : dict of str to ndarray
        ``y[split]`` int64 labels of shape (n,), rows aligned with ``x[split]``.
    nuisance : dict of str to dict of str to ndarray
        Only with ``return_nuisance``: the speaker of every row's audio.

    Raises
    ------
    ValueError
        If a size is not a positive int, ``seed`` is negative, ``dims`` has the wrong keys or
        values, or ``variant`` is unknown.
    """
    dims = _check_args(seed, n_train_per_class, n_test_per_class, n_ood, dims)
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    # independent streams: structure, then one per split, so e.g. n_ood does not change train
    ss_params, *ss_splits = np.random.SeedSequence(seed).spawn(4)
    rng_params = np.random.default_rng(ss_params)
    p = _params(rng_params, dims) if variant == "nuisance" else _scaled_params(rng_params, dims, variant)
    ood_counts = np.full(N_CLASSES - N_ID, n_ood // (N_CLASSES - N_ID))
    ood_counts[: n_ood % (N_CLASSES - N_ID)] += 1  # remainder goes to the first OOD classes
    labels = {
        "train": np.repeat(np.arange(N_ID), n_train_per_class),
        "test": np.repeat(np.arange(N_ID), n_test_per_class),
        "ood": np.repeat(np.arange(N_ID, N_CLASSES), ood_counts),
    }
    x, y, nuisance = {}, {}, {}
    for (split, lab), ss in zip(labels.items(), ss_splits):
        rng_shuffle, rng_image, rng_audio, rng_text = (np.random.default_rng(s) for s in ss.spawn(4))
        y[split] = rng_shuffle.permutation(lab).astype(np.int64)  # no reliance on row order
        # each modality from its own stream given the label: independent given the class
        rngs = dict(zip(MODALITIES, (rng_image, rng_audio, rng_text)))
        if variant == "nuisance":
            audio, speaker = _audio(rng_audio, y[split], p)
            x[split] = {"image": _image(rng_image, y[split], p), "audio": audio, "text": _text(rng_text, y[split], p)}
            nuisance[split] = {"speaker": speaker.astype(np.int64)}
        else:
            x[split], nuisance[split] = {m: _scaled(rngs[m], y[split], p[m]) for m in MODALITIES}, {}
        x[split] = {m: v.astype(np.float32) for m, v in x[split].items()}
    return (x, y, nuisance) if return_nuisance else (x, y)
