"""The feature bundle of a LUMA copy: :func:`build_bundle` extracts it, :func:`manifest_table` lists it.

:func:`build_bundle` reads the tables and forms the triplets (:mod:`mmae.luma.rows`), runs the
three extractors of :mod:`mmae.luma.extract` split by split in resumable parts
(``out_dir/parts/``, keyed by a stamp of the config, the triplets and the models; one task of
:func:`mmae.cluster.run` per part, where ``MMAE_SCHEDULER`` says), then writes
``{split}_{modality}.npy``, ``{split}_labels.npy``, ``triplets.csv`` and ``manifest.json``.
torch and the extractors are imported when a bundle is built, not with this module.

It writes only into a folder that is absent, empty or its own
(:func:`mmae.luma.outputs.foreign_entries`): a bundle it wrote before (its ``manifest.json``
says ``format: mmae-luma-bundle/1``), or the resumable work of a run that stopped (``parts/stamp.txt``); and then only the names it writes. Anything else in
the folder (a file of another name, another program's manifest, arrays with neither marker) stops
it before any work, unless ``overwrite``.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import sys
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from mmae.artifacts import display_path
from mmae.atomic import save_csv, save_npy, save_torch, write_text
from mmae.data import MODALITIES, sha256_file
from mmae.luma.config import ExtractConfig
from mmae.luma.outputs import BUNDLE_FORMAT, claim_out
from mmae.luma.rows import CLASS_ID, LUMA_CLASSES, image_tables, make_triplets, read_luma



def build_bundle(luma_dir: str | Path, out_dir: str | Path, cfg: ExtractConfig = ExtractConfig(),
                 models=None, progress: bool = True, overwrite: bool = False) -> Path:
    """Extract every split x modality of a LUMA copy into a feature bundle with a manifest.

    Parameters
    ----------
    luma_dir : str or Path
        A local LUMA copy (the Hugging Face dataset, LUMA's ``split_indices/`` and the images;
        ``python -m mmae.luma download`` makes one).
    out_dir : str or Path
        The bundle folder; ``out_dir/parts/`` holds resumable chunks and the fine-tuned weights.
        It must be absent, empty, or this function's own (:func:`mmae.luma.outputs.foreign_entries`): a bundle it
        wrote, or the parts of a run that stopped (:mod:`mmae.luma.outputs`).
    cfg : ExtractConfig
    models : ModelSource, dict or None
        Where the models come from: a :class:`mmae.luma.extract.ModelSource` (``"tiny"``: small
        random models; ``"pretrained"``: downloaded, then cached), which every worker loads once;
        or the models themselves, ``{"image": VGG11BN, "audio": Wav2Vec2Model, "text": (BertModel,
        tokenizer)}`` with an optional ``"info"`` dict per modality (:func:`mmae.luma.extract.tiny_models`),
        sent to every worker once. None: ``ModelSource("pretrained")``.
    progress : bool
        Show tqdm bars.

    Each chunk of ``cfg.chunk_size`` items is a task of :func:`mmae.cluster.run`, run where
    ``MMAE_SCHEDULER`` says (:mod:`mmae.cluster`; ``python -m mmae.luma extract --scheduler``): the
    bundle is the same byte for byte wherever its chunks ran. On a cluster, ``out_dir`` and
    ``luma_dir`` must be on a file system the workers share (they read the audio files and the
    fine-tuned weights, and write the parts).
    overwrite : bool, default False
        Write into ``out_dir`` whatever it holds (its files of the names written here are
        replaced; others are left, and a ``.npy`` file the new manifest does not list makes the
        bundle fail to load).

    Returns
    -------
    Path
        ``out_dir``, readable by :func:`mmae.data.load_bundle` (which verifies the manifest).

    Raises
    ------
    FileExistsError
        ``out_dir`` holds something that is not this function's own and ``overwrite`` is False
        (before any work; the message names what).
    NotADirectoryError
        ``out_dir`` is a file.
    """
    from mmae.device import pick_device

    root, out = Path(luma_dir), claim_out(out_dir, overwrite)
    device = pick_device(cfg.device)
    tables = read_luma(root)
    triplets = make_triplets(tables, cfg.seed)
    models, info, source = _load_models(models)
    parts = _open_parts(out / "parts", _stamp(cfg, triplets, info))
    splits = [s for s in ("train", "test", "ood") if (triplets["split"] == s).any()]
    job = {"root": root, "tables": tables, "triplets": triplets, "cfg": cfg, "parts": parts, "splits": splits,
           "device": device, "progress": progress, "loaded": (models, info, source)}
    image, kind, finetuned = _image_features(**job)
    if finetuned is not None:
        info["image"]["finetuned_fingerprint"] = finetuned
    feats = {"image": image, "audio": _audio_features(**job), "text": _text_features(**job)}
    files = _write_arrays(out, parts, triplets, feats, splits)
    manifest = _manifest(root, out, cfg, device, info, kind, triplets, splits, files)
    write_text(out / "manifest.json", json.dumps(manifest, indent=1, default=str))  # last: the bundle is whole
    return out


def manifest_table(bundle_dir: str | Path) -> pd.DataFrame:
    """The manifest's files: name, bytes, sha256 (first 16 hex digits) -- a pandas DataFrame."""
    manifest = json.loads((Path(bundle_dir) / "manifest.json").read_text())
    return pd.DataFrame([{"file": f, "bytes": v["bytes"], "sha256": v["sha256"][:16]}
                         for f, v in manifest["files"].items()])


# ------------------------------------------------------------------------------ models and parts
def _load_models(models) -> tuple[dict, dict, object]:
    """The three models, their info with fingerprints, and their source (None for models given as objects)."""
    from mmae.luma import extract

    if models is not None and not isinstance(models, (dict, extract.ModelSource)):
        raise TypeError(f"models must be a ModelSource, a dict of models or None, got {type(models).__name__}")
    source = extract.ModelSource() if models is None else None if isinstance(models, dict) else models
    if source is not None:
        models = source.load()
    info = {m: {**models.get("info", {}).get(m, {}),
                "fingerprint": extract.model_fingerprint(models[m][0] if m == "text" else models[m])}
            for m in MODALITIES}
    return models, info, source


def _extractor(modality: str, loaded: tuple, model=None, head: tuple = (), fingerprint: str | None = None, **options):
    """What the chunk tasks of ``modality`` compute (:class:`mmae.luma.extract.Extractor`), with this process's model."""
    from mmae.luma import extract

    models, info, source = loaded
    options = {k: str(v) if k == "device" else v for k, v in options.items()}
    return extract.Extractor(modality, tuple(sorted(options.items())), fingerprint or info[modality]["fingerprint"],
                             source, head, models[modality] if model is None else model)


def _stamp(cfg: ExtractConfig, triplets: pd.DataFrame, infos: dict) -> str:
    """Key of the resumable parts: the config, the triplets and the exact weights used."""
    blob = json.dumps({"cfg": asdict(cfg), "models": infos,
                       "triplets": hashlib.sha256(triplets.to_csv().encode()).hexdigest()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _open_parts(parts: Path, stamp: str) -> Path:
    """The folder of resumable parts, emptied first when its ``stamp.txt`` differs from ``stamp``."""
    if (parts / "stamp.txt").exists() and (parts / "stamp.txt").read_text() != stamp:
        shutil.rmtree(parts)  # parts of another config, data or model: never mix them
    parts.mkdir(parents=True, exist_ok=True)
    write_text(parts / "stamp.txt", stamp)
    return parts


# -------------------------------------------------------------------------------------- features
def _image_rows(tables, triplets, split) -> np.ndarray:
    """uint8 (n, 32, 32, 3) images of one split, in triplet order."""
    table = tables[split]["image"]
    return np.stack(table.loc[triplets.loc[triplets["split"] == split, "image_row"], "image"].to_list())


def _finetuned_vgg(vgg, root, tables, triplets, cfg, parts, device):
    """VGG11-BN with LUMA's new head fine-tuned on the labels (weights saved in, then read from, ``parts``)."""
    import torch

    from mmae.luma import extract

    weights = parts / "vgg_finetuned.pt"
    if cfg.finetune_on == "train":
        ft_images, ft_labels = _image_rows(tables, triplets, "train"), triplets.loc[
            triplets["split"] == "train", "label"].to_numpy()
    else:  # LUMA's code fine-tunes on its whole image table, OOD classes included
        table = image_tables(root)[0]
        ft_images, ft_labels = np.stack(table["image"].to_list()), table["label"].map(CLASS_ID).to_numpy()
    vgg = extract.replace_head(vgg, n_classes=len(LUMA_CLASSES), seed=cfg.seed)
    state = None
    if weights.exists():
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as err:  # truncated, garbled
            warnings.warn(f"{display_path(weights)} is unreadable ({type(err).__name__}): fine-tuning again", stacklevel=2)
    if state is not None:
        vgg.load_state_dict(state)
    else:
        vgg, history = extract.finetune_vgg(
            vgg, ft_images, ft_labels, epochs=cfg.finetune_epochs, head_epochs=cfg.head_epochs,
            batch_size=cfg.batch_size, image_size=cfg.image_size, seed=cfg.seed, device=device)
        save_csv(history, parts / "finetune_history.csv", index=False)
        save_torch(vgg.state_dict(), weights)
    return vgg


def _image_features(*, root, tables, triplets, cfg, parts, splits, device, progress, loaded):
    """Image features per split, their kind and the fine-tuned weights' fingerprint (None without).

    ``finetuned_logits``: VGG11-BN's new head fine-tuned on the labels (LUMA), its logits;
    ``penultimate_pca``: ImageNet VGG11-BN's penultimate activations, PCA to 50 fitted on train.
    """
    from mmae.luma import extract

    finetuned, vgg, head, kind = None, loaded[0]["image"], (), "penultimate"
    if cfg.image_features == "finetuned_logits":
        vgg, kind = _finetuned_vgg(vgg, root, tables, triplets, cfg, parts, device), "logits"
        finetuned, head = extract.model_fingerprint(vgg), (str(parts / "vgg_finetuned.pt"), len(LUMA_CLASSES), cfg.seed)
    task = _extractor("image", loaded, vgg, head, finetuned, kind=kind, batch_size=cfg.batch_size,
                      image_size=cfg.image_size, device=device)
    feats = {s: extract.run_in_chunks(extract.extract_chunk, _image_rows(tables, triplets, s), parts,
                                      f"{s}_image_{kind}", cfg.chunk_size, desc=f"image {s}", shared=task,
                                      progress=progress) for s in splits}
    if cfg.image_features == "penultimate_pca":
        from sklearn.decomposition import PCA

        pca = PCA(50, random_state=cfg.seed).fit(feats["train"])  # fitted on train only
        for s in splits:
            feats[s] = pca.transform(feats[s]).astype(np.float32)
    return feats, kind, finetuned


def _audio_features(*, root, tables, triplets, cfg, parts, splits, device, progress, loaded) -> dict:
    """Audio features per split: wav2vec 2.0 at 16 kHz mono, last layer mean-pooled over time."""
    from mmae.luma import extract

    task, feats = _extractor("audio", loaded, device=device, normalize=cfg.audio_normalize), {}
    for s in splits:
        paths = [str(root / "audio" / p) for p in
                 tables[s]["audio"].loc[triplets.loc[triplets["split"] == s, "audio_row"], "path"]]
        feats[s] = extract.run_in_chunks(extract.extract_chunk, paths, parts, f"{s}_audio", cfg.chunk_size,
                                         desc=f"audio {s}", shared=task, progress=progress)
    return feats


def _text_features(*, root, tables, triplets, cfg, parts, splits, device, progress, loaded) -> dict:
    """Text features per split: BERT with the class word masked (LUMA), mean over tokens or [CLS]."""
    from mmae.luma import extract

    tokenizer, feats = loaded[0]["text"][1], {}
    task = _extractor("text", loaded, pooling=cfg.text_pooling, max_length=cfg.text_max_length,
                      batch_size=cfg.batch_size, device=device)
    for s in splits:
        rows = triplets[triplets["split"] == s]
        texts = [extract.mask_class_word(t, c, tokenizer=tokenizer) for t, c in
                 zip(tables[s]["text"].loc[rows["text_row"], "text"], rows["class"])]
        feats[s] = extract.run_in_chunks(extract.extract_chunk, texts, parts, f"{s}_text_{cfg.text_pooling}",
                                         cfg.chunk_size, desc=f"text {s}", shared=task, progress=progress)
    return feats


# ---------------------------------------------------------------------------------------- output
def _write_arrays(out: Path, parts: Path, triplets: pd.DataFrame, feats: dict, splits: list[str]) -> list[str]:
    """Save labels, features (``feats[modality][split]``), triplets and the fine-tuning history; their names."""
    for s in splits:
        save_npy(out / f"{s}_labels.npy", triplets.loc[triplets["split"] == s, "label"].to_numpy(np.int64))
        for m in MODALITIES:
            save_npy(out / f"{s}_{m}.npy", feats[m][s].astype(np.float32))
    save_csv(triplets, out / "triplets.csv", index=False)
    extra = ["triplets.csv"]
    if (parts / "finetune_history.csv").exists():
        shutil.copy(parts / "finetune_history.csv", out / "finetune_history.csv")
        extra.append("finetune_history.csv")
    return [f"{s}_{k}.npy" for s in splits for k in ("labels", *MODALITIES)] + extra


def _manifest(root, out, cfg, device, info, kind, triplets, splits, files) -> dict:
    """``manifest.json``: models, versions, preprocessing, seed, counts, classes and every file's sha256."""
    import torch

    from mmae.artifacts import EXTRACTION_CODE, code_version

    return {
        "format": BUNDLE_FORMAT, "created_by": "mmae.luma.build_bundle", "code_version": code_version(EXTRACTION_CODE),
        "luma_dir": str(root), "config": asdict(cfg), "device": str(device), "models": info,
        "preprocessing": {
            "image": f"32x32 RGB -> bilinear {cfg.image_size}x{cfg.image_size}, ImageNet mean/std; "
                     + ("VGG11-BN head 4096-512-50 fine-tuned on the labels, logits" if kind == "logits"
                        else "ImageNet VGG11-BN penultimate (4096-D) -> PCA 50 fitted on train"),
            "audio": "mono, resampled to 16 kHz, wav2vec 2.0 last layer mean over time"
                     + (", per-clip normalised" if cfg.audio_normalize else ""),
            "text": "class word masked as LUMA does (word pieces whose Lancaster stem equals the class "
                    f"name), BERT last layer, {cfg.text_pooling} pooling, max {cfg.text_max_length} tokens"},
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": np.__version__},
        "seed": cfg.seed,
        "counts": {s: int((triplets["split"] == s).sum()) for s in splits},
        "classes": {s: sorted(int(c) for c in triplets.loc[triplets["split"] == s, "label"].unique())
                    for s in splits},
        "files": {f: {"sha256": sha256_file(out / f), "bytes": (out / f).stat().st_size} for f in files},
    }
