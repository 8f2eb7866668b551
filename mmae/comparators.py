"""Comparators for the MMAE on the same features and budget (beyond the paper).

- :class:`MVAE`: a multimodal VAE whose joint posterior is a product of Gaussian experts, one
  per modality present plus the prior (Wu & Goodman, "Multimodal Generative Models for Scalable
  Weakly-Supervised Learning", NeurIPS 2018), trained on the ELBO of the joint and of each single
  modality (their sub-sampled objective), so that it learns to infer z from any subset.
- :class:`ContrastiveEncoders`: the MMAE's encoders without decoders, trained with InfoNCE
  (CLIP-style) between every pair of modalities; positives are the rows of the same triplet.

Both use the MMAE's MLPs (:func:`mmae.model.mlp`), widths and latent size, so they differ from it
only in the objective; all three are trained by :mod:`mmae.ensemble`.
"""
from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmae.model import mlp


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


def info_nce_loss(h: dict[str, Tensor], temperature: float = 0.1) -> Tensor:
    """Symmetric InfoNCE averaged over every pair of modalities (CLIP's loss, van den Oord 2018).

    ``h[m]`` (..., B, L) are L2-normalised embeddings of the same B triplets; row i of one
    modality should pick row i of the other among the B rows of the batch. Returns (...,).
    """
    losses = []
    for a, b in itertools.combinations(h, 2):
        logits = h[a] @ h[b].transpose(-1, -2) / temperature          # (..., B, B)
        target = torch.arange(logits.shape[-1], device=logits.device).expand(logits.shape[:-1])
        for lg in (logits, logits.transpose(-1, -2)):
            losses.append(F.cross_entropy(lg.flatten(0, -2), target.flatten(), reduction="none")
                          .view(target.shape).mean(-1))
    return torch.stack(losses).mean(0)


class MVAE(nn.Module):
    """Multimodal VAE with a product-of-experts posterior (Wu & Goodman 2018).

    Encoders d_m -> hidden -> 2 * latent_dim (mean and log-variance of one expert), decoders
    latent_dim -> hidden[::-1] -> d_m, as the MMAE's. ``encode`` returns the posterior mean of
    whichever modalities ``x`` holds, so any subset can be embedded.
    """

    def __init__(self, dims: dict[str, int], latent_dim: int = 128, hidden: tuple[int, ...] = (128, 128)):
        super().__init__()
        self.dims, self.latent_dim, self.hidden = dict(dims), latent_dim, tuple(hidden)
        self.encoders = nn.ModuleDict({m: mlp(d, self.hidden, 2 * latent_dim) for m, d in dims.items()})
        self.decoders = nn.ModuleDict({m: mlp(latent_dim, self.hidden[::-1], d) for m, d in dims.items()})

    @property
    def config(self) -> dict:
        return {"dims": self.dims, "latent_dim": self.latent_dim, "hidden": self.hidden}

    def posterior(self, x: dict[str, Tensor], mask: dict[str, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """Mean and log-variance (n, latent_dim) of q(z | the modalities in ``x``)."""
        mu, logvar = torch.stack([self.encoders[m](x[m]) for m in x]).chunk(2, -1)
        present = torch.stack([mask[m] for m in x]) if mask is not None else None
        return product_of_experts(mu, logvar, present)

    def encode(self, x: dict[str, Tensor], mask: dict[str, Tensor] | None = None) -> Tensor:
        return self.posterior(x, mask)[0]

    def decode(self, z: Tensor) -> dict[str, Tensor]:
        return {m: dec(z) for m, dec in self.decoders.items()}


class ContrastiveEncoders(nn.Module):
    """One encoder per modality into a shared, L2-normalised space, trained with InfoNCE.

    ``encode`` averages the unit embeddings of the modalities present; there is no decoder.
    """

    def __init__(self, dims: dict[str, int], latent_dim: int = 128, hidden: tuple[int, ...] = (128, 128)):
        super().__init__()
        self.dims, self.latent_dim, self.hidden = dict(dims), latent_dim, tuple(hidden)
        self.encoders = nn.ModuleDict({m: mlp(d, self.hidden, latent_dim) for m, d in dims.items()})
        self.decoders = nn.ModuleDict()

    @property
    def config(self) -> dict:
        return {"dims": self.dims, "latent_dim": self.latent_dim, "hidden": self.hidden}

    def encode_each(self, x: dict[str, Tensor]) -> dict[str, Tensor]:
        return {m: F.normalize(self.encoders[m](x[m]), dim=-1) for m in x}

    def encode(self, x: dict[str, Tensor], mask: dict[str, Tensor] | None = None) -> Tensor:
        h = torch.stack(list(self.encode_each(x).values()))             # (M, n, L)
        present = (torch.stack([mask[m] for m in x]) if mask is not None
                   else torch.ones(h.shape[:2], dtype=torch.bool, device=h.device))[..., None]
        return (h * present).sum(0) / present.sum(0).clamp(min=1)
