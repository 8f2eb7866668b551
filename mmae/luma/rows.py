"""LUMA's tables, split files and triplets: which rows of a local LUMA copy form the bundle.

LUMA's class ids and CIFAR naming, reading the audio, text and image tables (images from
LUMA's pickles or rebuilt from CIFAR-10/100 and LUMA's generated images), the rows LUMA's
``split_indices/`` files select (:func:`read_luma`), and the seeded within-class pairing of
the modalities into triplets (:func:`make_triplets`).
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from mmae.data import MODALITIES

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


def split_index_name(modality: str, split: str) -> str:
    """LUMA's index file of one modality and split, e.g. ``audio_train_clean.txt``."""
    return f"{modality}_{'train_clean' if split == 'train' else 'test'}.txt"


def _require(path: Path, what: str, root: Path | None = None) -> Path:
    """``path``, or a FileNotFoundError naming it and the download command for the LUMA folder
    ``root`` (by default ``path``'s folder; CIFAR's batches sit one level below LUMA's root)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing ({what}); `python -m mmae.luma download "
                                f"{root or path.parent}` fetches LUMA")
    return path


def _check_labels(table: pd.DataFrame, file: Path) -> pd.DataFrame:
    unknown = sorted(set(table["label"]) - set(LUMA_CLASSES))
    if unknown:
        raise ValueError(f"{file}: labels must be LUMA's 50 class names, got unknown {unknown[:5]}")
    return table


def _read_cifar(folder: Path, files: list[str], label_key: str, names_file: str, names_key: str) -> pd.DataFrame:
    def load(name):  # CIFAR's python pickles (latin1 keeps their byte keys readable as str)
        with open(_require(folder / name, "CIFAR, see CIFAR_URLS", folder.parent), "rb") as f:
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
    audio_csv = _require(root / "audio" / "datalist.csv", "LUMA's audio table", root)
    text_tsv = _require(root / "text_data.tsv", "LUMA's text table")
    audio = _check_labels(pd.read_csv(audio_csv), audio_csv)
    text = _check_labels(pd.read_csv(text_tsv, sep="\t"), text_tsv)
    image_train, image_test = image_tables(root)
    source = {"audio": (audio, audio), "text": (text, text), "image": (image_train, image_test)}
    tables: dict[str, dict[str, pd.DataFrame]] = {"train": {}, "test": {}, "ood": {}}
    for m in MODALITIES:
        for split, table in zip(("train", "test"), source[m]):
            file = _require(root / "split_indices" / split_index_name(m, split), "LUMA's split index", root)
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
