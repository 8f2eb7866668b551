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
# # 14. Scorecard: every model, every question
#
# One table of the headline number of chapters 8-12 for every model, mean ± std over the seeds.
# It reads the tables those chapters wrote, after checking they were computed from exactly these
# models (code, data, parameters and seeds), so run them first with the same parameters.

# %% tags=["parameters"]
# The models' data and training (data, epochs, seeds, models, device, artifacts_dir, ...) are the
# parameters of chapters 7-14, declared once in mmae.study.ZooParams; set one as any other,
# papermill ... -p epochs 20. This chapter has none of its own.

# %%
from IPython.display import Markdown, display

from mmae import atomic, study
from mmae.report import findings, provenance, tables

provenance.start("14_scorecard")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
features, zoo, out = study.get_zoo(globals(), "14_scorecard")  # parameters checked first: then trained, or loaded
display(Markdown(tables.banner(features)))

# %% [markdown]
# The scorecard.

# %%
by_question = {q: study.load_table(out, q, zoo.key) for q in study.QUESTION_CHAPTERS}
card = tables.scorecard(by_question, features.modalities)
atomic.save_csv(card, out / "scorecard.csv")
card

# %% [markdown]
# ## What the questions show
#
# Which model leads each question, computed from the scorecard above:

# %%
display(Markdown(findings.scorecard_leaders(card, features.name)))

# %% [markdown]
# - Read each row against the fusion PCA baseline: a learned model earns its keep where it beats
#   a linear projection of the same features.
# - The MMAE's reconstruction objective never asks the modality encoders to agree, and where
#   the modalities share only their class (LUMA, the real set) the rows on retrieval and on
#   tagging from one modality measure how much agreement arises anyway.
# - Every number here is on the data named at the top of the page; on the synthetic set they
#   test the machinery, not the paper.

# %% tags=["hide-input"]
provenance.show("14_scorecard", features, zoo.device, out)
