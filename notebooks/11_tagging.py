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
# # 11. Tagging new assets
#
# The paper's use case: an archive holds labelled assets; a new one arrives, perhaps with only
# some modalities, and should get tags. Here the labelled library is the train split embedded
# from all its modalities; each test asset is embedded from each subset of its modalities and
# gets the classes voted by its `n_neighbors` nearest library items (cosine), ties broken by the
# nearest member of each class (`mmae.evaluation.knn_tag_scores`). We report top-1 and top-5 tag
# accuracy. Unlike the probe of chapter 9, this asks the subset's embedding to land *near* full
# embeddings of its class: a test of alignment, not only of information.

# %% tags=["parameters"]
# The models' data and training (data, epochs, seeds, models, device, artifacts_dir, ...) are the
# parameters of chapters 7-14, declared once in mmae.study.ZooParams; set one as any other,
# papermill ... -p epochs 20. This chapter's own:
n_neighbors = 10  # labelled neighbours that vote

# %%
from IPython.display import Markdown, display

from mmae import study
from mmae.report import findings, plots, provenance, tables

provenance.start("11_tagging")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
features, zoo, out = study.get_zoo(globals(), "11_tagging")  # parameters checked first: then trained, or loaded
display(Markdown(tables.banner(features)))

# %% [markdown]
# Top-1 accuracy per subset of modalities present (mean ± std over seeds).

# %%
table = study.tagging_table(zoo, features, n_neighbors, device=zoo.device)  # the batched engine, on the training device
study.save_table(table, out, "tagging", zoo.key)
tables.spread(table[table["metric"] == "top1"], ["subset"])

# %% [markdown]
# Top-5 accuracy (top-k with k the number of classes when there are fewer than 5).

# %%
top = study.top_k(features.n_classes)
tables.spread(table[table["metric"] == f"top{top}"], ["subset"]).rename_axis(f"top-{top} accuracy")

# %% [markdown]
# Top-1 accuracy per subset and model.

# %%
plots.plot_seed_bars(tables.labelled(table[table["metric"] == "top1"]), "subset", "model",
                     out / "fig11_tagging_top1.png", title=f"Tagging top-1 accuracy, library = train, all modalities ({features.name})",
                     ylabel="top-1 accuracy");

# %% [markdown]
# ## Recap
#
# - With all modalities, tagging is as good as the class structure of the latent; with a subset,
#   it depends on whether the subset's embedding lies where the full embeddings of its class lie.
#   On these data:

# %%
display(Markdown(findings.ranking(table, "top1", features.name, "tagging top-1 accuracy (mean over the subsets)",
                                  chance=1 / features.n_classes)))

# %% tags=["hide-input"]
provenance.show("11_tagging", features, zoo.device, out)
