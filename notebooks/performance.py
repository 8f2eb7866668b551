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
# # Performance
#
# What the machine spends its time on, rendered from the benchmark's result files
# (`book/benchmarks/*.json`, each written by `python -m mmae.bench ... --save` with the machine,
# library versions, date and commit that produced it) and from this build's own chapter records.
# Nothing on this page is typed: rerun `python -m mmae.bench --save` (and `--eval`, `--sweeps`,
# `--search`) on your machine, and rebuild the book, to see yours.

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
# run per machine, the trainers taking turns: the trainer (`mmae.training`) for one seed (the
# module itself, fused Adam), for five seeds together (`torch.func.vmap` over the same module) and
# for five seeds one by one as tasks side by side (`mmae.cluster`, one thread each), each also
# under `torch.compile` when asked (`--compile`; CUDA graphs on a GPU), beside the stacked engine
# this project trained with before (`mmae.bench.stacked`, its layers written again for batched
# matmuls; nothing trains with it now).

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
# ## Studies on several cores: the task engine
#
# The trainings of chapter 7's zoo (each model's seeds together, one task per model) run one after
# another in one process, and as tasks of a local Dask cluster (`mmae.cluster`: one worker process
# per core, one torch thread each; the same results), measured in one run
# (`python -m mmae.bench --sweeps`). From the serial task times, a model of the wall time on N
# workers: the tasks scheduled longest first, plus the overhead the cluster showed here.

# %%
for rec in runs["sweeps"]:
    display(Markdown(performance.heading(rec)), performance.sweeps_table(rec))

# %%
display(Markdown(performance.sweeps_findings(runs["sweeps"])))

# %% [markdown]
# ## This build
#
# Wall time of every chapter of the book you are reading, from the provenance record each chapter
# wrote when it ran (a chapter served from the execution cache keeps the time of its last run).

# %%
records = provenance.read(artifacts_dir, provenance.chapters())
display(performance.build_table(records))

# %% [markdown]
# ## Archive search
#
# Searching an archive of latents, as `mmae.evaluation.index` does it with faiss (the exact flat
# index, HNSW, IVF-PQ), beside today's path (the archive as one torch tensor, similarities and
# top-k): build time, size, queries per second and the share of the exact 10 nearest found, on 1 M
# and 10 M synthetic 128-D latents (`python -m mmae.bench --search --save`), when that file exists.

# %%
from mmae.report import search

archive = search.load(Path(results_dir or results.FOLDER) / search.PATH.name)
if archive is None:
    display(Markdown("No archive-search result file: run `python -m mmae.bench --search --save`."))
else:  # the file, the table, then what its numbers say at each size of archive
    display(Markdown(performance.heading(archive)), search.table(archive), Markdown(search.findings(archive)))

# %% tags=["hide-input"]
provenance.show("performance", None, "cpu", artifacts_dir)
