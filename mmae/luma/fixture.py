"""A tiny LUMA copy in LUMA's layout and file formats (:func:`write_fixture`), for tests and the book."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from mmae.luma.rows import (CIFAR_FILES, CIFAR_RENAME, CIFAR_RENAME_BACK, LUMA_CLASSES, N_ID, image_tables,
                              split_index_name)

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_fixture(folder: str | Path, n_train: int = 2, n_test: int = 2, n_ood: int = 2, seed: int = 0,
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
