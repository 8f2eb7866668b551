"""What the book shows of the real media set: its manifest as tables, and the raw samples the
bundle keeps (images, speech, texts), so the chapter renders from a fresh clone without raw media."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mmae.media import BUNDLE_DIR
from mmae.report.plots import _save


def load_manifest(bundle: str | Path = BUNDLE_DIR) -> dict:
    """The bundle's ``manifest.json`` as a dict."""
    path = Path(bundle) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the bundle with `python -m mmae.media build`")
    return json.loads(path.read_text())


def load_samples(bundle: str | Path = BUNDLE_DIR) -> dict[str, np.ndarray]:
    """The raw samples ``samples.npz`` keeps: images, waveforms, log-mels and texts per class."""
    path = Path(bundle) / "samples.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the bundle with `python -m mmae.media build`")
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def sources_table(manifest: dict) -> pd.DataFrame:
    """One row per source and pretrained model: what it is, its fingerprint and its licence."""
    rows = [{"kind": "source", "name": name, "what": entry.get("file") or entry.get("folder") or entry.get("version", ""),
             "sha256": str(entry.get("sha256") or entry.get("sha256_data_noun") or "")[:12],
             "licence": entry.get("licence", "")} for name, entry in manifest["sources"].items()]
    rows += [{"kind": f"{modality} encoder", "name": entry["id"], "what": "pretrained weights",
              "sha256": entry.get("sha256", "")[:12], "licence": entry.get("licence", "")}
             for modality, entry in manifest["models"].items()]
    return pd.DataFrame(rows)


def text_pool_table(manifest: dict) -> pd.DataFrame:
    """Unique WordNet texts per class and how they are split between the train and test pools."""
    t = pd.DataFrame(manifest["text_counts"]).T.rename_axis("class")
    return t.assign(split=["OOD" if c in manifest["ood_classes"] else "in distribution" for c in t.index])


def plot_images(samples: dict, path=None):
    """A grid of the sample images: one column per class."""
    images, classes = samples["images"], samples["classes"]
    fig, axes = plt.subplots(images.shape[1], len(classes), figsize=(1.2 * len(classes), 1.25 * images.shape[1]))
    for j, c in enumerate(classes):
        for i in range(images.shape[1]):
            axes[i, j].imshow(images[j, i])
            axes[i, j].set_xticks([]), axes[i, j].set_yticks([])
        axes[0, j].set_title(str(c), fontsize=8)
    fig.suptitle("CIFAR-10 images (32 x 32), as the image encoder receives them before upsampling", fontsize=9)
    return _save(fig, path)


def plot_spectrograms(samples: dict, path=None):
    """The log-mel spectrogram of one spoken clip per class, with its speaker."""
    logmel, frames, classes = samples["logmel"], samples["logmel_frames"], samples["classes"]
    fig, axes = plt.subplots(2, (len(classes) + 1) // 2, figsize=(11, 4.2), sharey=True)
    for ax, c, m, n, s in zip(axes.ravel(), classes, logmel, frames, samples["audio_speaker"]):
        ax.imshow(m[:, :n].astype(np.float32), origin="lower", aspect="auto", cmap="magma")
        ax.set_title(f"'{c}', speaker {s}", fontsize=8)
        ax.set_xlabel("frame (10 ms)", fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("mel band", fontsize=7)
    fig.suptitle("espeak-ng speaking each class word: log-mel spectrograms (64 bands)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def texts_table(samples: dict) -> pd.DataFrame:
    """The sample texts of every class, as WordNet words them and as the encoder reads them."""
    return pd.DataFrame([{"class": c, "WordNet text": t, "as encoded (class word masked)": m}
                         for c, ts, ms in zip(samples["classes"], samples["texts"], samples["texts_masked"])
                         for t, m in zip(ts, ms)])
