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
# # 4. Clustering the MMAE latents (Table IV)
#
# The paper's headline: K-Means on the test latents (z = 128) at k = 42, LUMA's number of classes
# (Table IV, shown beside ours below). We rerun that protocol on the latents of notebook 3 and
# put the paper and here side by side. We also cluster the latent obtained from *one* modality
# at a time, which the paper does not, to see which modality the fused latent's structure
# comes from.

# %% tags=["parameters"]
# The run evaluated is chapter 3's: its parameters (data, latent_dim, epochs, seed, device,
# artifacts_dir, ...) are declared once, in notebooks/03_train.py, and set here as there
# (papermill ... -p latent_dim 64). This chapter's own:
ks = None  # K-Means clusters; None: the grid of the paper 30, 40, 42, 50, 60 at the same ratios to the class count
n_init = 10  # K-Means restarts

# %%
from mmae import params
from mmae.report import provenance

provenance.start("04_evaluate")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "04_evaluate", "03_train")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display

from mmae import atomic, artifacts, data as mdata, paper
from mmae.report import findings, plots, tables
from mmae.evaluation import kmeans_grid
from mmae.training import encode, load_or_train

run = params.values(globals(), "03_train")  # chapter 3's parameters, with the values papermill set
out = artifacts.writable_dir(run.artifacts_dir)
features = mdata.standardize(mdata.load_features(run.data, seed=run.data_seed))
params.check_data(globals(), "04_evaluate", features, "03_train")  # ks against these data, before training
ks = ks or paper.ks_for(features.n_classes, len(features.y["test"]))
cfg = params.train_config(run)  # the TrainConfig of chapter 3's run
display(Markdown(tables.banner(features)))
model, history = load_or_train(features, cfg, out)

# %% [markdown]
# K-Means on the fused test latents at every k.

# %%
z_test = encode(model, features.x["test"])
table4 = kmeans_grid(z_test, features.y["test"], ks, n_init, run.seed)
atomic.save_csv(table4.assign(data=features.name, latent_dim=run.latent_dim), out / "table4_mmae.csv", index=False)
table4.round(3)

# %% [markdown]
# The paper's Table IV against the same protocol here, each paper k paired with the k at the same
# ratio to the number of classes.

# %%
paper.side_by_side(table4, paper.TABLE4, "k", n_classes=features.n_classes)

# %% [markdown]
# The latent of each modality alone, E_m(x_m), against the fused one, at every k.

# %%
each = encode(model, features.x["test"], each=True)
per_modality = pd.concat([kmeans_grid(z, features.y["test"], ks, n_init, run.seed).assign(latent=f"E_{m}(x_{m})")
                          for m, z in each.items()] + [table4.assign(latent="fused z")], ignore_index=True)
per_modality.pivot(index="latent", columns="k", values="ari").round(3)

# %% [markdown]
# ARI against k, fused latent and each modality's own encoding.

# %%
plots.plot_metric_vs_k(per_modality, "ari", "latent", out / f"fig4_latent_ari_z{run.latent_dim}.png",
                       title=f"K-Means on MMAE test latents ({features.name})");

# %% [markdown]
# ## Recap
#
# - `table4_mmae.csv` holds the Table IV protocol on these data; the book's summary page compares
#   it with the baselines of notebook 2.
# - When the modalities share only the class (LUMA's pairing, and the real set's), whatever class
#   structure the fused latent has must come from the modalities' own class signal. At the k that
#   stands for the paper's 42:

# %%
k_here = paper.here_k(features.n_classes, paper.TABLE2_K, len(features.y["test"]))
display(Markdown(findings.fused_vs_each(per_modality, k_here, features.name)))

# %% tags=["hide-input"]
provenance.show("04_evaluate", features, run.device, run.artifacts_dir)
