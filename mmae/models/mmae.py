"""The paper's Multimodal Autoencoder (MMAE), Sec. IV-B/IV-C, and its loss, Eq. (3)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmae.models.mlp import decoders, encoders, masked_mean, stack_mask

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

    def fuse(self, h: dict[str, Tensor], mask: dict[str, Tensor] | None = None) -> Tensor:
        """Fuse per-modality encodings into z (n, latent_dim); ``mask[m]`` (n,) bool marks present rows."""
        hs = torch.stack(list(h.values()))                      # (M, n, latent)
        present = stack_mask(mask, h)
        if self.fusion == "max":
            keep = present if present is not None else torch.ones(hs.shape[:2], dtype=torch.bool, device=hs.device)
            return hs.masked_fill(~keep[..., None], float("-inf")).amax(0)
        return masked_mean(hs, present)

    def encode(self, x: dict[str, Tensor], mask: dict[str, Tensor] | None = None) -> Tensor:
        """The shared latent z (n, latent_dim) from whichever modalities ``x`` holds."""
        return self.fuse(self.encode_each(x), mask)

    def decode(self, z: Tensor) -> dict[str, Tensor]:
        """Reconstructions x_hat_m = D_m(z) (Eq. 2) of every modality."""
        return {m: dec(z) for m, dec in self.decoders.items()}

    def forward(self, x: dict[str, Tensor], mask: dict[str, Tensor] | None = None):
        z = self.encode(x, mask)
        return z, self.decode(z)


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
    total = sum((weights or {}).get(m, 1.0) * v for m, v in per.items())
    return total, per
