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
# # 3. Training the MMAE
#
# The paper's model (Sec. IV-B, IV-C): per modality a 3-layer MLP encoder (Linear, BatchNorm,
# ReLU; widths 128-128) into a shared latent z, mirrored decoders, and the sum of the per-modality
# MSE reconstruction losses (Eq. 3); Adam with learning rate 1e-3, batch 128, 100 epochs, seed 42
# (Sec. IV-D). The paper does not say how the encoder outputs become one z; here they are
# averaged (`fusion = "mean"`). The run writes `mmae_z{latent_dim}.pt` and the latents of every
# split to `artifacts_dir`, as the paper did.

# %% tags=["parameters"]
data = "real"  # "real" (the LUMA-shaped real set, 42 + 8 classes), "real:cifar10" (8 + 2), "synthetic" or a bundle folder
data_seed = 0  # seed of the synthetic set (ignored for a bundle)
latent_dim = 128  # size of the shared latent z (paper: 128)
fusion = "mean"  # how encoder outputs become z: "mean" or "max" (the paper does not say)
epochs = 100  # training epochs (paper: 100)
batch_size = 128  # mini-batch size (paper: 128)
lr = 1e-3  # Adam learning rate (paper: 1e-3)
seed = 42  # seed of the initialisation and of the data order (paper: 42)
device = "auto"  # "auto" picks cuda, then mps, then cpu
n_seeds = 1  # > 1 also trains seeds seed+1, ... together and saves each run in artifacts_dir/seed{s}/
artifacts_dir = "artifacts"  # checkpoint, latents and figures go here (relative to the repository root)

# %%
from mmae import params
from mmae.report import provenance

provenance.start("03_train")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "03_train")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from mmae import artifacts, data as mdata
from mmae.report import findings, plots, tables
from mmae.artifacts import checkpoint_path
from mmae.training import load_or_train, pick_device

out = artifacts.writable_dir(artifacts_dir)
features = mdata.standardize(mdata.load_features(data, seed=data_seed))
cfg = params.train_config(globals())  # the TrainConfig of this notebook's parameters
display(Markdown(tables.banner(features)))
print(cfg, "| device:", pick_device(device))

# %% [markdown]
# Training (the time per epoch is reported below): the module of `mmae/models/mmae.py` on its own
# loss, Eq. (3), with Adam, batch by batch (`mmae.training.train`). The run is loaded instead when
# this code already trained it on these data with this config; a killed run resumes from its last
# saved epoch.

# %%
model, history = load_or_train(features, cfg, out, n_seeds=n_seeds)
print(f"{artifacts.display_path(checkpoint_path(out, latent_dim))} and the latents of {features.splits} hold this run")

# %% [markdown]
# The whole model: an encoder and a decoder MLP per modality around one latent.

# %%
print(model)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")

# %% [markdown]
# Reconstruction loss per epoch, on train (what is minimised) and on test.

# %%
plots.plot_history(history, out / f"fig3_loss_z{latent_dim}.png",
                   title=f"MMAE z={latent_dim}, {features.name}");

# %% [markdown]
# The last epoch, and the time per epoch on this machine.

# %%
last = history.iloc[-1]
print(f"median {history.seconds.median():.2f} s/epoch, {history.seconds.sum():.0f} s in all")
last.drop(["epoch", "seconds"]).to_frame(f"epoch {int(last.epoch)}").round(4)

# %% [markdown]
# ## Recap
#
# - `mmae_z{latent_dim}.pt` holds the weights, both configs, the loss history, the data's name and
#   fingerprint, and a run key (code + data + parameters) that later notebooks check before reuse.
# - What the last epoch's test MSE says, computed from the history above:

# %%
display(Markdown(findings.reconstruction(history, features.name)))

# %% tags=["hide-input"]
provenance.show("03_train", features, device, artifacts_dir)
