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
# # 5. Pictures of the latent space (Figs. 3-5)
#
# The paper shows a t-SNE (Fig. 3) and a UMAP (Fig. 4) of the MMAE latent, and a t-SNE of the
# latents coloured by modality (Fig. 5) as evidence that the modalities "converge within the same
# cluster regions". We redraw all three figures. 2-D maps are for looking, not for measuring: the numbers
# are in notebook 4.

# %% tags=["parameters"]
# The run evaluated is chapter 3's: its parameters (data, latent_dim, epochs, seed, device,
# artifacts_dir, ...) are declared once, in notebooks/03_train.py, and set here as there
# (papermill ... -p latent_dim 64). This chapter's own:
points = 4200  # at most this many test rows mapped in Figs. 3-4 (all of them where fewer; LUMA has 4,200)
points_per_modality = 1000  # at most this many test rows per modality in Fig. 5 (3 x this many points)
perplexity = 30.0  # t-SNE perplexity
n_neighbors = 15  # UMAP neighbours

# %%
from mmae import params
from mmae.report import provenance

provenance.start("05_figures")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "05_figures", "03_train")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from mmae import artifacts, data as mdata
from mmae.report import plots, tables
from mmae.evaluation import knn_agreement
from mmae.training import encode, load_or_train

run = params.values(globals(), "03_train")  # chapter 3's parameters, with the values papermill set
out = artifacts.writable_dir(run.artifacts_dir)
features = mdata.standardize(mdata.load_features(run.data, seed=run.data_seed))
params.check_data(globals(), "05_figures", features, "03_train")  # points, perplexity, ... against these data
cfg = params.train_config(run)  # the TrainConfig of chapter 3's run
display(Markdown(tables.banner(features)))
model, _ = load_or_train(features, cfg, out)
rng = np.random.default_rng(run.seed)
rows = np.sort(rng.choice(len(features.y["test"]), min(points, len(features.y["test"])), replace=False))
z, y = encode(model, features.x["test"])[rows], features.y["test"][rows]

# %% [markdown]
# **Fig. 3.** t-SNE of the fused test latents, one colour per class.

# %%
plots.plot_embedding(plots.embed_2d(z, "tsne", run.seed, perplexity), y,
                     f"Fig. 3: t-SNE of MMAE test latents, z={run.latent_dim} ({features.name})",
                     out / f"fig5_tsne_z{run.latent_dim}.png");

# %% [markdown]
# **Fig. 4.** UMAP of the same latents.

# %%
plots.plot_embedding(plots.embed_2d(z, "umap", run.seed, n_neighbors=n_neighbors), y,
                     f"Fig. 4: UMAP of MMAE test latents, z={run.latent_dim} ({features.name})",
                     out / f"fig5_umap_z{run.latent_dim}.png");

# %% [markdown]
# For Fig. 5 the paper does not say which latents it overlays. The fused z mixes the
# modalities by construction, so we map each modality's own encoding E_m(x_m) of the same test
# rows: if reconstruction aligned the modalities, a class's points from every modality meet.

# %%
sub = np.sort(rng.choice(len(features.y["test"]), min(points_per_modality, len(features.y["test"])), replace=False))
each = encode(model, {m: a[sub] for m, a in features.x["test"].items()}, each=True)
E = plots.embed_2d(np.concatenate(list(each.values())), "tsne", run.seed, perplexity)
modality = np.repeat(list(each), len(sub))
classes = np.tile(features.y["test"][sub], len(each))

# %% [markdown]
# **Fig. 5.** t-SNE of the per-modality encodings, coloured by modality.

# %%
plots.plot_embedding(E, modality, f"Fig. 5: per-modality encodings by modality ({features.name})",
                     out / f"fig5_modality_z{run.latent_dim}.png", legend_title="modality");

# %% [markdown]
# The same map coloured by class: class clusters that hold points of every colour above
# are where the modalities really meet.

# %%
plots.plot_embedding(E, classes, f"Fig. 5, by class ({features.name})",
                     out / f"fig5_modality_by_class_z{run.latent_dim}.png");

# %% [markdown]
# The same question as a number, computed in the latent itself rather than on the 2-D map: of
# each encoding's 10 nearest neighbours, the share with its own modality (1 / the number of
# modalities if they were fully mixed, 1 if they are separated) and the share with its own class.

# %%
Z = np.concatenate(list(each.values()))
pd.DataFrame({"share of 10 nearest neighbours with the same ...": ["modality", "class"],
              "value": [knn_agreement(Z, modality), knn_agreement(Z, classes)],
              "if fully mixed": [1 / len(each), 1 / len(np.unique(classes))]}).round(3)

# %% [markdown]
# ## Recap
#
# - Figs. 3-4 show the fused latent; how separated its classes look depends on t-SNE/UMAP
#   settings (`perplexity`, `n_neighbors`), which the paper does not give.
# - Fig. 5 is drawn from each modality's own encoding; overlap by modality without overlap by
#   class would be alignment in name only, and modalities in separate regions mean the latent is
#   not modality-invariant, whatever the fused z looks like. The neighbour shares say which.

# %% tags=["hide-input"]
provenance.show("05_figures", features, run.device, run.artifacts_dir)
