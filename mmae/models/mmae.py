"""The paper's Multimodal Autoencoder (MMAE), Sec. IV-B/IV-C, and its loss, Eq. (3).

:func:`loss` is what training minimises (:mod:`mmae.training` calls it for one model, or under
``torch.func.vmap`` for several seeds at once): Eq. (3), and two optional extensions the paper
does not use, modality dropout and the alignment penalty of a literal reading of Eq. (1).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mmae.models.mlp import decoders, encoders, masked_mean
from mmae.rules import NON_NEGATIVE, PROBABILITY, WEIGHTS, ruled, validate

FUSIONS = ("mean", "max")


class MMAE(nn.Module):
    """One encoder and one decoder per modality around a shared latent ``z`` (paper Fig. 2).

    Encoders are 3-layer MLPs d_m -> 128 -> 128 -> latent_dim; decoders mirror them.
    The paper writes z = E_I(x_I) = E_A(x_A) = E_T(x_T) (Eq. 1) without saying how three encoder
    outputs become one z: here they are fused by ``fusion`` ("mean" by default, or "max") over the
    modalities present, so the model also encodes any subset of modalities.

    Parameters
    ----------
    dims : dict of str to int
        Input dimension per modality, e.g. ``{"image": 50, "audio": 1024, "text": 768}``.
    latent_dim : int, default 128
    hidden : tuple of int, default (128, 128)
        Hidden widths of each encoder (reversed in each decoder).
    fusion : {"mean", "max"}, default "mean"
    """

    def __init__(self, dims: dict[str, int], latent_dim: int = 128,
                 hidden: tuple[int, ...] = (128, 128), fusion: str = "mean"):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive int, got {latent_dim}")
        self.dims, self.latent_dim, self.hidden, self.fusion = dict(dims), latent_dim, tuple(hidden), fusion
        self.encoders = encoders(dims, self.hidden, latent_dim)
        self.decoders = decoders(dims, self.hidden, latent_dim)

    @property
    def config(self) -> dict:
        """The constructor's arguments: ``MMAE(**model.config)`` builds the same architecture."""
        return {"dims": self.dims, "latent_dim": self.latent_dim, "hidden": self.hidden, "fusion": self.fusion}

    def encode_each(self, x: dict[str, Tensor]) -> dict[str, Tensor]:
        """Per-modality encodings E_m(x_m), each (n, latent_dim), for the modalities in ``x``."""
        return {m: self.encoders[m](x[m]) for m in x}

    def fuse(self, h: dict[str, Tensor], present: Tensor | None = None) -> Tensor:
        """Fuse per-modality encodings into z (n, latent_dim); ``present`` (M, n) bool marks, for
        each modality of ``h`` in order, the rows whose encoding takes part (all by default)."""
        hs = torch.stack(list(h.values()))                      # (M, n, latent)
        if self.fusion == "max":
            return (hs if present is None else hs.masked_fill(~present[..., None], float("-inf"))).amax(0)
        return masked_mean(hs, present)

    def encode(self, x: dict[str, Tensor]) -> Tensor:
        """The shared latent z (n, latent_dim) from whichever modalities ``x`` holds."""
        return self.fuse(self.encode_each(x))

    def decode(self, z: Tensor) -> dict[str, Tensor]:
        """Reconstructions x_hat_m = D_m(z) (Eq. 2) of every modality."""
        return {m: dec(z) for m, dec in self.decoders.items()}

    def forward(self, x: dict[str, Tensor]):
        z = self.encode(x)
        return z, self.decode(z)


@dataclass(frozen=True)
class MMAEKnobs:
    """The knobs of :func:`loss` beyond the paper: at their defaults the loss is Eq. (3)."""

    loss_weights: dict[str, float] | None = ruled(None, WEIGHTS)  # rescale the terms of Eq. (3)
    modality_dropout: float = ruled(0.0, PROBABILITY)  # probability of leaving a modality out of a row's z
    align: float = ruled(0.0, NON_NEGATIVE)  # lambda of the alignment penalty (Eq. 1)

    def __post_init__(self):
        validate(self)


def reconstruction_loss(x: dict[str, Tensor], x_hat: dict[str, Tensor],
                        weights: dict[str, float] | None = None) -> tuple[Tensor, dict[str, Tensor]]:
    """Eq. (3): L_rec = ||x_I - x_hat_I||^2 + ||x_A - x_hat_A||^2 + ||x_T - x_hat_T||^2.

    Each term is the mean squared error over rows and features (the paper's "Loss: MSE",
    Sec. IV-D), so the three terms are summed unweighted by default; ``weights`` rescales them.

    Returns
    -------
    total : Tensor
        Scalar loss to minimise.
    per_modality : dict of str to Tensor
        The unweighted MSE of each modality in ``x``.
    """
    per = {m: nn.functional.mse_loss(x_hat[m], x[m]) for m in x}
    if not weights:  # the paper's unweighted sum (no multiplications by 1: a CPU step is mostly op overhead)
        return sum(per.values()), per
    return sum(weights.get(m, 1.0) * v for m, v in per.items()), per


def loss(model: MMAE, x: dict[str, Tensor], noise: Tensor | None = None, *, loss_weights=None,
         modality_dropout=0.0, align=0.0) -> tuple[Tensor, dict[str, Tensor]]:
    """The MMAE's training loss on a batch ``x`` (Eq. (3) by default).

    Parameters
    ----------
    model : MMAE
    x : dict of str to Tensor
        (B, d_m) features of every modality of the model.
    noise : Tensor, optional
        (M, B) uniform draws (:func:`noise`) for modality dropout; None: no dropout (evaluation).
    loss_weights : dict of str to float, optional
        Rescale the terms of Eq. (3) (default all 1).
    modality_dropout : float
        Each modality's encoding leaves a row's fused z with this probability when ``noise`` is
        given (the largest draw's modality always stays), so the decoders learn from the z of any
        subset of modalities.
    align : float
        > 0 adds ``align * sum_m ||E_m(x_m) - z||^2`` (mean over rows), the literal reading of
        Eq. (1), z = E_m(x_m) for every m.

    Returns
    -------
    total : Tensor
        The scalar to minimise.
    parts : dict of str to Tensor
        What to log: ``loss`` (the unweighted Eq. (3)), ``loss_{m}`` (each MSE), ``align`` (the
        penalty, when on).
    """
    if noise is None and not _on(align):
        x_hat = model(x)[1]
        hs = None
    else:
        h = model.encode_each(x)
        keep = None
        if noise is not None:  # (M, B): the modality of a row's largest draw always stays
            keep = (noise >= modality_dropout) | (noise == noise.amax(0, keepdim=True))
        z = model.fuse(h, keep)
        x_hat = model.decode(z)
        hs = torch.stack(list(h.values()))                                # (M, B, L)
    total, per = reconstruction_loss(x, x_hat, loss_weights)
    parts = {"loss": total if not loss_weights else sum(per.values()), **{f"loss_{m}": v for m, v in per.items()}}
    if hs is not None and _on(align):
        penalty = (hs - z).pow(2).sum(-1).mean(-1).sum(0)
        total, parts["align"] = total + align * penalty, penalty
    return total, parts


def noise(model: MMAE, n: int, generator: torch.Generator, *, modality_dropout=0.0, **_) -> Tensor | None:
    """The draws one training step of :func:`loss` takes for ``n`` rows: (M, n) uniforms when
    modality dropout is on, else None."""
    if not _on(modality_dropout):
        return None
    return torch.rand(len(model.dims), n, generator=generator)


def _on(value) -> bool:
    """Whether a knob is on: a float > 0, or a tensor (one value per replica of a grid)."""
    return isinstance(value, Tensor) or value > 0
