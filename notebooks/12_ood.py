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
# # 12. Unseen classes (out of distribution)
#
# LUMA keeps 8 of its 50 classes out of train and test (the OOD split; the real and synthetic sets
# mimic it; a bundle without an `ood` split skips this chapter's measurements). Two questions: do the unseen classes form clusters in the latent (K-Means with k = the number of
# OOD classes on the OOD embeddings, ARI and NMI), and can an archive tell that an asset belongs to no known
# class? The detector scores an item by its distance to the nearest in-distribution class
# centroid (centroids of the train embeddings); AUROC 0.5 is chance, 1 perfect.

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
n_init = 10  # K-Means restarts, as in every chapter (mmae.evaluation.N_INIT)
artifacts_dir = "artifacts"  # cached models and tables (relative to the repository root)

# %%
from mmae import params

params.check(globals(), "12_ood")  # unknown or ill-typed parameters fail here, before any work

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
# OOD clustering and detection per model (mean ± std over seeds).

# %%
table = study.ood_table(zoo, features, n_init, device=device)  # the batched engine, on the training device
study.save_table(table, out, "ood", zoo.key)
tables.spread(table, []) if len(table) else Markdown(f"*{features.name} has no OOD split: nothing to measure.*")

# %% [markdown]
# The same as a figure.

# %%
if len(table):
    plots.plot_seed_bars(tables.labelled(table), "metric", "model", out / "fig12_ood.png", ylabel="score",
                         title=f"Unseen classes: clustering and detection ({features.name})");

# %% [markdown]
# ## Recap
#
# - Unseen classes cluster only as well as the modalities carry their class without any
#   supervision on them; on LUMA (and on the real set here) the image features were fine-tuned on
#   the known classes only, so OOD images are not guaranteed the same structure. On these data:

# %%
display(Markdown(findings.ranking(table, "auroc", features.name, "OOD detection AUROC", chance=0.5)))

# %% tags=["hide-input"]
provenance.show("12_ood", features, device, artifacts_dir)
