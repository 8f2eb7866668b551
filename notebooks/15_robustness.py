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
# # 15. Robustness: which conclusions survive a change of data
#
# Every chapter so far answers its question on one data set. A conclusion about the *method*
# should not flip when the data change; one that flips is a property of the data it was computed
# on. Here the book's headline questions are asked again on several data sets, side by side:
#
# - the **LUMA-shaped real set** (chapter 0a), the default data: 42 + 8 classes of real media at
#   LUMA's counts;
# - the **small real set** (`real:cifar10`), the book's earlier default: 8 + 2 CIFAR-10 classes;
# - the three **synthetic variants** of `mmae.data.synthetic`, each calibrated so that PCA + K-Means
#   gives the paper's Table II ARIs (checked below), but carrying the class in different ways;
# - **your bundle**, when `data` (or `MMAE_DATA`) names one.
#
# The synthetic generator assumes, in every variant: the modalities are **independent given the
# class** (LUMA pairs its triplets at random within a class, so nothing but the class links them);
# the 8 OOD classes come from the same generator as the 42 known ones; and the calibration matches
# **only the Table II ARI** (silhouette and NMI are not matched). The variants differ in how the
# class is carried:
#
# - **nuisance** (`"synthetic"`): linear-Gaussian. Image features are 50 logits with a planted
#   misclassification ceiling (27 % of rows peak at a neighbour class); the audio is dominated by a
#   planted *speaker* offset (30 speakers, independent of the class); the text by a few shared
#   high-variance directions. The OOD classes' logits sit on their own logit dimensions. Its
#   weaknesses were planted by us.
# - **low_snr** (`"synthetic:low_snr"`): a class mean in isotropic Gaussian noise, nothing else.
#   A weak modality is weak because it carries little information, not because of a nuisance.
# - **nonlinear** (`"synthetic:nonlinear"`): a 16-D class code in Gaussian noise, passed through a
#   fixed random tanh network to each modality's dimension. The class structure is curved, so a
#   nonlinear encoder has something to find that PCA cannot.
#
# Each question compares the MMAE with a reference, per training seed (definitions in
# `mmae.study.robustness`). A cell says whether the MMAE is *above*, *below* or *within the spread of*
# the reference (the means differ by no more than the larger standard deviation over seeds).

# %% tags=["parameters"]
data = "real"  # your data: a bundle folder gets a column of its own ("real" follows MMAE_DATA when it is set)
data_sets = ["real", "real:cifar10", "synthetic", "synthetic:low_snr", "synthetic:nonlinear"]  # always compared
data_seed = 0  # seed of the synthetic sets
latent_dim = 128  # size of the shared latent of every model (paper: 128)
epochs = 25  # training epochs on the small real set (real:cifar10) and on your bundle: about as many steps as luma_size_epochs (paper: 100)
luma_size_epochs = 5  # on the sets of LUMA's size (real, synthetic*; 4.7 to 5.25 times the small set's rows): chapters 7-14's budget
batch_size = 128  # mini-batch size (paper: 128)
lr = 1e-3  # Adam learning rate (paper: 1e-3)
tune = True  # choose the contrastive temperature on a validation slice of train
seeds = [0, 1, 2]  # one model per seed, trained together
device = "auto"  # "auto" picks cuda, then mps, then cpu
n_init = 10  # K-Means restarts, as in every chapter (mmae.evaluation.N_INIT)
artifacts_dir = "artifacts"  # models and tables go to artifacts_dir/robustness/ (relative to the repository root)

# %%
from mmae import params
from mmae.report import provenance

provenance.start("15_robustness")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
params.check(globals(), "15_robustness")  # unknown or ill-typed parameters fail here, before any work

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from mmae import atomic
from mmae.report import findings, plots, recorded
from mmae.study import robustness
from mmae.artifacts import project_root, writable_dir

columns = robustness.columns(data, data_sets)
out = writable_dir(artifacts_dir)
display(Markdown("The data sets compared, one column each below: " + ", ".join(columns["label"]) + "."))

# %% [markdown]
# Each data set, as a task of its own (`mmae.cluster`: the data sets run side by side, one per
# core): load it, choose the contrastive temperature on validation, train the MMAE and the
# contrastive model for every seed (or load them when this code already trained them on these data
# with these parameters), fit the PCA baselines, and measure.

# %%
budget = {label: luma_size_epochs if robustness.luma_sized(spec) else epochs for label, spec in zip(columns.label, columns.spec)}
jobs = [(spec, params.train_config(globals(), epochs=budget[label]), environ)  # this chapter's parameters, the set's budget
        for label, spec, environ in columns.itertuples(index=False)]
results = dict(zip(columns.label, robustness.run_all(jobs, seeds, out, n_init, tune, data_seed)))  # a task per data set
features, measured, chosen = ({label: r[i] for label, r in results.items()} for i in range(3))

# %% [markdown]
# What each column is, and the training budget it got.

# %%
robustness.data_table(features, budget, chosen)

# %% [markdown]
# The calibration check: on every data set of LUMA's shape (42 classes), PCA of each modality and
# K-Means at k = 42 (Table II's protocol), beside the paper's ARI. The synthetic variants were
# calibrated to land near the paper's numbers and in its order; the LUMA-shaped real set was not
# calibrated to anything, so its row says how far real media at LUMA's shape are from LUMA. The
# small real set has 8 classes, not 42, so it is not in this table.

# %%
robustness.calibration({c: f for c, f in features.items() if f.n_classes == 42}, n_init)

# %% [markdown]
# The verdicts: one row per question, one column per data set, mean ± std over seeds of the MMAE
# and of its reference.

# %%
table = findings.verdicts(measured)
atomic.save_csv(table, out / "robustness.csv")
table

# %% [markdown]
# The same chapter was run longer once, and its table recorded (`book/records/robustness-20-epochs.json`,
# written from that run's `robustness.csv` by `mmae.report.recorded.write`, with its commit,
# parameters and data fingerprints). Set beside it, on the data sets both ran on, this run shows which
# verdicts the training budget moves.

# %%
record = recorded.load(project_root() / "book" / "records" / "robustness-20-epochs.json")
comparison = recorded.compare(table, record, {label: f.fingerprint() for label, f in features.items()})
display(Markdown(recorded.changes(comparison, record, vars(params.values(globals(), "15_robustness")))))

# %% [markdown]
# The numbers behind each cell: MMAE minus its reference for every seed (points) and their mean
# (bars). Above the dashed line the MMAE wins.

# %%
plots.plot_differences(robustness.differences(measured), out / "fig15_robustness.png",
                       title="MMAE minus reference on every data set, one point per seed");

# %% [markdown]
# ## Recap
#
# Which conclusions survive the change of data, computed from the table above:

# %%
display(Markdown(findings.survival(table)))

# %% tags=["hide-input"]
provenance.show("15_robustness", list(features.values()), device, artifacts_dir)
