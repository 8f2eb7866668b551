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
# # 11. Tagging new assets
#
# The paper's use case: an archive holds labelled assets; a new one arrives, perhaps with only
# some modalities, and should get tags. Here the labelled library is the train split embedded
# from all its modalities; each test asset is embedded from each subset of its modalities and
# gets the classes voted by its `n_neighbors` nearest library items (cosine), ties broken by the
# nearest member of each class (`mmae.evaluation.knn_tag_scores`). We report top-1 and top-5 tag
# accuracy. Unlike the probe of chapter 9, this asks the subset's embedding to land *near* full
# embeddings of its class: a test of alignment, not only of information.

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
n_neighbors = 10  # labelled neighbours that vote
artifacts_dir = "artifacts"  # cached models and tables (relative to the repository root)

# %%
from mmae import params

params.check(globals(), "11_tagging")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from mmae import study
from mmae.report import findings, plots, provenance, tables
from mmae.training import TrainConfig

cfg = TrainConfig(latent_dim=latent_dim, fusion=fusion, epochs=epochs, batch_size=batch_size, lr=lr,
                  device=device, beta=beta, temperature=temperature)
features, zoo, out = study.prepare(data, data_seed, cfg, seeds, models, artifacts_dir, tune=tune)
display(Markdown(tables.banner(features)))

# %% [markdown]
# Top-1 and top-5 accuracy per subset of modalities present (mean ± std over seeds).

# %%
table = study.tagging_table(zoo, features, n_neighbors, device=device)  # the batched engine, on the training device
study.save_table(table, out, "tagging", zoo.key)
tables.spread(table[table["metric"] == "top1"], ["subset"])

# %% [markdown]
# Top-5 accuracy.

# %%
tables.spread(table[table["metric"] == "top5"], ["subset"])

# %% [markdown]
# Top-1 accuracy per subset and model.

# %%
plots.plot_seed_bars(tables.labelled(table[table["metric"] == "top1"]), "subset", "model",
                     out / "fig11_tagging_top1.png", title=f"Tagging top-1 accuracy, library = train, all modalities ({features.name})",
                     ylabel="top-1 accuracy");

# %% [markdown]
# ## Recap
#
# - With all modalities, tagging is as good as the class structure of the latent; with a subset,
#   it depends on whether the subset's embedding lies where the full embeddings of its class lie.
#   On these data:

# %%
display(Markdown(findings.ranking(table, "top1", features.name, "tagging top-1 accuracy (mean over the subsets)",
                                  chance=1 / features.n_classes)))

# %% tags=["hide-input"]
provenance.show("11_tagging", features, device, artifacts_dir)
