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
# # 16. Reproducibility
#
# Every chapter of this book ends with its provenance, computed when it was built, never typed:
# the git commit and whether the working tree had uncommitted changes, the name and fingerprint
# (a sha256 over every array) of the data it computed on, the versions of Python and of the
# libraries that did the computing, the device, the date (UTC) and the chapter's wall time. Each
# chapter also wrote the same record to `artifacts_dir/provenance/`; this page gathers them into
# one table and checks that the book was built from one commit and one version of each data set.
#
# ## Rebuilding the book
#
# From a fresh clone, with Python 3.10 or later (the default data ship with the package, so the
# build runs offline):
#
# ```bash
# python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e ".[dev]"
# jupyter-book build book/    # executes every chapter, then writes the HTML to _build/html
# pytest                      # the tests, every chapter among them with small parameters
# ```
#
# One chapter with other parameters, here the training chapter with its latent size set:
#
# ```bash
# papermill notebooks/03_train.ipynb out.ipynb -p latent_dim 128
# ```
#
# A chapter the build cache serves unchanged keeps the record of the run that computed it, so
# after a commit that changes no code a page may rightly show an older commit than its
# neighbours; any change to `mmae/`, to a chapter's code or to the library versions re-executes
# every chapter (see `book/_ext/cache_key.py`).

# %% tags=["parameters"]
data = "real"  # unused here (each record names its data); kept so that every chapter takes -p data ...
artifacts_dir = "artifacts"  # where the chapters wrote provenance/*.json (relative to the repository root)

# %%
from mmae import params
from mmae.report import provenance

provenance.start("16_reproducibility")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "16_reproducibility")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from IPython.display import Markdown, display

expected = provenance.chapters(exclude=("16_reproducibility",))  # every chapter but this one
records = provenance.read(artifacts_dir, expected)

# %% [markdown]
# ## Every chapter's provenance
#
# One row per chapter, as each recorded itself when it was built (fingerprints shortened to 12 hex
# digits; the JSON records hold them in full).

# %%
provenance.table(records)

# %% [markdown]
# ## One commit, one version of the data?
#
# Computed from the records above. A data set is named once for its features as loaded and once
# for its standardised features (fitted on train), which some chapters use instead: each has its
# own fingerprint, and each must be the same in every chapter that uses it.

# %%
display(Markdown(provenance.verdict(records, expected)))

# %% tags=["hide-input"]
provenance.show("16_reproducibility", None, "cpu", artifacts_dir)
