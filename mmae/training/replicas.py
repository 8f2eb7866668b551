"""Objective parameters that differ between the replicas of one stacked run: a tuning grid
(:mod:`mmae.study.tuning`) trains all its values together, one replica each, instead of one run
per value (measured on the LUMA-shaped set, 2 epochs on 2 cores: 3 contrastive temperatures in
26 s together against 96 s one after another; 3 MVAE betas in 54 s against 179 s)."""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from mmae.training.config import TrainConfig

PER_REPLICA = {"beta": "beta", "temperature": "temperature", "modality_dropout": "dropout", "align": "align"}
"""The ``TrainConfig`` fields that may differ between the replicas of one run, and their names in
:func:`mmae.training.stacked.objective`."""


def replica_values(cfg: TrainConfig, S: int, values: dict[str, list[float]] | None, device) -> dict:
    """The objective's parameters: ``cfg``'s floats, or for a field of ``values`` one value per
    replica as a tensor shaped to broadcast against the replica axis (S, 1, 1)."""
    out = {name: getattr(cfg, field) for field, name in PER_REPLICA.items()}
    for field, vals in (values or {}).items():
        if field not in PER_REPLICA:
            raise ValueError(f"values: {field!r} cannot differ between replicas; expected any of {tuple(PER_REPLICA)}")
        if len(vals) != S:
            raise ValueError(f"values[{field!r}] must hold one value per replica ({S}), got {len(vals)}")
        for v in vals:
            replace(cfg, **{field: v})  # each value passes TrainConfig's checks
        out[PER_REPLICA[field]] = torch.tensor([float(v) for v in vals], device=device).view(S, 1, 1)
    return out


def positive(v) -> bool:
    """Whether a parameter of :func:`replica_values` is > 0 for some replica."""
    return bool((v > 0).any()) if isinstance(v, Tensor) else v > 0


def per_replica(v, shape_of: Tensor):
    """A parameter of :func:`replica_values` shaped like the replica-major ``shape_of`` (S, ...)."""
    return v.view(-1, *[1] * (shape_of.dim() - 1)) if isinstance(v, Tensor) else v
