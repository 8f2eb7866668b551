"""The knobs of a model's loss, and those that differ between the models of one run: a tuning grid
(:mod:`mmae.study.tuning`) trains all its values together, one model each, instead of one run
per value (measured on the LUMA-shaped set, 2 epochs on 2 cores: 3 contrastive temperatures in
26 s together against 96 s one after another; 3 MVAE betas in 54 s against 179 s)."""
from __future__ import annotations

from dataclasses import fields, replace

import torch

from mmae.training.config import TrainConfig


def knobs(cfg: TrainConfig, S: int, values: dict[str, list[float]] | None, device) -> tuple[dict, dict]:
    """The keywords of ``MODELS[cfg.model].loss``: ``fixed``, ``cfg.knobs``' values shared by
    every model, and ``varying``, for each field of ``values`` one value per model as an (S,)
    tensor on ``device``. Each value passes the knobs' own checks."""
    names = [f.name for f in fields(cfg.knobs)]
    fixed, varying = {k: getattr(cfg.knobs, k) for k in names}, {}
    for field, vals in (values or {}).items():
        allowed = tuple(k for k in names if k != "loss_weights")
        if field not in allowed:
            raise ValueError(f"values: {field!r} cannot differ between the models of one {cfg.model} run; "
                             f"expected any of {allowed}")
        if isinstance(vals, (str, bytes)) or len(vals) != S:
            raise ValueError(f"values[{field!r}] must hold one value per model ({S}), got {vals!r}")
        for v in vals:
            replace(cfg.knobs, **{field: v})
        varying[field] = torch.tensor([float(v) for v in vals], device=device)
        del fixed[field]
    return fixed, varying
