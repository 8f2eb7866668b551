"""What the book shows of the LUMA-shaped real set: its manifest as tables, and the raw samples the
bundle keeps (photographs, speech, texts), so that chapter 0a renders from a fresh clone without raw media."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mmae.atomic import book_figure
from mmae.media import BUNDLE50_DIR


def load_manifest(bundle: str | Path = BUNDLE50_DIR) -> dict:
    """The bundle's ``manifest.json`` as a dict."""
    path = Path(bundle) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the bundle with `python -m mmae.media build`")
    return json.loads(path.read_text())


def load_samples(bundle: str | Path = BUNDLE50_DIR) -> dict[str, np.ndarray]:
    """The raw samples ``samples.npz`` keeps: photographs, waveforms, log-mels and texts."""
    path = Path(bundle) / "samples.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the bundle with `python -m mmae.media build`")
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def sources_table(manifest: dict) -> pd.DataFrame:
    """One row per source and pretrained model: what it is, its sha256 (12 hex digits) and its licence."""
    def what(entry):
        return entry.get("file") or entry.get("folder") or ", ".join(f"{k} {v}" for k, v in entry.get("engines", {}).items())
    rows = [{"kind": "source", "name": name, "what": what(entry),
             "sha256": str(entry.get("sha256") or entry.get("sha256_data_noun") or "")[:12],
             "licence": entry.get("licence", "")} for name, entry in manifest["sources"].items()]
    rows += [{"kind": f"{modality} encoder", "name": entry["id"], "what": entry.get("pretraining", "pretrained weights"),
              "sha256": entry.get("sha256", "")[:12], "licence": entry.get("licence", "")}
             for modality, entry in manifest["models"].items()]
    return pd.DataFrame(rows)


def counts_table(manifest: dict) -> pd.DataFrame:
    """Table I's counts: rows and classes of every split here, beside LUMA's."""
    luma = manifest["luma_counts"]
    return pd.DataFrame([{"split": s, "classes": c["classes"], "rows per class": c["per_class"], "rows": c["rows"],
                          "LUMA rows": luma[s], "distinct clips": c["distinct_clips"], "distinct texts": c["distinct_texts"]}
                         for s, c in manifest["counts"].items()]).set_index("split")


def classes_table(manifest: dict) -> pd.DataFrame:
    """Every class: label, WordNet id, word, group, why it is here, and how many texts describe it."""
    t = pd.DataFrame(manifest["classes"]).set_index("label")
    texts = pd.DataFrame(manifest["text_counts"]).T
    t = t.join(texts.rename(columns={"train": "train texts", "test": "test texts"}), on="word")
    return t[["wnid", "word", "group", "split", "reason", "facts", "train texts", "test texts", "thin"]]


def dropped_table(manifest: dict) -> pd.DataFrame:
    """The Tiny ImageNet classes left out, and why."""
    return pd.DataFrame([{"wnid": w, "why left out": r} for w, r in manifest["dropped"].items()]).set_index("wnid")


def measured_table(manifest: dict, key: str) -> pd.DataFrame:
    """A measurement the build made (``"table2_image_k42"`` or ``"resolution"``) as a table."""
    return pd.DataFrame(manifest["measured"][key])


def plot_images(samples: dict, path=None):
    """One photograph of every class, as the image encoder receives it before upsampling."""
    images, classes = samples["images"][:, 0], samples["classes"]
    cols = 10
    fig, axes = plt.subplots(-(-len(classes) // cols), cols, figsize=(1.25 * cols, 1.45 * -(-len(classes) // cols)))
    for ax in axes.ravel():
        ax.axis("off")
    for ax, im, c, k in zip(axes.ravel(), images, classes, range(len(classes))):
        ax.imshow(im)
        ax.set_title(f"{c}{' (OOD)' if k >= 42 else ''}", fontsize=7)
    fig.suptitle("Tiny ImageNet photographs (64 x 64), one per class", fontsize=9)
    return book_figure(fig, path)


def plot_spectrograms(samples: dict, voices: list[str], path=None):
    """The log-mel spectrogram of one spoken clip of 8 class words, each with the voice that said it."""
    logmel, frames = samples["logmel"], samples["logmel_frames"]
    fig, axes = plt.subplots(2, (len(logmel) + 1) // 2, figsize=(11, 4.2), sharey=True)
    for ax, w, m, n, s in zip(axes.ravel(), samples["words"], logmel, frames, samples["audio_speaker"]):
        ax.imshow(m[:, :n].astype(np.float32), origin="lower", aspect="auto", cmap="magma")
        ax.set_title(f"'{w}', {voices[int(s)]}", fontsize=7)
        ax.set_xlabel("frame (10 ms)", fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("mel band", fontsize=7)
    fig.suptitle("Class words said by different offline voices: log-mel spectrograms (64 bands)", fontsize=9)
    fig.tight_layout()
    return book_figure(fig, path)


def texts_table(samples: dict) -> pd.DataFrame:
    """Sample descriptions, as composed from WordNet and as the encoder reads them (class word masked)."""
    return pd.DataFrame([{"class": c, "description": t, "as encoded": m}
                         for c, ts, ms in zip(samples["text_classes"], samples["texts"], samples["texts_masked"])
                         for t, m in zip(ts, ms)])
