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
# # 6. Reproduction summary
#
# One page: the paper's numbers against the same protocol here, for every method, at the paper's
# k = 42 (LUMA's number of classes) and at k = the number of classes here. It reads the tables
# written by notebooks 2 and 4 from `artifacts_dir`.

# %% tags=["parameters"]
data = "real"  # "real" (the LUMA-shaped real set, 42 + 8 classes), "real:cifar10" (8 + 2), "synthetic" or a bundle folder
data_seed = 0  # seed of the synthetic set (ignored for a bundle)
k = None  # the k compared; None: the number of classes (the paper: 42, on LUMA)
table3_weights = None  # the fusion weights compared with Table III of the paper; None: all ones
artifacts_dir = "artifacts"  # where notebooks 2 and 4 wrote their tables (relative to the repository root)

# %%
from mmae import params
from mmae.report import provenance

provenance.start("06_summary")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "06_summary")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from mmae import artifacts, data as mdata, paper
from mmae.report import findings, plots, tables

out = artifacts.writable_dir(artifacts_dir)
features = mdata.load_features(data, seed=data_seed)
params.check_data(globals(), "06_summary", features)  # k and the weights against these data
k = k or paper.here_k(features.n_classes, paper.TABLE2_K, len(features.y["test"]))
display(Markdown(tables.banner(features)))

# %% [markdown]
# Every method: the paper (LUMA, k = 42) and here (the data named in the header, k = the number
# of classes unless `k` says otherwise).

# %%
here = paper.here_summary(out, features.name, k, table3_weights)
reported = paper.paper_summary(paper.TABLE2_K)
paper.side_by_side(here, reported, "method")

# %% [markdown]
# ARI of every method, paper and here.

# %%
plots.plot_paper_vs_here(here, reported, "ari", features.name, out / "fig6_summary_ari.png");

# %% [markdown]
# ## What holds and what does not
#
# The paper's two orderings, checked on these data (computed from the table above; the synthetic
# set is calibrated to the paper's Table II, so agreement there is by design, not evidence):

# %%
display(Markdown(findings.summary(here, reported, features.name, k)))

# %% [markdown]
# What the paper's text and LUMA's code say, which no run can change:
#
# - **The image baseline is supervised**: LUMA's image features are logits of a VGG11-BN whose
#   head was fine-tuned on the class labels, so every method that sees the image modality
#   inherits label information.
# - **Table III at k = 42 equals Table II's image row** in the paper, which suggests a fusion
#   that ignored audio and text; weights (1, 0, ...) reproduce it by construction (notebook 2).
# - **The MMAE's gain** (Table IV) must come from class signal already present in the
#   modalities: LUMA's triplets share only their class, so there is no instance-level
#   correspondence for reconstruction to align.
# - **"Modality invariance"** (the paper's Fig. 5) is a claim about each modality's own encoding;
#   chapter 5 measures it as the share of an encoding's nearest neighbours that have its modality
#   (1/3 would be fully mixed), instead of reading it off a t-SNE picture.
# - **Text features**: the paper says [CLS]; LUMA's code mean-pools BERT over tokens.

# %% tags=["hide-input"]
provenance.show("06_summary", features, "cpu", artifacts_dir)
