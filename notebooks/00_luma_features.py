# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 0b. From LUMA to features
#
# The paper trains on pre-extracted LUMA features (image 50-D, audio 1024-D, text 768-D) that are
# not public. This chapter is the missing step: it turns a local copy of
# [LUMA](https://github.com/bezirganyan/LUMA) (data on the Hugging Face dataset `bezirganyan/LUMA`)
# into the feature bundle every other chapter reads, following LUMA's own code (`mmae.luma`, its
# extractors in `mmae.luma.extract`):
#
# | step | what LUMA's code does | here |
# |---|---|---|
# | split | `split_indices/*.txt`: 500 train / 100 test rows for each of 42 classes; the 8 other classes are OOD | the same files |
# | triplets | each modality shuffled **within a class** with one NumPy stream seeded 42, then zipped | the same draw (tested against pandas' `sample`) |
# | image | ImageNet VGG11-BN, new head 4096 → 512 → 50 **fine-tuned on the class labels** (15 epochs, head only for 5), its 50 logits | `image_features="finetuned_logits"`; label-free alternative `"penultimate_pca"` |
# | audio | torchaudio `WAV2VEC2_LARGE` (LibriSpeech 960 h), 16 kHz mono, last layer mean over time (1024-D) | `facebook/wav2vec2-large` through transformers, same recipe |
# | text | `bert-base-uncased`, class word masked, last layer **mean over tokens** (768-D) | `text_pooling="mean"`; the paper's [CLS] with `"cls"` |
#
# Three consequences a reader of the paper should know. (1) The image features are logits of a
# network **trained on the labels** being clustered, so image clustering scores measure a
# supervised classifier, not unsupervised structure; the label-free option removes that leak.
# (2) The triplets are paired at random within a class, so the three modalities of a triplet share
# their class and nothing else. (3) The paper says [CLS] for text; LUMA's code mean-pools.
#
# The book cannot reach LUMA or the pretrained weights, so below the pipeline runs end to end on a
# **tiny LUMA-layout fixture** (written by `mmae.luma.write_fixture`: a few images, short WAVs
# and texts per class, in LUMA's folder layout and file formats) with **small random models of the
# same classes**. Its numbers only show that the pipeline works; they say nothing about LUMA.
#
# With internet and a GPU, the real run is three commands (the extras install transformers,
# huggingface_hub, soundfile and nltk):
#
# ```bash
# pip install -e ".[luma]"
# python -m mmae.luma download ~/luma                  # HF dataset, LUMA's split files, CIFAR-10/100 (~7 GB)
# python -m mmae.luma extract ~/luma ~/luma_bundle     # fine-tunes VGG11-BN, extracts 29,059 triplets
# MMAE_DATA=~/luma_bundle jupyter-book build book/     # the whole book on the real features
# ```
#
# How long the real run takes was **not measured** here (no LUMA, no pretrained weights). By FLOP
# count, fine-tuning VGG11-BN at 224 px (about 23 GFLOP per training image, 21,000 images x 15
# epochs) is of the order of 10 minutes on a current data-centre GPU and 10 hours on a 2-core CPU;
# extraction is resumable chunk by chunk (`--chunk-size`), so an interrupted run continues where it
# stopped.
#
# Where this pipeline deliberately differs from LUMA's code (each difference is a choice a user can
# see in the manifest; the ones marked *option* can be switched to LUMA's behaviour):
#
# | LUMA's code | here | why |
# |---|---|---|
# | fine-tunes the image head on its **whole** image table (OOD classes included) | train split only; *option* `finetune_on="all"` | OOD classes must stay unseen for chapter 12 |
# | extracts the fine-tuning images with the model still in train mode (dropout active) | every image in eval mode | features should not depend on the split |
# | stereo clips: channels concatenated into one long signal | channels averaged (mono), as the paper says | a clip is one signal |
# | resamples with torchaudio's sinc filter; torchaudio's `WAV2VEC2_LARGE` | `scipy.signal.resample_poly`; the transformers checkpoint `facebook/wav2vec2-large` | no torchaudio needed; values differ slightly (not compared here) |
# | one text at a time, never truncated (fails beyond 512 tokens) | batches, truncated at `text_max_length` | same mean over unpadded tokens |
#
# Kept exactly as LUMA does it, quirks included: the seeded within-class shuffle that forms the
# triplets; the head 4096 → 512 → 50 without dropout, 5 head-only epochs then 10 of the whole
# network, batch norm in train mode throughout; and the class-word masking, which compares each
# word piece's Lancaster stem with the class name itself, so the 16 classes whose name is not its
# own stem ("horse" → "hors", "woman", ...) are never masked, and a match is replaced as a
# substring ("man" also masks the "man" in "woman").

# %% tags=["parameters"]
luma_dir = ""  # a local LUMA copy; "" writes and uses the tiny fixture
bundle_dir = ""  # where the bundle goes; "" puts it in artifacts_dir/luma_bundle
tiny = True  # small random models (offline); False downloads VGG11-BN, wav2vec 2.0 large, BERT
seed = 42  # seed of the triplet shuffling, fine-tuning and PCA (LUMA: 42)
image_features = "finetuned_logits"  # "finetuned_logits" (LUMA, uses labels) or "penultimate_pca" (label-free)
finetune_on = "train"  # images the head is fine-tuned on: "train" split or "all" (LUMA's whole table)
finetune_epochs = 2  # LUMA: 15 (first head_epochs train the new head only)
head_epochs = 1  # LUMA: 5
image_size = 32  # LUMA resizes to 224; the fixture's tiny VGG runs at 32
text_pooling = "mean"  # "mean" over tokens (LUMA's code) or "cls" (the paper's text)
text_max_length = 64  # tokens kept per text (BERT: up to 512)
batch_size = 32  # batch size of fine-tuning and extraction
chunk_size = 64  # items per resumable part
device = "auto"  # "auto" picks cuda, then mps, then cpu
artifacts_dir = "artifacts"  # the fixture, the bundle and figures go here (relative to the repository root)

# %%
from mmae import params
from mmae.report import provenance

provenance.start("00_luma_features")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "00_luma_features")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
import json

from IPython.display import Markdown, display

from mmae import artifacts, data as mdata, luma
from mmae.luma import extract
from mmae.report import plots
from mmae.report.tables import summary_table

out = artifacts.writable_dir(artifacts_dir)
cfg = luma.ExtractConfig(seed=seed, image_features=image_features, finetune_on=finetune_on,
                         finetune_epochs=finetune_epochs, head_epochs=head_epochs, image_size=image_size,
                         text_pooling=text_pooling, text_max_length=text_max_length, batch_size=batch_size,
                         chunk_size=chunk_size, device=device)
source = luma_dir or luma.write_fixture(out / "luma_fixture", seed=seed)
target = bundle_dir or out / "luma_bundle"
display(Markdown(f"**LUMA copy:** `{artifacts.display_path(source)}`"
                 + (" (the tiny fixture, not LUMA)" if not luma_dir else "")))

# %% [markdown]
# The rows LUMA's split files select, and the triplets formed from them: every class of a split
# has as many rows in each modality (OOD classes keep the smallest of their three counts).

# %%
tables = luma.read_luma(source)
triplets = luma.make_triplets(tables, seed=cfg.seed)
luma.split_counts(triplets)

# %% [markdown]
# The first triplets of the train split: the row each modality was drawn from. Rows of one class
# are paired by the shuffle alone.

# %%
triplets.head(6)

# %% [markdown]
# Extraction: fine-tuning the image head, then image, audio and text features split by split, each
# saved in resumable parts (`bundle_dir/parts/`).

# %%
models = extract.ModelSource("tiny", seed=cfg.seed) if tiny else None  # every worker makes them again
bundle = luma.build_bundle(source, target, cfg, models)

# %% [markdown]
# Fine-tuning the new head on the labels (the first `head_epochs` train only the head, then the
# whole network): this is where the image modality learns the classes.

# %%
if cfg.image_features == "finetuned_logits":
    plots.plot_finetune(bundle / "finetune_history.csv", out / "fig0_finetune.png")

# %% [markdown]
# The manifest records the models (with a sha256 of their weights), the preprocessing, the seed,
# the counts and the sha256 of every file; `mmae.data.load_bundle` refuses a bundle whose files
# no longer match it.

# %%
manifest = json.loads((bundle / "manifest.json").read_text())
display(Markdown("\n".join(f"- **{m}**: {v}" for m, v in manifest["preprocessing"].items())))
luma.manifest_table(bundle)

# %% [markdown]
# The bundle loads like any other (hashes verified) and is what the rest of the book reads with
# `data = "<bundle_dir>"` or `MMAE_DATA=<bundle_dir>`.

# %%
features = mdata.load_features(bundle)
summary_table(features).round(3)

# %% [markdown]
# ## Recap
#
# - `python -m mmae.luma download` fetches LUMA, its split files and CIFAR; `extract` writes the
#   bundle (`{split}_{modality}.npy`, labels, `triplets.csv`, `manifest.json`) with LUMA's recipe.
# - LUMA's image features are logits of a VGG11-BN fine-tuned **on the labels**;
#   `image_features="penultimate_pca"` gives label-free image features instead.
# - Triplets share only their class (shuffled within each class); text is mean-pooled in LUMA's
#   code and [CLS] in the paper, both selectable.
# - Here the pipeline ran on a tiny fixture with random models: the shapes, manifest and hashes
#   are real, the feature values are not LUMA's.

# %% tags=["hide-input"]
provenance.show("00_luma_features", features, device, artifacts_dir)
