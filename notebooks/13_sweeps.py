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
# # 13. Sweeps: latent size and training length
#
# The paper fixes the latent at 128 dimensions and trains for 100 epochs. Here the training
# notebook (chapter 3) is executed with papermill once per value of a parameter, with `n_seeds`
# seeds trained together in each run, exactly as a reader would run it by hand:
#
# ```
# papermill notebooks/03_train.ipynb out.ipynb -p latent_dim 64 -p n_seeds 5
# ```
#
# Swept: `latent_dim` in {16, 32, 64, 128, 256}, and `epochs`, which tells what the short budget
# of chapters 7-12 (`epochs = 5`) changes. Each run's test latents are clustered with K-Means
# (k = the number of classes). Runs are cached in `artifacts_dir/sweeps/` under a key of code, data and parameters.

# %% tags=["parameters"]
data = "real"  # "real" (the LUMA-shaped real set, 42 + 8 classes), "real:cifar10" (8 + 2), "synthetic" or a bundle folder
data_seed = 0  # seed of the synthetic set (ignored for a bundle)
sweep_grid = {"latent_dim": [16, 32, 64, 128, 256], "epochs": [1, 2, 5]}  # parameter -> values swept
latent_dim = 128  # latent size of every run, unless swept (paper: 128)
epochs = 2  # training epochs of every run, unless swept (paper: 100)
n_seeds = 3  # seeds per run, trained together: seed, seed + 1, ... (as chapters 7-15)
seed = 0  # first seed
device = "auto"  # "auto" picks cuda, then mps, then cpu
k = None  # K-Means clusters; None: the number of classes (the paper: 42, on LUMA)
n_init = 10  # K-Means restarts, as in every chapter (mmae.evaluation.N_INIT)
artifacts_dir = "artifacts"  # the runs go to artifacts_dir/sweeps/ (relative to the repository root)

# %%
from mmae import params
from mmae.report import provenance

provenance.start("13_sweeps")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "13_sweeps")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from mmae import atomic, artifacts, data as mdata, study
from mmae.report import plots, tables

out = artifacts.writable_dir(artifacts_dir)
features = mdata.standardize(mdata.load_features(data, seed=data_seed))
params.check_data(globals(), "13_sweeps", features)  # k, ... against these data, before any run
k = k or features.n_classes
display(Markdown(tables.banner(features)))
notebook = artifacts.project_root() / "notebooks" / "03_train.ipynb"

# %% [markdown]
# The papermill runs (skipped when already done with these parameters by this code).

# %%
base = {"data": data, "data_seed": data_seed, "latent_dim": latent_dim, "epochs": epochs, "n_seeds": n_seeds, "seed": seed, "device": device}
runs = study.run_sweep(notebook, sweep_grid, base, out / "sweeps", features.fingerprint())
runs.set_index(["parameter", "value"])[["executed", "seeds"]]  # executed: now, not loaded

# %% [markdown]
# K-Means ARI and NMI on each run's test latents and its final test loss, mean ± std over seeds.

# %%
table = study.sweep_table(runs, features, k, n_init)
atomic.save_csv(table, out / "sweeps.csv", index=False)
tables.spread(table, [], index=("parameter", "setting"))

# %% [markdown]
# ARI against the latent size (band: one std over seeds).

# %%
plots.plot_seed_lines(table[table["metric"].isin(["ari", "nmi"])].query("parameter == 'latent_dim'")
                      .astype({"setting": int}), "setting", "metric", out / "fig13_sweep_latent_dim.png",
                      title=f"K-Means on MMAE test latents against latent_dim ({features.name})", ylabel="score", logx=True);

# %% [markdown]
# ARI and test loss against the number of epochs.

# %%
plots.plot_seed_lines(table.query("parameter == 'epochs'").astype({"setting": int}), "setting", "metric",
                      out / "fig13_sweep_epochs.png", title=f"MMAE against training epochs ({features.name})",
                      ylabel="score / loss");

# %% [markdown]
# ## Recap
#
# - Each point is a papermill execution of the training notebook: the sweep is reproducible by
#   hand with the command above, and the runs stay in `artifacts/sweeps/` with their notebooks.
# - If ARI has settled within the few epochs swept while the loss still falls, the short budget
#   of chapters 7-12 does not decide their conclusions about class structure; reconstruction
#   (chapter 9's cross-modal prediction) is the part that longer training would still improve.

# %% tags=["hide-input"]
provenance.show("13_sweeps", features, device, artifacts_dir)
