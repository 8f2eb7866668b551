"""Checkpoints: one schema for a single run and for S seeds trained together, loadable with
``torch.load(path, weights_only=True)`` (no pickled code), and the load-or-train rule.

A checkpoint is a dict::

    format        "mmae-checkpoint/3"
    key           run key: code, data fingerprint, training config and seeds (mmae.artifacts.run_key)
    model         the objective's name ("mmae", "mvae", "mvae_cross", "contrastive")
    model_config  the model's constructor arguments: mmae.models.MODELS[model](**model_config)
    train_config  dataclasses.asdict(TrainConfig): model, architecture, knobs, optim, runtime
    seeds         [s_1, ..., s_S]
    state_dicts   one state dict per seed (CPU tensors)
    histories     one per-epoch history per seed (DataFrame.to_dict(orient="list"))
    data          {"name", "fingerprint", "synthetic"} of the training data
    torch_version the torch that wrote it
    latents       (written by save_run) {file name: sha256} of the latents written with it

Every file is written atomically (:mod:`mmae.atomic`). A run's files are one unit: :func:`save_run`
writes the latents and the checkpoint, which names their hashes (:func:`latents_match`), to
temporary files and renames them only once all are whole, the checkpoint last
(:func:`mmae.atomic.together`): a full disk leaves the previous run's files as they were. While training, a resume state is kept beside the checkpoint
(``<name>.resume.pt``, :mod:`mmae.training.resume`) and removed once the checkpoint is written,
so a killed run continues where it stopped; a failed one (non-finite loss) leaves nothing behind.
"""
from __future__ import annotations

import pickle
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmae.artifacts import checkpoint_path, display_path, latents_path, resolve_dir, writable_dir
from mmae.atomic import save_torch, together, writing
from mmae.folders import folder_lock
from mmae.data import Features, sha256_file
from mmae.device import pick_device
from mmae.models import MODELS
from mmae.rules import is_int
from mmae.training.config import TrainConfig, evolve
from mmae.training.loop import encode, run_id, train, train_seeds
from mmae.training.resume import one_line

FORMAT = "mmae-checkpoint/3"  # 3: train_config holds the parts of TrainConfig (knobs, optim, runtime)


def checkpoint(models: list, histories: list[pd.DataFrame], cfg: TrainConfig, seeds: list[int],
               features: Features, latents: dict[str, str] | None = None) -> dict:
    """The checkpoint of the models trained with ``seeds`` (one per seed), in the schema above;
    ``latents`` ({file name: sha256}) names the latents files that belong to them."""
    return {
        "format": FORMAT, "key": run_id(features, cfg, seeds), "model": cfg.model,
        "model_config": models[0].config, "train_config": asdict(cfg), "seeds": list(seeds),
        "state_dicts": [{k: v.cpu() for k, v in m.state_dict().items()} for m in models],
        "histories": [h.to_dict(orient="list") for h in histories],
        "data": {"name": features.name, "fingerprint": features.fingerprint(), "synthetic": features.synthetic},
        "torch_version": str(torch.__version__),
    } | ({"latents": dict(latents)} if latents is not None else {})


def save_checkpoint(path: str | Path, models: list, histories: list[pd.DataFrame], cfg: TrainConfig,
                    seeds: list[int], features: Features, latents: dict[str, str] | None = None) -> Path:
    """Write :func:`checkpoint` to ``path``, atomically."""
    return save_torch(checkpoint(models, histories, cfg, seeds, features, latents), path)


def load_checkpoint(path: str | Path, device: str = "auto") -> tuple[list, dict]:
    """The models of a checkpoint (eval mode, on ``device``), one per seed, and the whole dict."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist (run notebooks/03_train first)")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    models = []
    for state in ckpt["state_dicts"]:
        model = MODELS[ckpt["model"]].cls(**ckpt["model_config"])
        model.load_state_dict(state)
        models.append(model.to(pick_device(device)).eval())
    return models, ckpt


def cached(path: Path, device: str, key: str) -> tuple[list, dict] | None:
    """The models and checkpoint at ``path`` when it holds the run ``key``; else None, said in one
    line (absent: nothing; unreadable: a warning naming the file; another run's: why)."""
    if not path.exists():
        return None
    try:
        models, ckpt = load_checkpoint(path, device)
    except (OSError, RuntimeError, EOFError, ValueError, KeyError, TypeError, pickle.UnpicklingError) as e:
        warnings.warn(f"{display_path(path)} is unreadable ({one_line(e)}): training again.", stacklevel=3)
        return None
    if ckpt.get("key") != key:
        print(f"{path.name} was trained with other code, data or parameters: training again.")
        return None
    return models, ckpt


def holds(path: str | Path, key: str) -> bool:
    """Whether the checkpoint at ``path`` is whole and holds the run ``key`` (nothing is built or
    said: :func:`cached` loads it and says why not)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True).get("key") == key
    except (OSError, RuntimeError, EOFError, ValueError, AttributeError, pickle.UnpicklingError):
        return False


def resume_path_of(path: str | Path) -> Path:
    """Where the resume state of the checkpoint ``path`` is kept while it trains: ``<name>.resume.pt``."""
    return Path(path).with_suffix(".resume.pt")


def load_or_train_seeds(features: Features, cfg: TrainConfig, seeds: list[int], path: str | Path,
                        progress: bool = True, resume: bool = True, save_every: int = 10
                        ) -> tuple[list, list[pd.DataFrame]]:
    """The models at ``path`` when their run key matches (this code, these data, ``cfg`` and
    ``seeds``), else trained with :func:`mmae.training.train_seeds` and saved there.

    An unreadable checkpoint is reported and trained again. With ``resume``, training keeps a
    resume state every ``save_every`` epochs (:func:`resume_path_of`) and continues from one of
    the same run; it is removed once the checkpoint is written. Nothing is written when training
    fails (a ``FloatingPointError`` for a non-finite loss).
    """
    path = Path(path)
    key = run_id(features, cfg, seeds)
    found = cached(path, cfg.runtime.device, key)
    if found is not None:
        print(f"Loaded {path.name}: trained by this code on these data with these parameters.")
        return found[0], [pd.DataFrame(h) for h in found[1]["histories"]]
    resume_path = resume_path_of(path) if resume else None
    models, histories = train_seeds(features, cfg, list(seeds), progress, resume_path=resume_path,
                                    save_every=save_every, key=key)
    save_checkpoint(path, models, histories, cfg, seeds, features)
    if resume_path is not None:
        resume_path.unlink(missing_ok=True)
    return models, histories


def save_run(model, cfg: TrainConfig, history: pd.DataFrame, features: Features, artifacts_dir: str | Path) -> Path:
    """Write ``latents_z{latent_dim}_{split}.npy`` and ``mmae_z{latent_dim}.pt`` (one seed,
    ``cfg.optim.seed``), which records their sha256, committed together (:func:`mmae.atomic.together`):
    a full disk or a kill while they are written leaves the previous run's files whole, and the
    checkpoint, renamed last, never claims latents it does not own."""
    folder = resolve_dir(artifacts_dir)
    files = [latents_path(folder, cfg.latent_dim, split) for split in features.splits]
    files.append(checkpoint_path(folder, cfg.latent_dim))
    hashes = {}
    with together(files) as tmps:
        for split, tmp, target in zip(features.splits, tmps, files):
            with writing(target), open(tmp, "wb") as f:
                np.save(f, encode(model, features.x[split]))
            hashes[target.name] = sha256_file(tmp)
        with writing(files[-1]), open(tmps[-1], "wb") as f:
            torch.save(checkpoint([model], [history], cfg, [cfg.optim.seed], features, latents=hashes), f)
    return files[-1]


def latents_match(ckpt: dict, folder: str | Path) -> bool:
    """True when every latents file the checkpoint ``ckpt`` names is in ``folder`` with the sha256
    it records (False for a checkpoint that names none)."""
    recorded = ckpt.get("latents")
    if not isinstance(recorded, dict) or not recorded:
        return False
    return all((Path(folder) / name).is_file() and sha256_file(Path(folder) / name) == sha
               for name, sha in recorded.items())


def load_or_train(features: Features, cfg: TrainConfig, artifacts_dir: str | Path, progress: bool = True,
                  resume: bool = True, save_every: int = 10, n_seeds: int = 1):
    """The run 03_train wrote for exactly this code, data and config (model, history); else train
    it and write it as :func:`save_run` does. A checkpoint whose run key differs is never reused;
    an unreadable one is trained again; latents that are not the checkpoint's (:func:`latents_match`)
    are written again from its model. ``resume`` and ``save_every`` as in :func:`load_or_train_seeds`.

    ``n_seeds`` > 1 also trains the seeds ``cfg.optim.seed + 1, ...`` together with ``cfg.optim.seed`` and
    writes each run to ``artifacts_dir/seed{s}/`` (what chapter 13's sweep reads); the run of
    ``cfg.optim.seed`` is returned and written to ``artifacts_dir`` too. They are loaded when every
    folder holds its run."""
    if not is_int(n_seeds) or n_seeds < 1:
        raise ValueError(f"n_seeds must be a positive int, got {n_seeds!r}")
    folder = writable_dir(artifacts_dir)
    with folder_lock(folder):  # one writer per artifacts_dir: a concurrent run waits for this one
        if n_seeds == 1:
            return _load_or_train(features, cfg, folder, progress, resume, save_every)
        seeds = list(range(cfg.optim.seed, cfg.optim.seed + n_seeds))
        found = [cached(checkpoint_path(folder / f"seed{s}", cfg.latent_dim), cfg.runtime.device,
                          run_id(features, evolve(cfg, seed=s), [s])) for s in seeds]
        if all(c is not None for c in found) and cached(checkpoint_path(folder, cfg.latent_dim), cfg.runtime.device,
                                                          run_id(features, cfg, [cfg.optim.seed])) is not None:
            print(f"Loaded the runs of seeds {seeds}: trained by this code on these data with this config.")
            return found[0][0][0], pd.DataFrame(found[0][1]["histories"][0])
        models, histories = train_seeds(features, cfg, seeds, progress)
        for s, model, history in zip(seeds, models, histories):
            save_run(model, evolve(cfg, seed=s), history, features, folder / f"seed{s}")
        save_run(models[0], cfg, histories[0], features, folder)
        return models[0], histories[0]


def _load_or_train(features, cfg, folder, progress, resume, save_every):
    path = checkpoint_path(folder, cfg.latent_dim)
    key = run_id(features, cfg, [cfg.optim.seed])
    found = cached(path, cfg.runtime.device, key)
    if found is not None:
        (model,), ckpt = found
        history = pd.DataFrame(ckpt["histories"][0])
        if latents_match(ckpt, folder):
            print(f"Loaded {path.name}: trained by this code on these data with this config.")
        else:
            print(f"Loaded {path.name}, but the latents beside it are not its own: writing them again from its model.")
            save_run(model, cfg, history, features, folder)
        return model, history
    resume_path = resume_path_of(path) if resume else None
    model, history = train(features, cfg, progress, resume_path=resume_path, save_every=save_every, key=key)
    save_run(model, cfg, history, features, folder)
    if resume_path is not None:
        resume_path.unlink(missing_ok=True)
    return model, history
