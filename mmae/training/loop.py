"""Training loops (paper Sec. IV-D: Adam 1e-3, batch 128, 100 epochs, MSE, seed 42) and encoding.

:func:`train_reference` is the plain PyTorch loop, the readable specification; :func:`train_seeds`
trains one model per seed together with the fast engine (:mod:`mmae.training.stacked`), which
follows the same trajectory; :func:`train` picks one by ``cfg.engine``.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from mmae.data import Features
from mmae.device import pick_device
from mmae.models import MMAE, build_model, reconstruction_loss
from mmae.progress import bar
from mmae.training.config import TrainConfig, check_modalities
from mmae.training.resume import Run


def to_tensors(x: dict[str, np.ndarray], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """NumPy features of one split -> float32 tensors on ``device``, keyed by modality."""
    return {m: torch.as_tensor(a, dtype=torch.float32, device=device) for m, a in x.items()}


@torch.no_grad()
def evaluate_loss(model: MMAE, x: dict[str, torch.Tensor], batch_size: int = 4096) -> dict[str, float]:
    """Reconstruction loss of ``model`` (eval mode) on a whole split: total and per modality."""
    model.eval()
    n = next(iter(x.values())).shape[0]
    sums = dict.fromkeys(x, 0.0)
    for i in range(0, n, batch_size):
        xb = {m: a[i:i + batch_size] for m, a in x.items()}
        _, per = reconstruction_loss(xb, model(xb)[1])
        for m, v in per.items():
            sums[m] += float(v) * len(xb[m])
    per = {m: s / n for m, s in sums.items()}
    return {"loss": sum(per.values()), **{f"loss_{m}": v for m, v in per.items()}}


def train(features: Features, cfg: TrainConfig | None = None, progress: bool = True, *, resume_path=None,
          save_every: int = 10, key: str | None = None) -> tuple[MMAE, pd.DataFrame]:
    """Train an MMAE on ``features.x["train"]`` (standardise the features first).

    ``cfg.engine`` picks the implementation: ``"stacked"`` (default, :mod:`mmae.training.stacked`, fast)
    or ``"reference"`` (:func:`train_reference`, the plain loop); both follow the same trajectory.
    ``resume_path``, ``save_every`` and ``key`` are those of :func:`train_reference`.

    Returns
    -------
    model : MMAE
        The trained model, in eval mode, on the chosen device.
    history : pandas.DataFrame
        One row per epoch: train loss (total and per modality, averaged over rows), the same on
        the test split when present (``test_`` prefix), and seconds per epoch.

    Raises
    ------
    FloatingPointError
        A training loss or the weights became non-finite (the message names the epoch and batch).
    """
    cfg = cfg or TrainConfig()
    resume = {"resume_path": resume_path, "save_every": save_every, "key": key}
    if cfg.engine == "reference":
        return train_reference(features, cfg, progress, **resume)
    models, histories = train_seeds(features, cfg, [cfg.seed], progress, **resume)
    return models[0], histories[0]


def _key(features: Features, cfg: TrainConfig, seeds: list[int], resume_path, key: str | None) -> str | None:
    """The run key a resume state is filed under: ``key``, else the run's own (with a resume path)."""
    if key is None and resume_path is not None:
        from mmae.training.checkpoint import run_id  # checkpoint imports this module

        key = run_id(features, cfg, seeds)
    return key


def train_seeds(features: Features, cfg: TrainConfig, seeds: list[int], progress: bool = True, *,
                resume_path=None, save_every: int = 10, key: str | None = None,
                values: dict[str, list[float]] | None = None) -> tuple[list[torch.nn.Module], list[pd.DataFrame]]:
    """Train one model of ``cfg.model`` per seed, all together in one vectorised model
    (:mod:`mmae.training.stacked`).

    For the MMAE, model ``s`` is what ``train(features, replace(cfg, seed=seeds[s]))`` gives, up
    to floating-point reassociation. ``cfg.seed`` is ignored.

    Parameters
    ----------
    features : Features
    cfg : TrainConfig
    seeds : list of int
    progress : bool
        Show a progress bar.
    resume_path : Path, optional
        Keep a resume state there every ``save_every`` epochs and after the last, and continue
        from it when it holds this run (:mod:`mmae.training.resume`).
    save_every : int
    key : str, optional
        The run key the resume state is filed under; default :func:`mmae.training.run_id`.
    values : dict of str to list of float, optional
        Objective parameters that differ between the models, one value per seed (a tuning grid
        trained together; see :func:`mmae.training.stacked.train_stacked`).

    Returns
    -------
    models : list of torch.nn.Module
    histories : list of pandas.DataFrame
        One model and one history per seed, as :func:`mmae.training.stacked.train_stacked` returns.
    """
    from mmae.training.stacked import train_stacked  # the engine imports this module's helpers

    if len(seeds) < 1:
        raise ValueError(f"seeds must hold at least one seed, got {seeds!r}")
    if values and resume_path is not None and key is None:
        raise ValueError("train_seeds: values with a resume_path need a key that covers them")
    check_modalities(cfg, features.modalities)
    device = pick_device(cfg.device)
    models = []
    for seed in seeds:  # the same initialisation as the reference trainer, seed by seed
        torch.manual_seed(seed)
        models.append(build_model(cfg.model, features.dims, cfg.latent_dim, cfg.hidden, cfg.fusion))
    x_test = to_tensors(features.x["test"], device) if "test" in features.x else None
    return train_stacked(to_tensors(features.x["train"], device), models, list(seeds), cfg, x_test, progress,
                         resume_path=resume_path, save_every=save_every,
                         key=_key(features, cfg, list(seeds), resume_path, key), values=values)


def train_reference(features: Features, cfg: TrainConfig | None = None, progress: bool = True, *,
                    resume_path=None, save_every: int = 10, key: str | None = None) -> tuple[MMAE, pd.DataFrame]:
    """The plain PyTorch loop: the readable specification the fast engine is tested against.

    The data stay on the device as tensors; each epoch visits them in the order of a
    ``torch.randperm`` drawn from a CPU generator seeded with ``cfg.seed`` (so the order is the
    same on every device), in batches of ``cfg.batch_size`` with the last partial batch kept, as
    a ``DataLoader(shuffle=True)`` would. Returns what :func:`train` returns. With ``resume_path``,
    a resume state is kept there every ``save_every`` epochs and after the last, filed under
    ``key`` (default: the run key of ``cfg``), and the run continues from it when it holds this run.
    A non-finite training loss stops training with a ``FloatingPointError`` (:mod:`mmae.training.resume`).
    """
    cfg = cfg or TrainConfig()
    check_modalities(cfg, features.modalities)
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = MMAE(features.dims, cfg.latent_dim, cfg.hidden, cfg.fusion).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    x = to_tensors(features.x["train"], device)
    x_test = to_tensors(features.x["test"], device) if "test" in features.x else None
    n = len(features.y["train"])
    order = torch.Generator().manual_seed(cfg.seed)
    run = Run(cfg, [cfg.seed], "reference", model, opt, [order], x, resume_path,
              _key(features, cfg, [cfg.seed], resume_path, key), save_every)
    start, rows = run.start([])
    for epoch in bar(range(start + 1, cfg.epochs + 1), desc="epochs", show=progress, mininterval=2,
                     initial=start, total=cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=order).to(device)
        sums = torch.zeros(len(x), device=device)  # per-modality sums of batch MSE x rows
        losses = []  # checked once per epoch
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            xb = {m: a[idx] for m, a in x.items()}
            loss, per = reconstruction_loss(xb, model(xb)[1], cfg.loss_weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
            sums += torch.stack([v.detach() for v in per.values()]) * len(idx)
        run.check(epoch, torch.stack(losses))
        per_epoch = dict(zip(x, (sums / n).tolist()))
        row = {"epoch": epoch, "loss": sum(per_epoch.values()),
               **{f"loss_{m}": v for m, v in per_epoch.items()}}
        if x_test is not None:
            row |= {f"test_{k}": v for k, v in evaluate_loss(model, x_test).items()}
        rows.append(row | {"seconds": time.perf_counter() - t0})
        run.save(epoch, rows)
    model.eval()
    return model, pd.DataFrame(rows)


@torch.no_grad()
def encode(model: MMAE, x: dict[str, np.ndarray], each: bool = False, batch_size: int = 4096):
    """Latents of a split: fused z (n, latent_dim), or with ``each=True`` a dict of per-modality
    encodings E_m(x_m) (the points of the paper's Fig. 5). Any subset of modalities may be given."""
    model.eval()
    device = next(model.parameters()).device
    t = to_tensors(x, device)
    n = next(iter(t.values())).shape[0]
    chunks = []
    for i in range(0, n, batch_size):
        xb = {m: a[i:i + batch_size] for m, a in t.items()}
        chunks.append(model.encode_each(xb) if each else model.encode(xb))
    if each:
        return {m: torch.cat([c[m] for c in chunks]).cpu().numpy() for m in t}
    return torch.cat(chunks).cpu().numpy()


