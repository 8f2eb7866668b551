"""From a local copy of LUMA to the feature bundle that :func:`mmae.data.load_bundle` reads.

LUMA (Bezirganyan et al., SIGIR 2025; code github.com/bezirganyan/LUMA, data on the Hugging Face
dataset ``bezirganyan/LUMA``) ships raw media, not features. This module follows LUMA's own
``compile_dataset.py`` (clean configuration: no noise, no label switching, no diversity sampling):

1. **Tables.** Audio: ``audio/datalist.csv`` (``path``, ``label``) and its WAV files; text:
   ``text_data.tsv`` (``text``, ``label``); images: ``image_data.pickle`` / ``image_data_test.pickle``
   (32x32 RGB, LUMA's format) or, when absent, built from CIFAR-10/100 and ``edm_images.pickle``
   exactly as LUMA's ``generate_cifar_50_data`` does.
2. **Splits.** LUMA's index files ``split_indices/{image,audio,text}_{train_clean,test}.txt``
   select 500 train / 100 test rows for each of the 42 in-distribution classes; every row of the 8
   other classes is OOD.
3. **Triplets.** Within each class, each modality's rows are shuffled with one seeded NumPy
   stream, in LUMA's order (class by class; audio, text, image; train, then test, then OOD), and
   row ``i`` of the three shuffled lists is triplet ``i`` -- so the modalities share their class
   and nothing else (``align_data`` / ``align_ood_data`` in LUMA's code).
4. **Features** (:mod:`mmae.extract`): image 50-D (VGG11-BN fine-tuned on the labels -> logits,
   or label-free penultimate activations + PCA), audio 1024-D (wav2vec 2.0 large, mean over time),
   text 768-D (BERT, class word masked, mean over tokens or [CLS]); resumable, chunk by chunk.
5. **Bundle.** ``{split}_{modality}.npy``, ``{split}_labels.npy``, ``triplets.csv`` (the rows of
   every triplet) and ``manifest.json`` (models, versions, preprocessing, seeds, counts, sha256
   of each file); :func:`mmae.data.load_bundle` checks the hashes.

Command line: ``python -m mmae.luma download|extract|fixture --help``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmae.data import MODALITIES, sha256_file

# LUMA's class ids (compile_dataset.py: label_class_mapping); the first 42 are in-distribution.
LUMA_CLASSES = ("man", "boy", "house", "woman", "girl", "table", "road", "horse", "dog", "ship", "bird",
                "mountain", "bed", "train", "bridge", "fish", "cloud", "chair", "cat", "baby", "castle",
                "forest", "television", "bear", "camel", "sea", "fox", "plain", "bus", "snake", "lamp",
                "clock", "lion", "tank", "palm", "rabbit", "pine", "cattle", "oak", "mouse", "frog", "ray",
                "bicycle", "truck", "elephant", "roses", "wolf", "telephone", "bee", "whale")
N_ID = 42
CLASS_ID = {name: i for i, name in enumerate(LUMA_CLASSES)}
# CIFAR names LUMA renames (data_generation/image_processing.py: label_name_mapping)
CIFAR_RENAME = {"aquarium_fish": "fish", "pickup_truck": "truck", "oak_tree": "oak", "rose": "roses",
                "pine_tree": "pine", "palm_tree": "palm"}
CIFAR_RENAME_BACK = {v: k for k, v in CIFAR_RENAME.items()}
CIFAR_FILES = {"cifar-10-batches-py": {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
               "cifar-100-python": {"train": ["train"], "test": ["test"]}}
HF_DATASET = "bezirganyan/LUMA"
SPLIT_INDEX_URL = "https://raw.githubusercontent.com/bezirganyan/LUMA/main/split_indices/{}"
CIFAR_URLS = {"cifar-10-batches-py": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
              "cifar-100-python": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"}
BUNDLE_FORMAT = "mmae-luma-bundle/1"
CHOICES = {"image_features": ("finetuned_logits", "penultimate_pca"), "finetune_on": ("train", "all"),
           "text_pooling": ("mean", "cls")}


def split_index_name(modality: str, split: str) -> str:
    """LUMA's index file of one modality and split, e.g. ``audio_train_clean.txt``."""
    return f"{modality}_{'train_clean' if split == 'train' else 'test'}.txt"


@dataclass
class ExtractConfig:
    """How a LUMA copy becomes a feature bundle (every field lands in the manifest).

    Attributes
    ----------
    seed : int
        Seed of the triplet shuffling (LUMA's ``cfg/default.yml``: 42), of fine-tuning and of PCA.
    image_features : {"finetuned_logits", "penultimate_pca"}
        LUMA's recipe (VGG11-BN fine-tuned on the class labels, its 50 logits: labels leak into the
        image modality) or the label-free alternative (ImageNet VGG11-BN's 4096-D penultimate
        activations, PCA to 50 fitted on train).
    finetune_on : {"train", "all"}
        Images the head is fine-tuned on: the bundle's train split, or LUMA's whole image table
        (all 50 classes, OOD classes and EDM images included), as LUMA's code does.
    finetune_epochs, head_epochs : int
        LUMA: 15 epochs, the first 5 training the new head only.
    image_size : int
        Side the 32x32 images are resized to (LUMA: 224).
    text_pooling : {"mean", "cls"}
        Mean of BERT's last layer over tokens (LUMA's code) or its [CLS] token (the paper's text).
    text_max_length : int
        Tokens kept per text (BERT's limit: 512).
    audio_normalize : bool
        Zero-mean unit-variance per clip before wav2vec 2.0 (torchaudio's WAV2VEC2_LARGE: no).
    batch_size : int
        Batch size of fine-tuning and of image/text extraction.
    chunk_size : int
        Items per saved part: extraction resumes at the first missing part.
    device : str
        ``"auto"`` picks cuda, then mps, then cpu.
    """

    seed: int = 42
    image_features: str = "finetuned_logits"
    finetune_on: str = "train"
    finetune_epochs: int = 15
    head_epochs: int = 5
    image_size: int = 224
    text_pooling: str = "mean"
    text_max_length: int = 512
    audio_normalize: bool = False
    batch_size: int = 32
    chunk_size: int = 1024
    device: str = "auto"

    def __post_init__(self):
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"ExtractConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not 0 <= self.head_epochs <= self.finetune_epochs:
            raise ValueError(f"ExtractConfig: need 0 <= head_epochs <= finetune_epochs, got "
                             f"{self.head_epochs} and {self.finetune_epochs}")
        for name in ("image_size", "text_max_length", "batch_size", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"ExtractConfig.{name} must be >= 1, got {getattr(self, name)}")


# ---------------------------------------------------------------------------------------- tables
def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing ({what}); `python -m mmae.luma download "
                                f"{path.parent}` fetches LUMA")
    return path


def _check_labels(table: pd.DataFrame, file: Path) -> pd.DataFrame:
    unknown = sorted(set(table["label"]) - set(LUMA_CLASSES))
    if unknown:
        raise ValueError(f"{file}: labels must be LUMA's 50 class names, got unknown {unknown[:5]}")
    return table


def _read_cifar(folder: Path, files: list[str], label_key: str, names_file: str, names_key: str) -> pd.DataFrame:
    def load(name):  # CIFAR's python pickles (latin1 keeps their byte keys readable as str)
        with open(_require(folder / name, "CIFAR, see CIFAR_URLS"), "rb") as f:
            return pickle.load(f, encoding="latin1")
    names = [CIFAR_RENAME.get(n, n) for n in load(names_file)[names_key]]
    parts = [load(name) for name in files]
    images = np.concatenate([np.asarray(p["data"], np.uint8) for p in parts]).reshape(-1, 3, 32, 32)
    labels = np.concatenate([p[label_key] for p in parts])
    return pd.DataFrame({"image": list(images.transpose(0, 2, 3, 1)), "label": [names[i] for i in labels]})


def image_tables(luma_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """LUMA's image train and test tables (``image``: uint8 (32, 32, 3), ``label``, ``source``).

    Read from ``image_data.pickle`` / ``image_data_test.pickle`` when present; else built as in
    LUMA's ``generate_cifar_50_data``: CIFAR-10 + CIFAR-100 + ``edm_images.pickle`` (train) and
    CIFAR-10 + CIFAR-100 test (test), restricted to LUMA's 50 classes, index reset. The test table
    is then restricted to the 42 in-distribution classes and re-indexed, as LUMA does when it
    builds the tables (its index files count rows of these tables).
    """
    root = Path(luma_dir)
    train_file, test_file = root / "image_data.pickle", root / "image_data_test.pickle"
    if train_file.exists() and test_file.exists():
        return (_check_labels(pd.read_pickle(train_file), train_file),
                _check_labels(pd.read_pickle(test_file), test_file))
    c10, c100 = root / "cifar-10-batches-py", root / "cifar-100-python"
    f10, f100 = CIFAR_FILES[c10.name], CIFAR_FILES[c100.name]
    train10 = _read_cifar(c10, f10["train"], "labels", "batches.meta", "label_names")
    test10 = _read_cifar(c10, f10["test"], "labels", "batches.meta", "label_names")
    train100 = _read_cifar(c100, f100["train"], "fine_labels", "meta", "fine_label_names")
    test100 = _read_cifar(c100, f100["test"], "fine_labels", "meta", "fine_label_names")
    edm = pd.read_pickle(_require(root / "edm_images.pickle", "LUMA's generated images"))
    train10["source"], train100["source"], edm["source"] = "cifar10", "cifar100", "synthetic100"
    test10["source"], test100["source"] = "cifar10", "cifar100"
    train = pd.concat([train10, train100, edm[["image", "label", "source"]]])
    test = pd.concat([test10, test100])
    train = train[train["label"].isin(LUMA_CLASSES)].reset_index(drop=True)
    test = test[test["label"].isin(LUMA_CLASSES[:N_ID])].reset_index(drop=True)
    return train, test


def read_luma(luma_dir: str | Path) -> dict[str, dict[str, pd.DataFrame]]:
    """The rows of every split and modality of a LUMA copy: ``tables[split][modality]``.

    Each frame keeps the row ids of its source table as index (those the triplets and the
    manifest record) and a ``label`` column; audio adds ``path`` (relative to ``audio/``), text
    ``text`` and image ``image``. Train and test rows come from LUMA's index files
    (``split_indices/`` inside ``luma_dir``); OOD rows are every row of the 8 other classes.

    Raises
    ------
    FileNotFoundError
        A table or index file is missing.
    ValueError
        An index file names rows the table lacks, a split holds OOD classes, or a class has too
        few rows; messages name the file, expected and actual values.
    """
    root = Path(luma_dir)
    audio_csv = _require(root / "audio" / "datalist.csv", "LUMA's audio table")
    text_tsv = _require(root / "text_data.tsv", "LUMA's text table")
    audio = _check_labels(pd.read_csv(audio_csv), audio_csv)
    text = _check_labels(pd.read_csv(text_tsv, sep="\t"), text_tsv)
    image_train, image_test = image_tables(root)
    source = {"audio": (audio, audio), "text": (text, text), "image": (image_train, image_test)}
    tables: dict[str, dict[str, pd.DataFrame]] = {"train": {}, "test": {}, "ood": {}}
    for m in MODALITIES:
        for split, table in zip(("train", "test"), source[m]):
            file = _require(root / "split_indices" / split_index_name(m, split), "LUMA's split index")
            rows = np.loadtxt(file, dtype=np.int64, ndmin=1)
            missing = np.setdiff1d(rows, table.index.to_numpy())
            if len(missing):
                raise ValueError(f"{file}: {len(missing)} row ids are not in the {m} table "
                                 f"(first {missing[:3].tolist()}, table has {len(table)} rows)")
            part = table.loc[rows]
            ood = sorted(set(part["label"]) - set(LUMA_CLASSES[:N_ID]))
            if ood:
                raise ValueError(f"{file}: {split} rows must be in-distribution, got classes {ood}")
            tables[split][m] = part
        train_table = source[m][0]
        tables["ood"][m] = train_table[~train_table["label"].isin(LUMA_CLASSES[:N_ID])]
    return tables


def make_triplets(tables: dict[str, dict[str, pd.DataFrame]], seed: int = 42) -> pd.DataFrame:
    """Pair the modalities at random within each class, as LUMA's ``align_data`` does.

    One ``np.random.RandomState(seed)`` stream, drawn class by class in id order and, within a
    class, audio, text, image (the order of LUMA's code; ``DataFrame.sample(frac=1)`` draws
    ``permutation(n)``); train, then test, then OOD, where each OOD class keeps the smallest of
    its three row counts (LUMA's ``align_ood_data``, which draws ``permutation(n)[:k]``).

    Returns
    -------
    DataFrame
        One row per triplet: ``split``, ``label`` (class id), ``class`` and the source-table row
        id of each modality (``image_row``, ``audio_row``, ``text_row``), grouped by class.
    """
    rng = np.random.RandomState(seed)
    out = []
    for split in ("train", "test", "ood"):
        classes = LUMA_CLASSES[:N_ID] if split != "ood" else LUMA_CLASSES[N_ID:]
        for name in classes:
            rows = {m: tables[split][m].index[tables[split][m]["label"].to_numpy() == name].to_numpy()
                    for m in ("audio", "text", "image")}
            counts = {m: len(r) for m, r in rows.items()}
            if split == "ood":
                n = min(counts.values())
            elif len(set(counts.values())) != 1:
                raise ValueError(f"split '{split}', class '{name}': the modalities must have equal "
                                 f"row counts to be paired, got {counts}")
            else:
                n = counts["audio"]
            if n == 0:
                continue
            picked = {m: r[rng.permutation(len(r))[:n]] for m, r in rows.items()}
            out.append(pd.DataFrame({"split": split, "label": CLASS_ID[name], "class": name,
                                     **{f"{m}_row": picked[m] for m in MODALITIES}}))
    return pd.concat(out, ignore_index=True)


def split_counts(triplets: pd.DataFrame) -> pd.DataFrame:
    """Triplets and classes per split, and triplets per class (min-max), a pandas DataFrame."""
    g = triplets.groupby("split", sort=False)
    per_class = triplets.groupby(["split", "label"], sort=False).size().groupby("split", sort=False)
    return pd.DataFrame({"triplets": g.size(), "classes": g["label"].nunique(),
                         "per class (min)": per_class.min(), "per class (max)": per_class.max()})


# ---------------------------------------------------------------------------------------- bundle
def _stamp(cfg: ExtractConfig, triplets: pd.DataFrame, infos: dict) -> str:
    """Key of the resumable parts: the config, the triplets and the exact weights used."""
    blob = json.dumps({"cfg": asdict(cfg), "models": infos,
                       "triplets": hashlib.sha256(triplets.to_csv().encode()).hexdigest()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _image_rows(tables, triplets, split) -> np.ndarray:
    """uint8 (n, 32, 32, 3) images of one split, in triplet order."""
    table = tables[split]["image"]
    return np.stack(table.loc[triplets.loc[triplets["split"] == split, "image_row"], "image"].to_list())


def build_bundle(luma_dir: str | Path, out_dir: str | Path, cfg: ExtractConfig = ExtractConfig(),
                 models: dict | None = None, progress: bool = True) -> Path:
    """Extract every split x modality of a LUMA copy into a feature bundle with a manifest.

    Parameters
    ----------
    luma_dir : str or Path
        A local LUMA copy (the Hugging Face dataset, LUMA's ``split_indices/`` and the images;
        ``python -m mmae.luma download`` makes one).
    out_dir : str or Path
        The bundle folder; ``out_dir/parts/`` holds resumable chunks and the fine-tuned weights.
    cfg : ExtractConfig
    models : dict or None
        ``{"image": VGG11BN, "audio": Wav2Vec2Model, "text": (BertModel, tokenizer)}`` with an
        optional ``"info"`` dict per modality; None downloads the pretrained weights
        (:func:`mmae.extract.load_pretrained`). Tests pass :func:`mmae.extract.tiny_models`.
    progress : bool
        Show tqdm bars.

    Returns
    -------
    Path
        ``out_dir``, readable by :func:`mmae.data.load_bundle` (which verifies the manifest).
    """
    import torch

    from mmae import extract
    from mmae.artifacts import code_version
    from mmae.train import pick_device

    root, out = Path(luma_dir), Path(out_dir)
    device = pick_device(cfg.device)
    tables = read_luma(root)
    triplets = make_triplets(tables, cfg.seed)
    if models is None:
        models = {}
        for kind in MODALITIES:
            models[kind], models.setdefault("info", {})[kind] = extract.load_pretrained(kind)
    info = {m: {**models.get("info", {}).get(m, {}),
                "fingerprint": extract.model_fingerprint(models[m][0] if m == "text" else models[m])}
            for m in MODALITIES}
    parts = out / "parts"
    stamp = _stamp(cfg, triplets, info)
    if (parts / "stamp.txt").exists() and (parts / "stamp.txt").read_text() != stamp:
        shutil.rmtree(parts)  # parts of another config, data or model: never mix them
    parts.mkdir(parents=True, exist_ok=True)
    (parts / "stamp.txt").write_text(stamp)
    splits = [s for s in ("train", "test", "ood") if (triplets["split"] == s).any()]
    feats: dict[str, dict[str, np.ndarray]] = {s: {} for s in splits}
    history = None

    # image: fine-tune VGG11-BN's new head on the labels (LUMA), or ImageNet penultimate + PCA
    vgg = models["image"]
    if cfg.image_features == "finetuned_logits":
        weights = parts / "vgg_finetuned.pt"
        if cfg.finetune_on == "train":
            ft_images, ft_labels = _image_rows(tables, triplets, "train"), triplets.loc[
                triplets["split"] == "train", "label"].to_numpy()
        else:  # LUMA's code fine-tunes on its whole image table, OOD classes included
            table = image_tables(root)[0]
            ft_images, ft_labels = np.stack(table["image"].to_list()), table["label"].map(CLASS_ID).to_numpy()
        vgg = extract.replace_head(vgg, n_classes=len(LUMA_CLASSES), seed=cfg.seed)
        if weights.exists():
            vgg.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        else:
            vgg, history = extract.finetune_vgg(
                vgg, ft_images, ft_labels, epochs=cfg.finetune_epochs, head_epochs=cfg.head_epochs,
                batch_size=cfg.batch_size, image_size=cfg.image_size, seed=cfg.seed, device=device)
            history.to_csv(parts / "finetune_history.csv", index=False)
            torch.save(vgg.state_dict(), weights)
        info["image"]["finetuned_fingerprint"] = extract.model_fingerprint(vgg)
        kind = "logits"
    else:
        kind = "penultimate"
    for s in splits:
        images = _image_rows(tables, triplets, s)
        feats[s]["image"] = extract.run_in_chunks(
            lambda chunk: extract.image_features(vgg, chunk, kind=kind, batch_size=cfg.batch_size,
                                                 image_size=cfg.image_size, device=device),
            images, parts, f"{s}_image_{kind}", cfg.chunk_size, desc=f"image {s}")
    if cfg.image_features == "penultimate_pca":
        from sklearn.decomposition import PCA

        pca = PCA(50, random_state=cfg.seed).fit(feats["train"]["image"])  # fitted on train only
        for s in splits:
            feats[s]["image"] = pca.transform(feats[s]["image"]).astype(np.float32)

    # audio: wav2vec 2.0 at 16 kHz mono, last layer mean-pooled over time
    for s in splits:
        paths = [str(root / "audio" / p) for p in
                 tables[s]["audio"].loc[triplets.loc[triplets["split"] == s, "audio_row"], "path"]]
        feats[s]["audio"] = extract.run_in_chunks(
            lambda chunk: extract.audio_features(models["audio"], [extract.read_audio(p) for p in chunk],
                                                 device=device, normalize=cfg.audio_normalize),
            paths, parts, f"{s}_audio", cfg.chunk_size, desc=f"audio {s}")

    # text: BERT with the class word masked (LUMA), mean over tokens or [CLS]
    bert, tokenizer = models["text"]
    for s in splits:
        rows = triplets[triplets["split"] == s]
        texts = [extract.mask_class_word(t, c, tokenizer=tokenizer) for t, c in
                 zip(tables[s]["text"].loc[rows["text_row"], "text"], rows["class"])]
        feats[s]["text"] = extract.run_in_chunks(
            lambda chunk: extract.text_features(bert, tokenizer, chunk, pooling=cfg.text_pooling,
                                                max_length=cfg.text_max_length, batch_size=cfg.batch_size,
                                                device=device),
            texts, parts, f"{s}_text_{cfg.text_pooling}", cfg.chunk_size, desc=f"text {s}")

    for s in splits:
        np.save(out / f"{s}_labels.npy", triplets.loc[triplets["split"] == s, "label"].to_numpy(np.int64))
        for m in MODALITIES:
            np.save(out / f"{s}_{m}.npy", feats[s][m].astype(np.float32))
    triplets.to_csv(out / "triplets.csv", index=False)
    extra = ["triplets.csv"]
    if (parts / "finetune_history.csv").exists():
        shutil.copy(parts / "finetune_history.csv", out / "finetune_history.csv")
        extra.append("finetune_history.csv")
    files = [f"{s}_{k}.npy" for s in splits for k in ("labels", *MODALITIES)] + extra
    manifest = {
        "format": BUNDLE_FORMAT, "created_by": "mmae.luma.build_bundle", "code_version": code_version(),
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
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
    return out


def manifest_table(bundle_dir: str | Path) -> pd.DataFrame:
    """The manifest's files: name, bytes, sha256 (first 16 hex digits) -- a pandas DataFrame."""
    manifest = json.loads((Path(bundle_dir) / "manifest.json").read_text())
    return pd.DataFrame([{"file": f, "bytes": v["bytes"], "sha256": v["sha256"][:16]}
                         for f, v in manifest["files"].items()])


# -------------------------------------------------------------------------------------- download
def _fetch(url: str, dest: Path) -> Path:
    """Download ``url`` to ``dest`` (``file://`` URLs too); a network failure -> ConnectionError."""
    import urllib.error
    import urllib.request

    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:
            shutil.copyfileobj(r, f)
    except (urllib.error.URLError, OSError) as e:
        dest.unlink(missing_ok=True)
        raise ConnectionError(f"could not download {url} to {dest} ({e}); this needs internet access: "
                              "run `python -m mmae.luma download` on a machine that has it, then copy "
                              "the folder") from e
    return dest


def download(luma_dir: str | Path, dataset: bool = True, splits: bool = True, cifar: bool = True) -> Path:
    """Make a local LUMA copy: the Hugging Face dataset, LUMA's split index files, CIFAR-10/100.

    Nothing is downloaded at import time; files already present are kept (re-running resumes).

    Parameters
    ----------
    luma_dir : str or Path
        Destination folder (about 7 GB with CIFAR).
    dataset, splits, cifar : bool
        Which parts to fetch: ``bezirganyan/LUMA`` from Hugging Face (audio, text, EDM images),
        ``split_indices/*.txt`` from LUMA's GitHub repository, CIFAR's python archives.

    Raises
    ------
    ConnectionError
        When a source cannot be reached; the message names it and says what to do.
    """
    import tarfile

    root = Path(luma_dir)
    root.mkdir(parents=True, exist_ok=True)
    if dataset:
        from huggingface_hub import snapshot_download

        try:
            snapshot_download(repo_id=HF_DATASET, repo_type="dataset", local_dir=root)
        except Exception as e:  # huggingface_hub wraps network errors in several classes
            raise ConnectionError(f"could not download the Hugging Face dataset {HF_DATASET} to {root} "
                                  f"({type(e).__name__}: {e}); run this on a machine with internet access "
                                  "or `git clone https://huggingface.co/datasets/bezirganyan/LUMA` there") from e
    if splits:
        for m in MODALITIES:
            for split in ("train", "test"):
                name = split_index_name(m, split)
                if not (root / "split_indices" / name).exists():
                    _fetch(SPLIT_INDEX_URL.format(name), root / "split_indices" / name)
    if cifar:
        for folder, url in CIFAR_URLS.items():
            if not (root / folder).is_dir():
                archive = _fetch(url, root / Path(url).name)
                with tarfile.open(archive) as tar:
                    tar.extractall(root, filter="data")
                archive.unlink()
    return root


# --------------------------------------------------------------------------------------- fixture
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_fixture(folder: str | Path, n_train: int = 2, n_test: int = 1, n_ood: int = 2, seed: int = 0,
                  sample_rate: int = 8000) -> Path:
    """A tiny LUMA copy in LUMA's layout and file formats, for tests and the offline chapter.

    ``audio/datalist.csv`` + short WAVs (``sample_rate`` Hz, some stereo, to exercise resampling),
    ``text_data.tsv``, CIFAR-10/100 python archives (unpacked, CIFAR's names: ``aquarium_fish``...)
    + ``edm_images.pickle``, and ``split_indices/`` choosing ``n_train`` / ``n_test`` rows per
    in-distribution class (one spare row per class stays unused, as in LUMA). Each of the 50
    classes has its own image colour, tone pitch and words, so the features carry the class.
    """
    import soundfile as sf

    root = Path(folder)
    rng = np.random.default_rng(seed)
    n_per = {c: (n_train + n_test + 1 if i < N_ID else n_ood) for i, c in enumerate(LUMA_CLASSES)}
    (root / "audio" / "cv_audio").mkdir(parents=True, exist_ok=True)
    audio_rows, text_rows = [], []
    for i, c in enumerate(LUMA_CLASSES):
        for j in range(n_per[c]):
            t = np.arange(int(0.25 * sample_rate)) / sample_rate  # 0.25 s tone, pitch by class
            wave = 0.3 * np.sin(2 * np.pi * (200 + 20 * i) * t) + 0.01 * rng.standard_normal(len(t))
            path = f"cv_audio/{c}_{j}.wav"
            sf.write(root / "audio" / path, np.stack([wave, wave], 1) if j % 2 else wave, sample_rate)
            audio_rows.append({"path": path, "label": c, "tts_label": c})
            text_rows.append({"text": f"The {c.capitalize()} number {j}. Many {c}s look like a {c}.", "label": c})
    pd.DataFrame(audio_rows).to_csv(root / "audio" / "datalist.csv", index=False)
    pd.DataFrame(text_rows).to_csv(root / "text_data.tsv", sep="\t", index=False)

    cifar100_names = [CIFAR_RENAME_BACK.get(c, c) for c in LUMA_CLASSES if c not in CIFAR10_NAMES]
    cifar100_names += ["pickup_truck", "apple"]  # a renamed duplicate and a class LUMA drops

    def images(labels, names):  # uint8 (n, 3072) in CIFAR's channel-first rows, colour by class
        colour = {n: rng.integers(0, 256, 3) for n in names}
        px = np.stack([np.clip(colour[names[k]][:, None] + rng.integers(-20, 21, (3, 1024)), 0, 255)
                       for k in labels])
        return px.reshape(len(labels), 3072).astype(np.uint8)

    def write(path, obj):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(obj, f)

    for folder_name, names, n_batches, key, meta, meta_key in (
            ("cifar-10-batches-py", CIFAR10_NAMES, 5, "labels", "batches.meta", "label_names"),
            ("cifar-100-python", cifar100_names, 1, "fine_labels", "meta", "fine_label_names")):
        base = root / folder_name
        write(base / meta, {meta_key: names})
        keep = [k for k, n in enumerate(names) if CIFAR_RENAME.get(n, n) in LUMA_CLASSES or n == "apple"]
        for split, per in (("train", n_train + 1), ("test", n_test + 1)):
            labels = [k for k in keep for _ in range(per)]
            files = CIFAR_FILES[folder_name][split]
            for file, idx in zip(files, np.array_split(np.arange(len(labels)), len(files))):
                lab = [labels[k] for k in idx]
                write(base / file, {"data": images(lab, names), key: lab})
    edm = [{"image": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "label": c} for c in LUMA_CLASSES]
    pd.DataFrame(edm).to_pickle(root / "edm_images.pickle")

    # LUMA's index files: n_train / n_test rows per in-distribution class (never EDM images)
    image_train, image_test = image_tables(root)
    audio = pd.read_csv(root / "audio" / "datalist.csv")
    text = pd.read_csv(root / "text_data.tsv", sep="\t")
    for m, (tr, te) in {"image": (image_train[image_train["source"] != "synthetic100"], image_test),
                        "audio": (audio, audio), "text": (text, text)}.items():
        pick = {"train": [], "test": []}
        for c in LUMA_CLASSES[:N_ID]:
            pick["train"] += tr.index[tr["label"] == c][:n_train].tolist()
            rows = te.index[te["label"] == c]
            pick["test"] += (rows[n_train:n_train + n_test] if te is tr else rows[:n_test]).tolist()
        for split, rows in pick.items():
            f = root / "split_indices" / split_index_name(m, split)
            f.parent.mkdir(exist_ok=True)
            np.savetxt(f, np.asarray(rows, dtype=np.int64), fmt="%d")
    return root


# ------------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    """``python -m mmae.luma download|extract|fixture`` (``--help`` on each)."""
    p = argparse.ArgumentParser(prog="python -m mmae.luma", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("download", help="fetch LUMA, its split files and CIFAR into LUMA_DIR")
    d.add_argument("luma_dir")
    e = sub.add_parser("extract", help="turn LUMA_DIR into a feature bundle in OUT_DIR")
    e.add_argument("luma_dir")
    e.add_argument("out_dir")
    for name, default in asdict(ExtractConfig()).items():
        kw = {"choices": CHOICES[name]} if name in CHOICES else {}
        typ = (lambda v: v.lower() in ("1", "true", "yes")) if isinstance(default, bool) else type(default)
        e.add_argument(f"--{name.replace('_', '-')}", type=typ, default=default, **kw)
    e.add_argument("--tiny", action="store_true", help="small random models (tests, offline demo)")
    f = sub.add_parser("fixture", help="write a tiny LUMA-layout copy into FOLDER")
    f.add_argument("folder")
    args = p.parse_args(argv)
    if args.command == "download":
        print(download(args.luma_dir))
    elif args.command == "fixture":
        print(write_fixture(args.folder))
    else:
        from mmae import extract

        cfg = ExtractConfig(**{k: getattr(args, k) for k in asdict(ExtractConfig())})
        models = extract.tiny_models(seed=cfg.seed) if args.tiny else None
        print(build_bundle(args.luma_dir, args.out_dir, cfg, models))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
