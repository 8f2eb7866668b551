"""Contrastive encoders: the MMAE's encoders without decoders, trained with InfoNCE (CLIP-style,
van den Oord et al. 2018) between every pair of modalities; positives are the rows of one triplet."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmae.models.mlp import encoders
from mmae.rules import POSITIVE, ruled, validate


def info_nce_loss(h: dict[str, Tensor], temperature: float = 0.1) -> Tensor:
    """Symmetric InfoNCE averaged over every pair of modalities (CLIP's loss, van den Oord 2018).

    ``h[m]`` (..., B, L) are L2-normalised embeddings of the same B triplets; row i of one
    modality should pick row i of the other among the B rows of the batch; ``temperature`` is a
    float or a tensor that broadcasts against the (..., B, B) logits. Returns (...,).
    """
    losses = []
    for a, b in itertools.combinations(h, 2):
        logits = h[a] @ h[b].transpose(-1, -2) / temperature          # (..., B, B)
        target = torch.arange(logits.shape[-1], device=logits.device).expand(logits.shape[:-1])
        for lg in (logits, logits.transpose(-1, -2)):
            losses.append(F.cross_entropy(lg.flatten(0, -2), target.flatten(), reduction="none")
                          .view(target.shape).mean(-1))
    return torch.stack(losses).mean(0)


class ContrastiveEncoders(nn.Module):
    """One encoder per modality into a shared, L2-normalised space, trained with InfoNCE.

    ``encode`` averages the unit embeddings of the modalities present; there is no decoder.
    """

    def __init__(self, dims: dict[str, int], latent_dim: int = 128, hidden: tuple[int, ...] = (128, 128)):
        super().__init__()
        self.dims, self.latent_dim, self.hidden = dict(dims), latent_dim, tuple(hidden)
        self.encoders = encoders(dims, self.hidden, latent_dim)
        self.decoders = nn.ModuleDict()

    @property
    def config(self) -> dict:
        return {"dims": self.dims, "latent_dim": self.latent_dim, "hidden": self.hidden}

    def encode_each(self, x: dict[str, Tensor]) -> dict[str, Tensor]:
        return {m: F.normalize(self.encoders[m](x[m]), dim=-1) for m in x}

    def encode(self, x: dict[str, Tensor]) -> Tensor:
        """The mean (n, L) of the unit embeddings of the modalities in ``x``."""
        return torch.stack(list(self.encode_each(x).values())).mean(0)


@dataclass(frozen=True)
class ContrastiveKnobs:
    """The knob of :func:`loss`."""

    temperature: float = ruled(0.1, POSITIVE)  # InfoNCE temperature: the logits are similarities / temperature

    def __post_init__(self):
        validate(self)


def loss(model: ContrastiveEncoders, x: dict[str, Tensor], noise=None, *, temperature=0.1
         ) -> tuple[Tensor, dict[str, Tensor]]:
    """The contrastive model's training loss on a batch ``x`` (B, d_m): :func:`info_nce_loss` of
    its unit embeddings at ``temperature``. ``noise`` is unused (the loss draws nothing). Returns
    the scalar and what to log, ``infonce``."""
    total = info_nce_loss(model.encode_each(x), temperature)
    return total, {"infonce": total}


def noise(model, n, generator, **_) -> None:
    """The contrastive loss draws nothing."""
    return None
