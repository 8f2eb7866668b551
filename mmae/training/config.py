"""The configuration of a training run: one frozen dataclass, validated at construction."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from mmae.device import pick_device
from mmae.models import MODELS


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run; defaults are the paper's (Sec. IV-C, IV-D).

    Frozen and validated at construction: derive another with :func:`dataclasses.replace`.
    Architecture: ``latent_dim``, ``hidden``, ``fusion``, ``model``. Objective: ``loss_weights``,
    ``beta``, ``temperature``, ``modality_dropout``, ``align``. Optimisation: ``epochs``,
    ``batch_size``, ``lr``, ``seed``. Runtime: ``device``, ``compile``.
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
    model: str = "mmae"  # or a comparator of mmae.models: "mvae", "mvae_cross", "contrastive"
    beta: float = 1.0  # weight of the MVAE's KL term
    temperature: float = 0.1  # InfoNCE temperature of the contrastive model
    modality_dropout: float = 0.0  # MMAE: probability of leaving a modality out of a training row's z
    align: float = 0.0  # MMAE: lambda of the alignment penalty lambda * sum_m ||E_m(x_m) - z||^2 (Eq. 1)
    compile: bool = False  # torch.compile the training step (CUDA graphs on a GPU)

    def __post_init__(self):
        for name in ("latent_dim", "epochs", "batch_size"):
            value = getattr(self, name)
            if not is_int(value) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive int, got {value!r}")
        if not is_int(self.seed):
            raise ValueError(f"TrainConfig.seed must be an int, got {self.seed!r}")
        if isinstance(self.hidden, (str, bytes)) or not all(is_int(w) and w >= 1 for w in self.hidden):
            raise ValueError(f"TrainConfig.hidden must be a sequence of positive ints, got {self.hidden!r}")
        for name in ("lr", "temperature"):
            if not (is_finite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"TrainConfig.{name} must be a finite number > 0, got {getattr(self, name)!r}")
        if not (is_finite(self.beta) and self.beta >= 0):
            raise ValueError(f"TrainConfig.beta must be a finite number >= 0, got {self.beta!r}")
        if self.loss_weights is not None:
            if not isinstance(self.loss_weights, Mapping):
                raise ValueError(f"TrainConfig.loss_weights must be None or a dict of modality to weight, "
                                 f"got {self.loss_weights!r}")
            for m, w in self.loss_weights.items():
                if not (is_finite(w) and w >= 0):
                    raise ValueError(f"TrainConfig.loss_weights[{m!r}] must be a finite number >= 0, got {w!r}")
        if self.model not in MODELS:
            raise ValueError(f"TrainConfig.model must be one of {tuple(MODELS)}, got {self.model!r}")
        if not (is_finite(self.modality_dropout) and 0 <= self.modality_dropout < 1):
            raise ValueError(f"TrainConfig.modality_dropout must be in [0, 1), got {self.modality_dropout!r}")
        if not (is_finite(self.align) and self.align >= 0):
            raise ValueError(f"TrainConfig.align must be a finite number >= 0, got {self.align!r}")
        if (self.modality_dropout or self.align) and (self.model != "mmae" or self.fusion != "mean"):
            raise ValueError("TrainConfig.modality_dropout and align apply to the MMAE with fusion='mean', "
                             f"got model={self.model!r}, fusion={self.fusion!r}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"TrainConfig.compile must be True or False, got {self.compile!r}")
        object.__setattr__(self, "hidden", tuple(int(w) for w in self.hidden))


def is_int(value) -> bool:
    """True for an int (NumPy's too), False for a bool: ``True`` is no epoch count."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_finite(value) -> bool:
    """True for a finite real number (int or float, NumPy's too), False for a bool, NaN or inf."""
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
            and bool(np.isfinite(value)))


def check_modalities(cfg: TrainConfig, modalities) -> None:
    """Raise a ``ValueError`` naming the keys of ``cfg.loss_weights`` that are not ``modalities``
    (the data's): a misspelt weight would otherwise be ignored silently."""
    unknown = sorted(set(cfg.loss_weights or {}) - set(modalities))
    if unknown:
        raise ValueError(f"TrainConfig.loss_weights names {unknown}, which are not modalities of the data "
                         f"{tuple(modalities)}")


def run_params(cfg: TrainConfig) -> dict:
    """The parameters that define a run (the device type included: results differ by device)."""
    return asdict(cfg) | {"device": pick_device(cfg.device).type}
