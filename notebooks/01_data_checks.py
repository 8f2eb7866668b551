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
# # 1. The data
#
# Before training anything we look at what the MMAE will be fed: the dimensions and counts of
# each split and modality (the paper's Table I), the class balance, and how the modalities
# of a triplet relate to each other. The paper calls LUMA's triplets "fully aligned"; LUMA's own
# code pairs them **at random within a class**, and the last check below measures exactly that.

# %% tags=["parameters"]
data = "real"  # "real" (the LUMA-shaped real set, 42 + 8 classes), "real:cifar10" (8 + 2), "synthetic" or a bundle folder
data_seed = 0  # seed of the synthetic set (ignored for a bundle)
seed = 42  # random_state of the re-pairing null, K-Means and the train subsample of the probe
n_init = 10  # K-Means restarts
artifacts_dir = "artifacts"  # figures go here (relative paths start at the repository root)

# %%
from mmae import params
from mmae.report import provenance

provenance.start("01_data_checks")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "01_data_checks")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from mmae import atomic, artifacts, data as mdata, paper
from mmae.report import tables
from mmae.study import information

out = artifacts.writable_dir(artifacts_dir)
features = mdata.load_features(data, seed=data_seed)
params.check_data(globals(), "01_data_checks", features)  # every parameter against these data, before any work
display(Markdown(tables.banner(features)))

# %% [markdown]
# Every split and modality, as loaded (and validated: equal row counts across modalities and
# labels, float features, finite values, integer labels).

# %%
tables.summary_table(features).round(3)

# %% [markdown]
# The paper's Table I beside the same counts here. The paper says 50 classes with 420 train and
# 84 test triplets each; LUMA's split files hold **42** in-distribution classes with 500 train and
# 100 test each (the same 21,000 / 4,200 rows), and the 8 remaining classes make the OOD split.

# %%
paper.table1_side_by_side(features)

# %% [markdown]
# Class balance: the number of rows of each class in each split.

# %%
counts = pd.DataFrame({s: pd.Series(features.y[s]).value_counts() for s in features.splits}).fillna(0)
ax = counts.sort_index().plot.bar(stacked=True, figsize=(10, 3.2), width=0.9)
ax.set(xlabel="class", ylabel="rows", title=f"Rows per class and split ({features.name})")
ax.tick_params(axis="x", labelsize=6)
atomic.save_figure(plt.gcf(), out / "fig1_class_balance.png", dpi=130, bbox_inches="tight");

# %% [markdown]
# The spread of the raw feature values of each modality on the train split: the modalities
# may live on very different scales, one reason the paper standardises every feature.

# %%
fig, axes = plt.subplots(1, len(features.modalities), figsize=(11, 2.8))
for ax, m in zip(axes, features.modalities):
    ax.hist(features.x["train"][m][:2000].ravel(), bins=80, color="0.4")
    ax.set(title=f"{m} ({features.dims[m]}-D)", xlabel="feature value", yticks=[])
atomic.save_figure(fig, out / "fig1_feature_values.png", dpi=130, bbox_inches="tight");

# %% [markdown]
# **Alignment.** If a triplet were one media asset, its modalities (image, audio, text) would share more
# than their class: after removing each class's mean, the modalities would still correlate. We
# compare the largest canonical correlation of the class-centred features as paired with the same
# after re-pairing rows at random within each class. Equal columns mean the only thing a triplet's
# modalities share is the class label, as LUMA's pairing implies.

# %%
information.within_class_alignment(features, "train", seed=seed).round(3)

# %% [markdown]
# ## What each modality can tell
#
# Before any model: per modality, the test accuracy of a linear classifier (logistic regression
# fitted on train; what a linear latent could at best offer), the ARI of K-Means on the test rows
# against the class (what the paper's protocol sees), the share of the variance along the top 10
# principal directions that lies between class means, and the ARI of K-Means against each known
# nuisance label of the bundle (the real set's speaker).

# %%
tell = information.modality_table(features, n_init=n_init, seed=seed)
tell.set_index("modality").round(3)

# %% [markdown]
# The same, in words computed from the table above.

# %%
display(Markdown(information.what_the_data_can_tell(tell, "these data")))

# %% [markdown]
# ## Recap
#
# - The data loaded here are named in every table of this book; synthetic data are never the paper.
# - LUMA holds 42 in-distribution classes (500 train / 100 test each) and 8 OOD classes, not the
#   paper's "50 classes x 420".
# - Where triplets share their class and nothing more (LUMA's pairing; the alignment table above
#   tests it on these data), "alignment" can only mean class-level alignment, and instance-level
#   retrieval between modalities has no ground truth.
# - A modality can be linearly separable yet invisible to K-Means; the table of what each modality
#   can tell says where, on these data.

# %% tags=["hide-input"]
provenance.show("01_data_checks", features, "cpu", artifacts_dir)
