"""A multimodal VAE with a product-of-experts posterior (Wu & Goodman, "Multimodal Generative
Models for Scalable Weakly-Supervised Learning", NeurIPS 2018), and its ELBO.

The MMAE's MLPs, widths and latent size (:mod:`mmae.models.mlp`), so it differs from the MMAE only
in the objective. :func:`loss` is what training minimises.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mmae.models.mlp import decoders, encoders
from mmae.rules import NON_NEGATIVE, ruled, validate


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

    def posterior(self, x: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Mean and log-variance (n, latent_dim) of q(z | the modalities in ``x``)."""
        mu, logvar = torch.stack([self.encoders[m](x[m]) for m in x]).chunk(2, -1)
        return product_of_experts(mu, logvar)

    def encode(self, x: dict[str, Tensor]) -> Tensor:
        """The posterior mean (n, latent_dim) given the modalities in ``x``."""
        return self.posterior(x)[0]

    def decode(self, z: Tensor) -> dict[str, Tensor]:
        return {m: dec(z) for m, dec in self.decoders.items()}


@dataclass(frozen=True)
class MVAEKnobs:
    """The knob of :func:`loss`."""

    beta: float = ruled(1.0, NON_NEGATIVE)  # weight of the KL term

    def __post_init__(self):
        validate(self)


def loss(model: MVAE, x: dict[str, Tensor], noise: Tensor | None = None, *, beta=1.0,
         cross_modal: bool = False) -> tuple[Tensor, dict[str, Tensor]]:
    """Wu & Goodman's sub-sampled training loss on a batch ``x`` (B, d_m): the negative ELBO of the
    joint posterior and of each single modality's, each reconstructing the modalities it observed,
    with a unit-variance Gaussian likelihood (half the squared error summed over features) and
    ``beta`` times the KL to N(0, I), averaged over rows and summed over the posteriors.

    ``cross_modal`` makes every posterior decode *every* modality (in the manner of JMVAE / MMVAE):
    a signal for predicting one modality from another that Eq. (3) never gives the MMAE.
    ``noise`` (M + 1, B, latent_dim) standard normals (:func:`noise`) reparameterise the samples
    z = mu + sigma * eps of the joint and each single posterior; None decodes the posterior means
    (evaluation). Returns the scalar to minimise and what to log: ``loss`` and ``loss_{m}``, the
    MSEs of the joint reconstruction, and ``kl``, the joint posterior's KL.
    """
    names = list(x)
    present = torch.cat([torch.ones(1, len(names)), torch.eye(len(names))]).bool()    # (K, M): joint, each one
    mu, logvar = torch.stack([model.encoders[m](x[m]) for m in names]).chunk(2, -1)   # (M, B, L): each encoded once
    mu_k, logvar_k = product_of_experts(mu[:, None], logvar[:, None], present.T[:, :, None].to(mu.device))
    z = mu_k if noise is None else mu_k + torch.exp(0.5 * logvar_k) * noise          # (K, B, L)
    K, B = present.shape[0], mu.shape[1]
    x_hat = model.decode(z.reshape(K * B, -1))          # the K samples as one batch (BatchNorm over K * B rows)
    sq = torch.stack([(x_hat[m].view(K, B, -1) - x[m]).pow(2).sum(-1).mean(-1) for m in names], -1)  # (K, M)
    kl = gaussian_kl(mu_k, logvar_k).mean(-1)                                          # (K,)
    observed = torch.ones_like(sq) if cross_modal else present.to(sq)
    total = (0.5 * sq * observed).sum() + (beta * kl).sum()
    per = {m: sq[0, i] / x[m].shape[-1] for i, m in enumerate(names)}                # the joint MSEs
    return total, {"loss": sum(per.values()), **{f"loss_{m}": v for m, v in per.items()}, "kl": kl[0]}


def noise(model: MVAE, n: int, generator: torch.Generator, **_) -> Tensor:
    """The draws one training step of :func:`loss` takes for ``n`` rows: (M + 1, n, latent_dim)
    standard normals, one sample for the joint posterior and one for each single modality's."""
    return torch.randn(len(model.dims) + 1, n, model.latent_dim, generator=generator)
