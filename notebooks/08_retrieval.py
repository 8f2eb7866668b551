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
# The models' data and training (data, epochs, seeds, models, device, artifacts_dir, ...) are the
# parameters of chapters 7-14, declared once in mmae.study.ZooParams; set one as any other,
# papermill ... -p epochs 20. This chapter's own:
metric = "cosine"  # similarity used to rank: "cosine" or "euclidean"

# %%
import numpy as np
from IPython.display import Markdown, display

from mmae import study
from mmae.report import findings, plots, provenance, tables

provenance.start("08_retrieval")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
features, zoo, out = study.get_zoo(globals(), "08_retrieval")  # parameters checked first: then trained, or loaded
display(Markdown(tables.banner(features)))

# %% [markdown]
# Retrieval for every model, seed and ordered pair of modalities.

# %%
table = study.retrieval_table(zoo, features, metric=metric, device=zoo.device)  # the batched engine, on the training device
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
provenance.show("08_retrieval", features, zoo.device, out)
