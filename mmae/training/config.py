"""The configuration of a training run: one frozen dataclass, validated at construction."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmae.models import MODELS


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run; defaults are the paper's (Sec. IV-C, IV-D).

    Frozen and validated at construction: derive another with :func:`dataclasses.replace`.
    Architecture: ``latent_dim``, ``hidden``, ``fusion``, ``model``. Objective: ``loss_weights``,
    ``beta``, ``temperature``, ``modality_dropout``, ``align``. Optimisation: ``epochs``,
    ``batch_size``, ``lr``, ``seed``. Runtime: ``device``, ``engine``.
    """

    latent_dim: int = 128
    hidden: tuple[int, ...] = (128, 128)
    fusion: str = "mean"
    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 42
    device: str = "auto"
    loss_weights: dict[str, float] | None = field(default=None)
    engine: str = "stacked"  # "stacked" (fast, mmae.training.stacked) or "reference" (the plain loop)
    model: str = "mmae"  # or a comparator of mmae.models: "mvae", "mvae_cross", "contrastive"
    beta: float = 1.0  # weight of the MVAE's KL term
    temperature: float = 0.1  # InfoNCE temperature of the contrastive model
    modality_dropout: float = 0.0  # MMAE: probability of leaving a modality out of a training row's z
    align: float = 0.0  # MMAE: lambda of the alignment penalty lambda * sum_m ||E_m(x_m) - z||^2 (Eq. 1)

    def __post_init__(self):
        for name in ("latent_dim", "epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive int, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr!r}")
        if self.engine not in ("stacked", "reference"):
            raise ValueError(f"TrainConfig.engine must be 'stacked' or 'reference', got {self.engine!r}")
        if self.model not in MODELS:
            raise ValueError(f"TrainConfig.model must be one of {tuple(MODELS)}, got {self.model!r}")
        if self.engine == "reference" and self.model != "mmae":
            raise ValueError(f"engine='reference' trains the MMAE only, got model={self.model!r}")
        if not 0 <= self.modality_dropout < 1:
            raise ValueError(f"TrainConfig.modality_dropout must be in [0, 1), got {self.modality_dropout!r}")
        if not (np.isfinite(self.align) and self.align >= 0):
            raise ValueError(f"TrainConfig.align must be a finite number >= 0, got {self.align!r}")
        if (self.modality_dropout or self.align) and (self.model != "mmae" or self.engine != "stacked"
                                                      or self.fusion != "mean"):
            raise ValueError("TrainConfig.modality_dropout and align apply to the MMAE with fusion='mean' and "
                             f"engine='stacked', got model={self.model!r}, fusion={self.fusion!r}, engine={self.engine!r}")
        object.__setattr__(self, "hidden", tuple(int(w) for w in self.hidden))
