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
# # Performance
#
# What the machine spends its time on, rendered from the benchmark's result files
# (`book/benchmarks/*.json`, each written by `python -m mmae.bench` with the machine, library
# versions, date and commit that produced it) and from this build's own chapter records. Nothing
# on this page is typed: rerun `python -m mmae.bench` and `python -m mmae.bench --eval` on your
# machine, and rebuild the book, to see yours.

# %% tags=["parameters"]
results_dir = ""  # folder of the benchmark result files; empty: the committed ones (book/benchmarks/)
artifacts_dir = "artifacts"  # where this build's chapters wrote their provenance records
eval_target = 0.2  # the batched engine's target: chapters 08-12 at most this share of today's time

# %%
from mmae import params
from mmae.report import provenance

provenance.start("performance")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "performance")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from pathlib import Path

from IPython.display import Markdown, display

from mmae.bench import results
from mmae.report import performance

runs = performance.load_all(Path(results_dir) if results_dir else results.FOLDER)
display(Markdown(performance.inventory(runs)))

# %% [markdown]
# ## Training
#
# The same epochs of the paper's configuration (synthetic data of LUMA's size, batch 128), in one
# run per machine: the trainer (`mmae.training`) for one seed (the module itself, fused Adam) and
# for five seeds together (`torch.func.vmap` over the same module), each also under `torch.compile`
# (CUDA graphs on a GPU), beside the stacked engine this project trained with before
# (`mmae.bench.stacked`, its layers written again for batched matmuls; nothing trains with it now).

# %%
for rec in runs["train"]:
    display(Markdown(performance.heading(rec)), performance.train_table(rec))

# %% [markdown]
# The trainer against the former engine and against the targets, read from these numbers:

# %%
display(Markdown(performance.train_findings(runs["train"])))

# %% [markdown]
# ## Evaluation: chapters 08-12
#
# Each chapter's question tables computed twice on the same zoo: by today's path (scikit-learn's
# `KMeans`, one LBFGS probe and one ranking at a time) and by the batched engine
# (`mmae.evaluation.batched`, `mmae.evaluation.neighbours`), with the largest difference between
# the two engines' numbers. K-Means draws other random restarts, so its ARIs differ within the
# spread of restarts; rankings and votes are the same.

# %%
for rec in runs["eval"]:
    display(Markdown(performance.heading(rec)), performance.eval_table(rec))

# %%
display(Markdown(performance.eval_findings(runs["eval"], eval_target)))

# %% [markdown]
# ## This build
#
# Wall time of every chapter of the book you are reading, from the provenance record each chapter
# wrote when it ran (a chapter served from the execution cache keeps the time of its last run).

# %%
records = provenance.read(artifacts_dir, provenance.chapters())
display(performance.build_table(records))

# %% tags=["hide-input"]
provenance.show("performance", None, "cpu", artifacts_dir)
