"""Build the LUMA-shaped real set (50 classes) from raw media, resumably, and rebuild rows to verify it.

Layout written (read by :func:`mmae.data.load_bundle`): per split train/test/ood ``{split}_labels.npy``,
``{split}_nuisance_speaker.npy`` (the voice of each row's clip), ``{split}_image.npy`` (float32, one
row per triplet), and the audio and text modalities in the pooled form (``{split}_audio.pool.npy``
+ ``.index.npy``: the distinct clips or descriptions, float32, and each row's entry); then
``image_head.npz``, ``samples.npz`` and ``manifest.json`` (sources, licences, models and weight
hashes, seeds, counts, timings, the build's measurements and every file's sha256).

The expensive parts (Lite0 features, Whisper encodings) are computed one (split, class) chunk at a
time into ``MMAE_CACHE/media-build/tiny50/`` (:mod:`mmae.media.extract50`: one task of
:func:`mmae.cluster.run` per chunk), each chunk written atomically under a name that carries the
key of what it depends on (:func:`chunk_keys`: configuration, source, weights and the code's own
source): a killed build resumes where it stopped, and a chunk of another configuration, source
or code is never reused.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from mmae.media import BUNDLE50_DIR  # noqa: F401  (build50 and the CLI write there)
from mmae.media import classes50 as cl
from mmae.media import descriptions, voices
from mmae.media import efficientnet as enet
from mmae.media import speech, whisper
from mmae.media.tinyimagenet import PER_CLASS

SPLIT_CODES = {"train": 0, "test": 1, "ood": 2}
CACHE = whisper.CACHE.parent / "media-build"


@dataclass(frozen=True)
class Tiny50Config:
    """Every choice of the build (stored in the manifest; :func:`rebuild_rows` reads it back)."""

    seed: int = 42
    n_train: int = 450  # per ID class (LUMA: 500)
    n_test: int = 100  # per ID class (LUMA: 100)
    n_ood: int = 480  # per OOD class (LUMA: 3,859 OOD rows in all, about 480 per class)
    image_size: int = 128  # the 64 x 64 photographs, bilinear to this size for Lite0
    image_features: str = "finetuned_logits"  # or "penultimate_pca" (label-free)
    head_epochs: int = 8
    head_lr: float = 1e-3
    head_batch: int = 64
    pca_dim: int = 50
    audio: str = "whisper"  # or "logmel" (192 log-mel statistics)
    clips_train: int = 12  # distinct clips per class and split
    clips_test: int = 6
    clips_ood: int = 8
    text_pool: int = 60  # distinct descriptions per class
    text_train_frac: float = 2 / 3

    def __post_init__(self):
        if self.image_features not in ("finetuned_logits", "penultimate_pca"):
            raise ValueError(f"image_features: expected 'finetuned_logits' or 'penultimate_pca', got {self.image_features!r}")
        if self.audio not in ("whisper", "logmel"):
            raise ValueError(f"audio: expected 'whisper' or 'logmel', got {self.audio!r}")
        if self.n_train + self.n_test > PER_CLASS or self.n_ood > PER_CLASS or min(self.n_train, self.n_test, self.n_ood) < 1:
            raise ValueError(f"n_train + n_test and n_ood: expected 1..{PER_CLASS} images per class, got "
                             f"{self.n_train} + {self.n_test}, {self.n_ood}")
        if min(self.clips_train, self.clips_test, self.clips_ood, self.text_pool) < 1:
            raise ValueError("clips_train, clips_test, clips_ood, text_pool: expected >= 1")

    def n(self, split: str) -> int:
        return {"train": self.n_train, "test": self.n_test, "ood": self.n_ood}[split]

    def clips(self, split: str) -> int:
        return {"train": self.clips_train, "test": self.clips_test, "ood": self.clips_ood}[split]


def split_classes(split: str) -> tuple[int, ...]:
    """The labels of a split: ID 0..41 for train and test, OOD 42..49 for ood."""
    return tuple(range(cl.N_ID)) if split != "ood" else tuple(range(cl.N_ID, len(cl.CLASSES)))


def _balanced(rng, m: int, n: int) -> np.ndarray:
    """n draws from range(m), each value used equally often: concatenated random permutations."""
    return np.concatenate([rng.permutation(m) for _ in range(-(-n // m))])[:n]


def draw(cfg: Tiny50Config, text_counts: dict[int, dict[str, int]]) -> dict[str, dict[str, np.ndarray]]:
    """Per split: ``labels``, ``image`` (index into the class's 550 photographs), ``clip`` and
    ``text`` (indices into the class's pools); rows grouped by class. Each class's photographs are
    shuffled once (``default_rng([seed, 7, label])``): ID train takes the first ``n_train``, test
    the next ``n_test`` (disjoint); OOD the first ``n_ood``. Clips and texts are paired with the
    images at random within the class (``default_rng([seed, split code, label])``), each pool entry
    used equally often."""
    out = {}
    for split, code in SPLIT_CODES.items():
        parts = {"labels": [], "image": [], "clip": [], "text": []}
        pool = "all" if split == "ood" else split
        for label in split_classes(split):
            order = np.random.default_rng([cfg.seed, 7, label]).permutation(PER_CLASS)
            start = cfg.n_train if split == "test" else 0
            rng = np.random.default_rng([cfg.seed, code, label])
            n = cfg.n(split)
            parts["labels"].append(np.full(n, label, np.int64))
            parts["image"].append(order[start:start + n])
            parts["clip"].append(_balanced(rng, cfg.clips(split), n))
            parts["text"].append(_balanced(rng, text_counts[label][pool], n))
        out[split] = {k: np.concatenate(v).astype(np.int64) for k, v in parts.items()}
    return out


def clip_of(cfg: Tiny50Config, split: str, label: int, j: int) -> tuple[np.ndarray, int]:
    """(16 kHz waveform, voice) of clip ``j`` of a class's pool: ``default_rng([seed, split code,
    label, j])`` draws the voice uniformly from ``voices.VOICES``, then the clip's variation."""
    rng = np.random.default_rng([cfg.seed, SPLIT_CODES[split], label, j])
    voice = int(rng.integers(len(voices.VOICES)))
    return voices.clip(cl.CLASSES[label].word, voice, rng), voice


def voice_of(cfg: Tiny50Config, split: str, label: int, j: int) -> int:
    """The voice of :func:`clip_of`'s clip, drawn as it draws it, without synthesising the clip."""
    return int(np.random.default_rng([cfg.seed, SPLIT_CODES[split], label, j]).integers(len(voices.VOICES)))


def _audio_features(cfg, waves, model) -> np.ndarray:
    if cfg.audio == "whisper":
        return whisper.encode(model, waves)
    return np.stack([speech.logmel_stats(w) for w in waves])


def _source(*modules) -> list[str]:
    """The sha256 of each module's source: a cached chunk of changed code is never reused."""
    import inspect

    return [hashlib.sha256(inspect.getsource(m).encode()).hexdigest() for m in modules]


def chunk_keys(cfg: Tiny50Config, source_sha: str) -> dict[str, str]:
    """What the cached chunks depend on (16 hex digits each): ``image``, the photographs' draw,
    size, source, the Lite0 code and the torch threads of a task (Lite0's floats depend on them;
    the int8 Whisper encoder's do not); ``audio``, the clip pools' config, the voice, augmentation
    and encoder code, the engines' versions and the Whisper weights."""
    from mmae.cluster import current_threads

    draw = [cfg.seed, cfg.n_train, cfg.n_test, cfg.n_ood]
    parts = {"image": [*draw, cfg.image_size, source_sha, enet.WEIGHTS_ID, *_source(enet), {"threads": current_threads()}],
             "audio": [cfg.seed, cfg.audio, cfg.clips_train, cfg.clips_test, cfg.clips_ood, whisper.MODEL_SHA256,
                       whisper.COMPUTE_TYPE, voices.engine_versions(), *_source(voices, speech, whisper)]}
    return {k: hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()[:16] for k, v in parts.items()}


def texts_of(cfg: Tiny50Config) -> dict[int, dict[str, list[str]]]:
    """Every class's description pools (:func:`mmae.media.descriptions.text_pools`)."""
    return {i: descriptions.text_pools(c.wnid, i, cfg.seed, cfg.text_pool, cfg.text_train_frac)
            for i, c in enumerate(cl.CLASSES)}


def _masked(texts: list[str], word: str, tok) -> list[str]:
    """LUMA's mask (:func:`mmae.luma.extract.mask_class_word`, stem_label) of every word of the class word."""
    from mmae.luma.extract import mask_class_word

    out = []
    for t in texts:
        for w in word.replace("-", " ").split():
            t = mask_class_word(t, w, tokenizer=tok, stem_label=True)
        out.append(t)
    return out


def _embed(model, tok, texts: list[str], word: str) -> np.ndarray:
    from mmae.luma.extract import text_features

    return text_features(model, tok, _masked(texts, word, tok), pooling="mean", batch_size=64).astype(np.float32)


def _text_model():
    from mmae.media.wordnet import load_minilm

    return load_minilm()


def _pooled(chunks: list[np.ndarray], local: np.ndarray, labels: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate per-class pools and turn each row's index within its class into a global one."""
    offsets = np.cumsum([0] + [len(c) for c in chunks])
    return np.concatenate(chunks).astype(np.float32), (offsets[labels - first] + local).astype(np.int64)


def image_params(cfg: Tiny50Config, train_pen: np.ndarray, train_labels: np.ndarray) -> dict:
    """The fine-tuned head (LUMA's recipe, it sees the labels) and the label-free PCA of the backbone."""
    from sklearn.decomposition import PCA

    head = enet.train_head(train_pen, train_labels, cl.N_ID, epochs=cfg.head_epochs, lr=cfg.head_lr,
                           batch_size=cfg.head_batch, seed=cfg.seed)
    pca = PCA(cfg.pca_dim, svd_solver="full", random_state=cfg.seed).fit(train_pen)
    return {"head": enet.head_to_arrays(head),
            "pca": {"mean": pca.mean_.astype(np.float32), "components": pca.components_.astype(np.float32)}}


def image_map(pen: np.ndarray, params: dict, kind: str) -> np.ndarray:
    """Image features of penultimate features: the head's logits, or the label-free PCA."""
    if kind == "finetuned_logits":
        return enet.head_logits(params["head"], pen).astype(np.float32)
    return ((pen - params["pca"]["mean"]) @ params["pca"]["components"].T).astype(np.float32)


def assemble(cfg: Tiny50Config, ex: dict, params: dict) -> dict[str, dict[str, np.ndarray]]:
    """The bundle's arrays per split, from :func:`extract`'s features."""
    out = {}
    for split in SPLIT_CODES:
        t, e, first = ex["draw"][split], ex[split], split_classes(split)[0]
        local_clip, local_text = t["clip"], t["text"]
        audio_pool, audio_index = _pooled(e["audio"], local_clip, t["labels"], first)
        text_pool, text_index = _pooled(e["text"], local_text, t["labels"], first)
        voice = np.concatenate(e["voice"])[audio_index]
        out[split] = {"labels": t["labels"], "nuisance_speaker": voice,
                      "image": image_map(e["penultimate"], params, cfg.image_features),
                      "audio.pool": audio_pool, "audio.index": audio_index,
                      "text.pool": text_pool, "text.index": text_index}
    return out
