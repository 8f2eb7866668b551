"""A multimodal VAE with a product-of-experts posterior (Wu & Goodman, "Multimodal Generative
Models for Scalable Weakly-Supervised Learning", NeurIPS 2018), and its ELBO.

The MMAE's MLPs, widths and latent size (:mod:`mmae.models.mlp`), so it differs from the MMAE only
in the objective. :func:`elbo` is the readable single-model loss; the fast engine
(:func:`mmae.training.stacked.objective`) computes the same for S stacked replicas at once and is
tested against it.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmae.models.mlp import decoders, encoders, stack_mask


def product_of_experts(mu: Tensor, logvar: Tensor, present: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Gaussian product of the experts ``mu[m], logvar[m]`` (M, ..., L) present and N(0, I).

    ``present`` (M, ...) bool marks which experts take part (all by default). Returns the mean
    and log-variance (..., L) of the product: precisions add, means are precision-weighted.
    """
    precision = torch.exp(-logvar)
    if present is not None:
        precision = precision * present[..., None]
    total = 1.0 + precision.sum(0)                                      # the prior's precision is 1
    return (mu * precision).sum(0) / total, -torch.log(total)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over the last axis."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


class MVAE(nn.Module):
    """Multimodal VAE with a product-of-experts posterior (Wu & Goodman 2018).

    Encoders d_m -> hidden -> 2 * latent_dim (mean and log-variance of one expert), decoders
    latent_dim -> hidden[::-1] -> d_m, as the MMAE's. ``encode`` returns the posterior mean of
    whichever modalities ``x`` holds, so any subset can be embedded.
    """

    def __init__(self, dims: dict[str, int], latent_dim: int = 128, hidden: tuple[int, ...] = (128, 128)):
        super().__init__()
        self.dims, self.latent_dim, self.hidden = dict(dims), latent_dim, tuple(hidden)
        self.encoders = encoders(dims, self.hidden, 2 * latent_dim)
        self.decoders = decoders(dims, self.hidden, latent_dim)

    @property
    def config(self) -> dict:
        return {"dims": self.dims, "latent_dim": self.latent_dim, "hidden": self.hidden}

    def posterior(self, x: dict[str, Tensor], mask: dict[str, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """Mean and log-variance (n, latent_dim) of q(z | the modalities in ``x``)."""
        mu, logvar = torch.stack([self.encoders[m](x[m]) for m in x]).chunk(2, -1)
        return product_of_experts(mu, logvar, stack_mask(mask, x))

    def encode(self, x: dict[str, Tensor], mask: dict[str, Tensor] | None = None) -> Tensor:
        return self.posterior(x, mask)[0]

    def decode(self, z: Tensor) -> dict[str, Tensor]:
        return {m: dec(z) for m, dec in self.decoders.items()}


def elbo(model: MVAE, x: dict[str, Tensor], beta: float = 1.0, cross_modal: bool = False) -> Tensor:
    """The negative ELBO Wu & Goodman train on, with the posterior mean as z (eval mode): for the
    joint posterior and for each single modality's, half the squared error summed over features
    (a unit-variance Gaussian likelihood) of the modalities that posterior observed, plus ``beta``
    times the KL to N(0, I), averaged over rows and summed over the posteriors.

    ``cross_modal`` makes every posterior decode *every* modality (JMVAE / MMVAE style).
    """
    names = list(x)
    total = 0.0
    for subset in (tuple(names), *((m,) for m in names)):
        mu, logvar = model.posterior({m: x[m] for m in subset})
        x_hat = model.decode(mu)
        targets = names if cross_modal else subset
        total = total + sum(0.5 * (x_hat[m] - x[m]).pow(2).sum(1).mean() for m in targets)
        total = total + beta * gaussian_kl(mu, logvar).mean()
    return total
