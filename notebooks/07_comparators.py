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
# # 7. Beyond the paper: the models compared
#
# The paper measures one model, one seed, one question (K-Means). Chapters 7-14 ask what a
# reviewer and a media-archive engineer would ask next, on the same features: does the latent
# support cross-modal retrieval (8), missing modalities (9), noise (10), tagging (11), unseen
# classes (12); what do the latent size and other choices change (13); and how does the MMAE
# compare with models built for these questions (14, one table).
#
# Every model has the MMAE's MLPs (128-128, latent 128) and the same budget (epochs, batch, Adam
# lr), and differs only in its objective:
#
# - **MMAE**: the paper's model and loss, Eq. (3).
# - **MMAE, loss x dim**: Eq. (3) with the term of modality m weighted by d_m / mean(d). Eq. (3)'s
#   MSE is a mean over features, so each modality counts the same however many features it has;
#   summing squared errors instead lets the widest modalities outweigh the narrow ones (on LUMA,
#   audio 1,024-D and text 768-D against the image's 50-D). This variant tests what that does.
# - **MMAE, modality dropout**: Eq. (3), but in training each modality's encoding is left out of
#   a row's fused z with a probability chosen on validation (one always stays), so the decoders learn
#   to work from the z of any subset of modalities, which chapters 9 and 11 ask of them.
# - **MMAE + alignment (Eq. 1)**: the literal reading of the paper's Eq. (1), z = E_m(x_m) for every
#   m, as a penalty lambda x sum over m of ||E_m(x_m) - z||^2 added to Eq. (3), lambda chosen on
#   validation.
# - **MMAE, missing imputed**: the MMAE itself, but a missing modality's encoding is replaced by
#   its mean train encoding instead of being left out of the mean (the fusion PCA imputes the
#   same way), so one modality alone gives a z of the kind the decoders saw.
# - **MVAE (PoE)**: a multimodal VAE whose posterior is a product of Gaussian experts, trained as
#   Wu & Goodman (2018) train it: the ELBO of all modalities and of each one alone, each term
#   reconstructing only the modalities it observed, so it can infer z from any subset.
# - **MVAE, cross-modal ELBO**: the same model, but every posterior, each single modality's too,
#   decodes *every* modality (in the manner of JMVAE and MMVAE). This objective is told to predict
#   one modality from another, which neither Eq. (3) nor Wu & Goodman's ELBO asks: chapters 9 and
#   11 should be read with that in mind.
# - **contrastive (InfoNCE)**: the encoders alone, pulling together the modalities of the same
#   triplet (CLIP's loss). On LUMA the triplets are paired at random within a class, so its
#   positives are "same class", never "same object".
# - **fusion PCA (baseline)**: the paper's Table III fusion with weights (1, 1, 1), missing
#   modalities imputed with their mean.
#
# Each model is trained once per seed, all seeds together (`mmae.training.train_seeds`), and cached
# in `artifacts_dir/zoo/` under a key of code, data and parameters, so the later chapters load it.
# The default build trains for `epochs = 5` to keep the book fast; chapter 13 measures what more
# epochs change.

# %% tags=["parameters"]
# The models' data and training (data, epochs, seeds, models, device, artifacts_dir, ...) are the
# parameters of chapters 7-14, declared once in mmae.study.ZooParams; set one as any other,
# papermill ... -p epochs 20. This chapter has none of its own.

# %%
import pandas as pd
from IPython.display import Markdown, display

from mmae import study
from mmae.report import plots, provenance, tables

provenance.start("07_comparators")  # this page's clock and, in a book build, its time limit (mmae.watchdog)
features, zoo, out = study.get_zoo(globals(), "07_comparators")  # parameters checked first: then trained, or loaded
display(Markdown(tables.banner(features)))

# %% [markdown]
# Each comparator's own knob (the MVAE's `beta`, the contrastive `temperature`, the MMAE variants'
# alignment strength and modality dropout) was chosen on a validation slice of train (20 %,
# stratified; never the test split): K-Means ARI of the validation embeddings at k = the number of
# classes, for every value of a small grid (`mmae.study.tuning.GRIDS`). The values the zoo was trained with:

# %%
pd.DataFrame([{"model": study.MODEL_LABELS[n], "parameter": name, "chosen": v} for n, c in zoo.chosen.items()
              for name, v in c.items()]).set_index("model") if zoo.chosen else Markdown("*No tuning (`tune = False`).*")

# %% [markdown]
# The loss of every model at every epoch, mean and spread over seeds: the reconstruction MSE
# (summed over modalities, from all modalities) on train and on test for the models with a
# decoder. A curve still falling at the last epoch means the budget, not the model, set the result.

# %%
curves = tables.labelled(study.loss_curves(zoo))
plots.plot_seed_lines(curves[curves["metric"] != "InfoNCE"], "epoch", "model", out / "fig7_loss_curves.png",
                      title=f"Reconstruction loss per epoch ({features.name})", ylabel="MSE", panel="metric");

# %% [markdown]
# The contrastive model has no decoder: its training loss (InfoNCE) per epoch.

# %%
if (curves["metric"] == "InfoNCE").any():
    plots.plot_seed_lines(curves[curves["metric"] == "InfoNCE"], "epoch", "model", out / "fig7_infonce.png",
                          title=f"InfoNCE per epoch ({features.name})", ylabel="InfoNCE");

# %% [markdown]
# Final-epoch losses of every model, mean ± std over seeds: reconstruction MSE per modality on
# the test split (MMAE, MVAE: decoded from all modalities), InfoNCE for the contrastive model.

# %%
final = study.final_losses(zoo)
tables.spread(final, [])

# %% [markdown]
# Does weighting Eq. (3) by dimension let the large modalities dominate? Test MSE per modality,
# MMAE against MMAE x dim (and the MVAE, whose likelihood sums over features too).

# %%
recon = final[final["metric"].str.startswith("test_loss_")]
plots.plot_seed_bars(recon.assign(modality=recon["metric"].str.removeprefix("test_loss_"),
                                  model=recon["model"].map(study.MODEL_LABELS)), "modality", "model",
                     out / "fig7_reconstruction.png", title=f"Test reconstruction MSE ({features.name})",
                     ylabel="MSE (standardised features)");

# %% [markdown]
# The same in numbers: how much each modality's reconstruction changes with the weighting.

# %%
delta = study.weighting_effect(final)
display(Markdown(delta))

# %% [markdown]
# ## Recap
#
# - Every model is trained with the same MLPs and budget, once per seed; later chapters load them.
# - Eq. (3) as the paper writes it (a mean over features) weights modalities equally; weighting
#   by dimension moves the weight to the widest modalities, and the sentences above say what that
#   did to each modality's reconstruction on these data. Whether it helps any downstream question
#   is in the scorecard (chapter 14).

# %% tags=["hide-input"]
provenance.show("07_comparators", features, zoo.device, out)
