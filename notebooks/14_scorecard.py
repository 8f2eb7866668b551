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
# # 14. Scorecard: every model, every question
#
# One table of the headline number of chapters 8-12 for every model, mean ± std over the seeds.
# It reads the tables those chapters wrote, after checking they were computed from exactly these
# models (code, data, parameters and seeds), so run them first with the same parameters.

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
k = None  # unused here; kept so every chapter takes the same parameters
artifacts_dir = "artifacts"  # cached models and tables (relative to the repository root)

# %%
from mmae import params

params.check(globals(), "14_scorecard")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from mmae import atomic, study
from mmae.report import findings, provenance, tables
from mmae.training import TrainConfig

cfg = TrainConfig(latent_dim=latent_dim, fusion=fusion, epochs=epochs, batch_size=batch_size, lr=lr,
                  device=device, beta=beta, temperature=temperature)
features, zoo, out = study.prepare(data, data_seed, cfg, seeds, models, artifacts_dir, tune=tune)
display(Markdown(tables.banner(features)))

# %% [markdown]
# The scorecard.

# %%
by_question = {q: study.load_table(out, q, zoo.key) for q in study.QUESTIONS}
card = tables.scorecard(by_question, features.modalities)
atomic.save_csv(card, out / "scorecard.csv")
card

# %% [markdown]
# ## What the questions show
#
# Which model leads each question, computed from the scorecard above:

# %%
display(Markdown(findings.scorecard_leaders(card, features.name)))

# %% [markdown]
# - Read each row against the fusion PCA baseline: a learned model earns its keep where it beats
#   a linear projection of the same features.
# - The MMAE's reconstruction objective never asks the modality encoders to agree, and where
#   the modalities share only their class (LUMA, the real set) the rows on retrieval and on
#   tagging from one modality measure how much agreement arises anyway.
# - Every number here is on the data named at the top of the page; on the synthetic set they
#   test the machinery, not the paper.

# %% tags=["hide-input"]
provenance.show("14_scorecard", features, device, artifacts_dir)
