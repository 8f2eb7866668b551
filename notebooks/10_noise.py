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
# # 10. Noise on one modality
#
# A media archive receives damaged assets: a noisy recording, a corrupted caption. Here Gaussian
# noise of growing standard deviation `sigma` (in units of a feature's standard deviation; the
# features are standardised) is added to one modality of the test split at a time; the models
# are unchanged (trained on clean data), the K-Means is refitted and the linear probe fitted on
# clean train embeddings is reused.

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
k = None  # K-Means clusters; None: the number of classes (the paper: 42, on LUMA)
n_init = 10  # K-Means restarts, as in every chapter (mmae.evaluation.N_INIT)
sigmas = [0.0, 0.5, 1.0, 2.0]  # noise standard deviations, in feature standard deviations
artifacts_dir = "artifacts"  # cached models and tables (relative to the repository root)

# %%
from mmae import params

params.check(globals(), "10_noise")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from mmae import study
from mmae.report import findings, plots, provenance, tables
from mmae.training import TrainConfig

cfg = TrainConfig(latent_dim=latent_dim, fusion=fusion, epochs=epochs, batch_size=batch_size, lr=lr,
                  device=device, beta=beta, temperature=temperature)
features, zoo, out = study.prepare(data, data_seed, cfg, seeds, models, artifacts_dir, tune=tune)
k = k or features.n_classes
display(Markdown(tables.banner(features)))

# %% [markdown]
# ARI and probe accuracy for every model, seed, corrupted modality and noise level.

# %%
table = study.noise_table(zoo, features, sigmas, k, n_init, device=device)  # the batched engine, on the training device
study.save_table(table, out, "noise", zoo.key)
tables.spread(table[table["metric"] == "probe_accuracy"], ["modality", "sigma"])

# %% [markdown]
# Probe accuracy against noise, one panel per corrupted modality.

# %%
plots.plot_seed_lines(tables.labelled(table[table["metric"] == "probe_accuracy"]), "sigma", "model",
                      out / "fig10_noise_probe.png", title=f"Probe accuracy under noise ({features.name})",
                      ylabel="test accuracy", panel="modality");

# %% [markdown]
# K-Means ARI against noise.

# %%
plots.plot_seed_lines(tables.labelled(table[table["metric"] == "ari"]), "sigma", "model",
                      out / "fig10_noise_ari.png", title=f"K-Means ARI under noise ({features.name})",
                      ylabel="ARI", panel="modality");

# %% [markdown]
# ## Recap
#
# - A model is only as robust as the modality it leans on. Which modality's noise costs the MMAE
#   most at the strongest noise level, on these data:

# %%
display(Markdown(findings.weakest_link(table, "ari", "modality", features.name, sigma=max(sigmas),
                                       what=f"K-Means ARI with noise sigma {max(sigmas):g} on one modality")))

# %% tags=["hide-input"]
provenance.show("10_noise", features, device, artifacts_dir)
