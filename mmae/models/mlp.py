"""The building blocks every model shares: the paper's MLP (Sec. IV-C), one per modality, and the
mean over the modalities present."""
from __future__ import annotations

import torch
from torch import Tensor, nn


def mlp(d_in: int, hidden: tuple[int, ...], d_out: int) -> nn.Sequential:
    """[Linear -> BatchNorm1d -> ReLU] per hidden width, then a final Linear (Sec. IV-C)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(d_in, width), nn.BatchNorm1d(width), nn.ReLU()]
        d_in = width
    return nn.Sequential(*layers, nn.Linear(d_in, d_out))


def encoders(dims: dict[str, int], hidden: tuple[int, ...], d_out: int) -> nn.ModuleDict:
    """One :func:`mlp` per modality, d_m -> hidden -> ``d_out``."""
    return nn.ModuleDict({m: mlp(d, hidden, d_out) for m, d in dims.items()})


def decoders(dims: dict[str, int], hidden: tuple[int, ...], latent_dim: int) -> nn.ModuleDict:
    """One :func:`mlp` per modality mirroring the encoders: latent_dim -> hidden[::-1] -> d_m."""
    return nn.ModuleDict({m: mlp(latent_dim, hidden[::-1], d) for m, d in dims.items()})


def masked_mean(h: Tensor, present: Tensor | None = None) -> Tensor:
    """Mean over the first axis (modalities) of ``h`` (M, n, L), counting only the rows that
    ``present`` (M, n) bool marks (all by default); a row with none present gives 0."""
    keep = (present if present is not None else torch.ones(h.shape[:2], dtype=torch.bool, device=h.device))[..., None]
    return (h * keep).sum(0) / keep.sum(0).clamp(min=1)
