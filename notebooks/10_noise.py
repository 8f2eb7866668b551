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
# # 10. Noise on one modality
#
# A media archive receives damaged assets: a noisy recording, a corrupted caption. Here Gaussian
# noise of growing standard deviation `sigma` (in units of a feature's standard deviation; the
# features are standardised) is added to one modality of the test split at a time; the models
# are unchanged (trained on clean data), the K-Means is refitted and the linear probe fitted on
# clean train embeddings is reused.

# %% tags=["parameters"]
# The models' data and training (data, epochs, seeds, models, device, artifacts_dir, ...) are the
# parameters of chapters 7-14, declared once in mmae.study.ZooParams; set one as any other,
# papermill ... -p epochs 20. This chapter's own:
k = None  # K-Means clusters; None: the number of classes (the paper: 42, on LUMA)
n_init = 10  # K-Means restarts, as in every chapter (mmae.evaluation.N_INIT)
sigmas = [0.0, 0.5, 1.0, 2.0]  # noise standard deviations, in feature standard deviations

# %%
from IPython.display import Markdown, display

from mmae import study
from mmae.report import findings, plots, provenance, tables

provenance.start("10_noise")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
features, zoo, out = study.get_zoo(globals(), "10_noise")  # parameters checked first: then trained, or loaded
k = k or features.n_classes
display(Markdown(tables.banner(features)))

# %% [markdown]
# ARI and probe accuracy for every model, seed, corrupted modality and noise level.

# %%
table = study.noise_table(zoo, features, sigmas, k, n_init, device=zoo.device)  # the batched engine, on the training device
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
provenance.show("10_noise", features, zoo.device, out)
