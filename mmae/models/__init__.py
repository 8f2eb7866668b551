"""The models: the paper's MMAE and the comparators built from the same MLPs, each with its loss.

================  =====================================================================
``mmae``          :class:`MMAE` and its loss, Eq. (3) (the paper)
``mvae``          :class:`MVAE`, a product-of-experts VAE, and its ELBO (Wu & Goodman 2018)
``contrastive``   :class:`ContrastiveEncoders` and InfoNCE (CLIP, van den Oord 2018)
``mlp``           the shared MLP, per-modality encoders/decoders, the masked mean over modalities
================  =====================================================================

Each model's module holds ``loss(model, x, noise=None, **knobs) -> (total, parts)``, what training
minimises, ``noise(model, n, generator, **knobs)``, the random draws one step of that loss takes
(None when it takes none), and its knobs (``MMAEKnobs``, ...), the frozen, validated dataclass
of that loss's keywords: :mod:`mmae.training` calls them and knows no model by name.
:data:`MODELS` is the one list of the models by name.
"""
from dataclasses import dataclass
from functools import partial
from typing import Callable

from mmae.models import contrastive, mmae, mvae
from mmae.models.contrastive import ContrastiveEncoders, ContrastiveKnobs, info_nce_loss
from mmae.models.mlp import masked_mean, mlp
from mmae.models.mmae import FUSIONS, MMAE, MMAEKnobs, reconstruction_loss
from mmae.models.mvae import MVAE, MVAEKnobs, gaussian_kl, product_of_experts


@dataclass(frozen=True)
class Trainable:
    """A model class, the loss that trains it, the draws that loss takes, and the dataclass of its
    knobs (the keywords of the loss; :class:`mmae.training.TrainConfig` holds one)."""

    cls: type
    loss: Callable
    noise: Callable
    knobs: type


MODELS = {
    "mmae": Trainable(MMAE, mmae.loss, mmae.noise, mmae.MMAEKnobs),
    "mvae": Trainable(MVAE, mvae.loss, mvae.noise, mvae.MVAEKnobs),
    "mvae_cross": Trainable(MVAE, partial(mvae.loss, cross_modal=True), mvae.noise, mvae.MVAEKnobs),
    "contrastive": Trainable(ContrastiveEncoders, contrastive.loss, contrastive.noise, contrastive.ContrastiveKnobs),
}
"""Every model by name: ``"mvae_cross"`` is the MVAE trained with the cross-modal ELBO."""


def build_model(name: str, dims: dict[str, int], latent_dim: int = 128, hidden: tuple[int, ...] = (128, 128),
                fusion: str = "mean"):
    """A freshly initialised model ``name`` of :data:`MODELS` (from the global torch seed);
    ``fusion`` applies to the MMAE only."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {tuple(MODELS)}, got {name!r}")
    extra = {"fusion": fusion} if MODELS[name].cls is MMAE else {}
    return MODELS[name].cls(dims, latent_dim, hidden, **extra)


__all__ = ["MMAE", "MVAE", "ContrastiveEncoders", "MMAEKnobs", "MVAEKnobs", "ContrastiveKnobs", "MODELS", "Trainable",
           "FUSIONS", "build_model",
           "reconstruction_loss", "gaussian_kl", "product_of_experts", "info_nce_loss", "mlp", "masked_mean"]
