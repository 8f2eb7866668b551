"""The models: the paper's MMAE and the comparators built from the same MLPs, each with its loss.

================  =====================================================================
``mmae``          :class:`MMAE` and Eq. (3), :func:`reconstruction_loss` (the paper)
``mvae``          :class:`MVAE`, a product-of-experts VAE, and its :func:`elbo` (Wu & Goodman 2018)
``contrastive``   :class:`ContrastiveEncoders` and :func:`info_nce_loss` (CLIP, van den Oord 2018)
``mlp``           the shared MLP, per-modality encoders/decoders, the masked mean over modalities
================  =====================================================================
"""
from mmae.models.contrastive import ContrastiveEncoders, info_nce_loss
from mmae.models.mlp import masked_mean, mlp
from mmae.models.mmae import FUSIONS, MMAE, reconstruction_loss
from mmae.models.mvae import MVAE, elbo, gaussian_kl, product_of_experts

# training objective -> model class ("mvae_cross": the MVAE with a cross-modal ELBO)
MODELS = {"mmae": MMAE, "mvae": MVAE, "mvae_cross": MVAE, "contrastive": ContrastiveEncoders}


def build_model(name: str, dims: dict[str, int], latent_dim: int = 128, hidden: tuple[int, ...] = (128, 128),
                fusion: str = "mean"):
    """A freshly initialised model for the objective ``name`` (from the global torch seed)."""
    if name == "mmae":
        return MMAE(dims, latent_dim, hidden, fusion)
    return MODELS[name](dims, latent_dim, hidden)


__all__ = ["MMAE", "MVAE", "ContrastiveEncoders", "MODELS", "FUSIONS", "build_model", "reconstruction_loss",
           "elbo", "gaussian_kl", "product_of_experts", "info_nce_loss", "mlp", "masked_mean"]
