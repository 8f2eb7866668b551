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
# # 12. Unseen classes (out of distribution)
#
# LUMA keeps 8 of its 50 classes out of train and test (the OOD split; the real and synthetic sets
# mimic it; a bundle without an `ood` split skips this chapter's measurements). Two questions: do the unseen classes form clusters in the latent (K-Means with k = the number of
# OOD classes on the OOD embeddings, ARI and NMI), and can an archive tell that an asset belongs to no known
# class? The detector scores an item by its distance to the nearest in-distribution class
# centroid (centroids of the train embeddings); AUROC 0.5 is chance, 1 perfect.

# %% tags=["parameters"]
# The models' data and training (data, epochs, seeds, models, device, artifacts_dir, ...) are the
# parameters of chapters 7-14, declared once in mmae.study.ZooParams; set one as any other,
# papermill ... -p epochs 20. This chapter's own:
n_init = 10  # K-Means restarts, as in every chapter (mmae.evaluation.N_INIT)

# %%
from IPython.display import Markdown, display

from mmae import study
from mmae.report import findings, plots, provenance, tables

provenance.start("12_ood")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
features, zoo, out = study.get_zoo(globals(), "12_ood")  # parameters checked first: then trained, or loaded
display(Markdown(tables.banner(features)))

# %% [markdown]
# OOD clustering and detection per model (mean ± std over seeds).

# %%
table = study.ood_table(zoo, features, n_init, device=zoo.device)  # the batched engine, on the training device
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
provenance.show("12_ood", features, zoo.device, out)
