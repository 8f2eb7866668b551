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
# # 9. Missing modalities
#
# The paper leaves robustness to missing modalities to future work. Every model here can embed
# any subset of modalities: the MMAE averages the encodings present (`fusion = "mean"`), the MVAE
# multiplies the experts present, the contrastive model averages its unit embeddings, and the
# PCA baseline imputes the missing features with their mean. For each non-empty
# subset we cluster the test embeddings (K-Means, k = the number of classes) and fit a linear probe (logistic
# regression on the train embeddings of the same subset, scored on test). Then, for the models
# with decoders, we predict each modality from another one alone.

# %% tags=["parameters"]
# The models' data and training (data, epochs, seeds, models, device, artifacts_dir, ...) are the
# parameters of chapters 7-14, declared once in mmae.study.ZooParams; set one as any other,
# papermill ... -p epochs 20. This chapter's own:
k = None  # K-Means clusters; None: the number of classes (the paper: 42, on LUMA)
n_init = 10  # K-Means restarts, as in every chapter (mmae.evaluation.N_INIT)

# %%
from IPython.display import Markdown, display

from mmae import study
from mmae.report import findings, plots, provenance, tables

provenance.start("09_missing_modalities")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
features, zoo, out = study.get_zoo(globals(), "09_missing_modalities")  # parameters checked first: then trained, or loaded
k = k or features.n_classes
display(Markdown(tables.banner(features)))

# %% [markdown]
# ARI, NMI and probe accuracy per subset (mean ± std over seeds).

# %%
table = study.subset_table(zoo, features, k, n_init, device=zoo.device)  # the batched engine, on the training device
study.save_table(table, out, "subsets", zoo.key)
tables.spread(table[table["metric"] == "probe_accuracy"], ["subset"])

# %% [markdown]
# K-Means ARI per subset.

# %%
tables.spread(table[table["metric"] == "ari"], ["subset"])

# %% [markdown]
# Probe accuracy per subset and model: how much class information each subset keeps.

# %%
plots.plot_seed_bars(tables.labelled(table[table["metric"] == "probe_accuracy"]), "subset", "model",
                     out / "fig9_subsets_probe.png", title=f"Linear probe accuracy by modalities present ({features.name})",
                     ylabel="test accuracy");

# %% [markdown]
# Cross-modal prediction: decode modality B from modality A alone (and from all of them), scored
# as 1 - MSE / MSE of predicting B's train mean (0 = no better than the mean).

# %%
cross = study.cross_modal_table(zoo, features)
study.save_table(cross, out, "cross_modal", zoo.key)
tables.spread(cross, ["source", "target"])

# %% [markdown]
# The same as a figure: prediction skill per (source -> target) pair.

# %%
plots.plot_seed_bars(tables.labelled(cross).assign(pair=lambda t: t["source"] + " -> " + t["target"]), "pair", "model",
                     out / "fig9_cross_modal.png", title=f"Cross-modal prediction skill ({features.name})",
                     ylabel="1 - MSE / MSE(mean)");

# %% [markdown]
# ## Recap
#
# - Dropping a modality costs what that modality contributed. Which subset costs the MMAE most,
#   and how the models compare when decoding one modality from another, on these data:

# %%
display(Markdown(findings.weakest_link(table, "probe_accuracy", "subset", features.name, what="linear-probe accuracy")
                 + " " + findings.ranking(cross, "skill", features.name, "cross-modal prediction skill "
                                          "(mean over the pairs of single modalities)", source=list(features.modalities))))

# %% [markdown]
# - Predicting one modality from another can only recover the class-level part of it when the
#   triplets share only their class, so skills stay small even for a model that works; the
#   cross-modal MVAE is the one model trained to do it.

# %% tags=["hide-input"]
provenance.show("09_missing_modalities", features, zoo.device, out)
