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
# # 8. Cross-modal retrieval
#
# The paper says its shared latent enables cross-modal retrieval, but does not measure it. Here
# each test item's embedding from one modality alone queries the embeddings of all test items
# from another modality alone, for every ordered pair of modalities.
#
# **Relevant means "same class".** LUMA forms its triplets by pairing an image, an audio clip and
# a text of the same class at random, so the audio of a triplet is not "the sound of that
# image": instance-level retrieval (find *the* partner) has no ground truth on LUMA and is not
# measured. With balanced classes, a random ranking scores about one over the number of classes on
# mAP and precision@10 (the dashed line of the figure below).
#
# Metrics (`mmae.evaluation.retrieval_scores`, cosine similarity): mAP over all queries,
# precision@10, and recall@k = the share of queries with at least one relevant item in the top k.

# %% tags=["parameters"]
data = "real"  # "real" (the LUMA-shaped real set, 42 + 8 classes), "real:cifar10" (8 + 2), "synthetic" or a bundle folder
data_seed = 0  # seed of the synthetic set (ignored for a bundle)
latent_dim = 128  # size of the shared latent of every model (paper: 128)
fusion = "mean"  # how the MMAE fuses its encoders' outputs: "mean" or "max"
epochs = 5  # training epochs of every model (paper: 100; chapter 13 shows what more epochs change)
batch_size = 128  # mini-batch size (paper: 128)
lr = 1e-3  # Adam learning rate (paper: 1e-3)
beta = 1.0  # weight of the MVAE's KL term
temperature = 0.1  # InfoNCE temperature of the contrastive model
tune = True  # choose beta, temperature and the MMAE variants' strengths on a validation slice of train
seeds = [0, 1, 2, 3, 4]  # one model per seed, trained together (mmae.training.train_seeds)
models = ["mmae", "mmae_dimweighted", "mmae_dropout", "mmae_align", "mmae_impute", "mvae", "mvae_cross", "contrastive", "fusion_pca"]  # see mmae.study.MODEL_LABELS
device = "auto"  # "auto" picks cuda, then mps, then cpu
metric = "cosine"  # similarity used to rank: "cosine" or "euclidean"
artifacts_dir = "artifacts"  # cached models and tables (relative to the repository root)

# %%
from mmae import params

params.check(globals(), "08_retrieval")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
import numpy as np
from IPython.display import Markdown, display

from mmae import study
from mmae.report import findings, plots, provenance, tables
from mmae.training import TrainConfig

cfg = TrainConfig(latent_dim=latent_dim, fusion=fusion, epochs=epochs, batch_size=batch_size, lr=lr,
                  device=device, beta=beta, temperature=temperature)
features, zoo, out = study.prepare(data, data_seed, cfg, seeds, models, artifacts_dir, tune=tune)
display(Markdown(tables.banner(features)))

# %% [markdown]
# Retrieval for every model, seed and ordered pair of modalities.

# %%
table = study.retrieval_table(zoo, features, metric=metric, device=device)  # the batched engine, on the training device
study.save_table(table, out, "retrieval", zoo.key)
tables.spread(table[table["metric"] == "map"], ["query", "gallery"])

# %% [markdown]
# Averaged over the pairs: every retrieval metric per model (mean ± std over seeds).

# %%
tables.spread(tables.pair_mean(table, ["query", "gallery"]), [])

# %% [markdown]
# mAP per pair and model; the dashed line is chance (one over the number of classes).

# %%
fig = plots.plot_seed_bars(tables.labelled(table[table["metric"] == "map"]).assign(
    pair=lambda t: t["query"] + " -> " + t["gallery"]), "pair", "model", out / "fig8_retrieval_map.png",
    title=f"Cross-modal retrieval mAP, relevant = same class ({features.name})", ylabel="mAP")
fig.axes[0].axhline(1 / len(np.unique(features.y["test"])), color="k", ls="--", lw=1);

# %% [markdown]
# ## Recap
#
# - Relevant means "same class": retrieval between modalities works only as far as each
#   modality's embedding carries its class, and the contrastive model is trained for exactly this
#   while the MMAE's reconstruction objective never asks its encoders to agree. On these data:

# %%
display(Markdown(findings.ranking(table, "map", features.name, "retrieval mAP (mean over the modality pairs)",
                                  chance=1 / features.n_classes)))

# %% tags=["hide-input"]
provenance.show("08_retrieval", features, device, artifacts_dir)
