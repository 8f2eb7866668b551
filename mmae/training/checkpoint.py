"""Checkpoints: one schema for a single run and for S seeds trained together, loadable with
``torch.load(path, weights_only=True)`` (no pickled code), and the load-or-train rule.

A checkpoint is a dict::

    format        "mmae-checkpoint/2"
    key           run key: code, data fingerprint, training config and seeds (mmae.artifacts.run_key)
    model         the objective's name ("mmae", "mvae", "mvae_cross", "contrastive")
    model_config  the model's constructor arguments: mmae.models.MODELS[model](**model_config)
    train_config  dataclasses.asdict(TrainConfig)
    seeds         [s_1, ..., s_S]
    state_dicts   one state dict per seed (CPU tensors)
    histories     one per-epoch history per seed (DataFrame.to_dict(orient="list"))
    data          {"name", "fingerprint", "synthetic"} of the training data
    torch_version the torch that wrote it
"""
from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmae.artifacts import checkpoint_path, latents_path, resolve_dir, run_key
from mmae.data import Features
from mmae.device import pick_device
from mmae.models import MODELS
from mmae.training.config import TrainConfig
from mmae.training.loop import encode, train, train_seeds

FORMAT = "mmae-checkpoint/2"


def run_params(cfg: TrainConfig) -> dict:
    """The parameters that define a run (the device type included: results differ by device)."""
    return asdict(cfg) | {"device": pick_device(cfg.device).type}


def run_id(features: Features, cfg: TrainConfig, seeds: list[int]) -> str:
    """The run key of ``cfg`` trained with ``seeds`` on ``features``."""
    return run_key(features.fingerprint(), run_params(cfg) | {"seeds": list(seeds)})


def save_checkpoint(path: str | Path, models: list, histories: list[pd.DataFrame], cfg: TrainConfig,
                    seeds: list[int], features: Features) -> Path:
    """Write the models trained with ``seeds`` (one per seed) in the schema above."""
    path = Path(path)
    torch.save({
        "format": FORMAT, "key": run_id(features, cfg, seeds), "model": cfg.model,
        "model_config": models[0].config, "train_config": asdict(cfg), "seeds": list(seeds),
        "state_dicts": [{k: v.cpu() for k, v in m.state_dict().items()} for m in models],
        "histories": [h.to_dict(orient="list") for h in histories],
        "data": {"name": features.name, "fingerprint": features.fingerprint(), "synthetic": features.synthetic},
        "torch_version": str(torch.__version__),
    }, path)
    return path


def load_checkpoint(path: str | Path, device: str = "auto") -> tuple[list, dict]:
    """The models of a checkpoint (eval mode, on ``device``), one per seed, and the whole dict."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist (run notebooks/03_train first)")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    models = []
    for state in ckpt["state_dicts"]:
        model = MODELS[ckpt["model"]](**ckpt["model_config"])
        model.load_state_dict(state)
        models.append(model.to(pick_device(device)).eval())
    return models, ckpt


def fit(features: Features, cfg: TrainConfig, seeds: list[int], progress: bool = True) -> tuple[list, list]:
    """Train one model per seed: one seed with ``cfg.engine="reference"`` runs the plain loop,
    anything else the stacked engine, all seeds together."""
    if cfg.engine == "reference" and len(seeds) == 1:
        model, history = train(features, replace(cfg, seed=seeds[0]), progress)
        return [model], [history]
    return train_seeds(features, cfg, list(seeds), progress)


def load_or_train_seeds(features: Features, cfg: TrainConfig, seeds: list[int], path: str | Path,
                        progress: bool = True) -> tuple[list, list[pd.DataFrame]]:
    """The models at ``path`` when their run key matches (this code, these data, ``cfg`` and
    ``seeds``), else trained with :func:`fit` and saved there."""
    path = Path(path)
    if path.exists():
        models, ckpt = load_checkpoint(path, cfg.device)
        if ckpt.get("key") == run_id(features, cfg, seeds):
            print(f"Loaded {path.name}: trained by this code on these data with these parameters.")
            return models, [pd.DataFrame(h) for h in ckpt["histories"]]
        print(f"{path.name} was trained with other code, data or parameters: training again.")
    models, histories = fit(features, cfg, seeds, progress)
    save_checkpoint(path, models, histories, cfg, seeds, features)
    return models, histories


def save_run(model, cfg: TrainConfig, history: pd.DataFrame, features: Features, artifacts_dir: str | Path) -> Path:
    """Write ``mmae_z{latent_dim}.pt`` (one seed, ``cfg.seed``) and ``latents_z{latent_dim}_{split}.npy``."""
    folder = resolve_dir(artifacts_dir)
    path = save_checkpoint(checkpoint_path(folder, cfg.latent_dim), [model], [history], cfg, [cfg.seed], features)
    for split in features.splits:
        np.save(latents_path(folder, cfg.latent_dim, split), encode(model, features.x[split]))
    return path


def load_or_train(features: Features, cfg: TrainConfig, artifacts_dir: str | Path, progress: bool = True):
    """The run 03_train wrote for exactly this code, data and config (model, history); else train
    it and write it as :func:`save_run` does. A checkpoint whose run key differs is never reused."""
    path = checkpoint_path(resolve_dir(artifacts_dir), cfg.latent_dim)
    if path.exists():
        models, ckpt = load_checkpoint(path, cfg.device)
        if ckpt.get("key") == run_id(features, cfg, [cfg.seed]):
            print(f"Loaded {path.name}: trained by this code on these data with this config.")
            return models[0], pd.DataFrame(ckpt["histories"][0])
        print(f"{path.name} was trained with other code, data or parameters: training again.")
    model, history = train(features, cfg, progress)
    save_run(model, cfg, history, features, artifacts_dir)
    return model, history
