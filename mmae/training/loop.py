"""The trainer (paper Sec. IV-D: Adam 1e-3, batch 128, 100 epochs, seed 42) and encoding.

One loop trains any model of :data:`mmae.models.MODELS` on its own ``loss``. One seed trains the
module itself; several seeds train together as an :class:`mmae.training.ensemble.Ensemble`, the
same module's code mapped over stacked weights with ``torch.func.vmap``. Replica ``s`` follows
the trajectory of the run of ``seeds[s]`` alone, up to floating-point reassociation.
"""
from __future__ import annotations

import time
from functools import partial

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from mmae.artifacts import run_key
from mmae.data import Features
from mmae.device import pick_device
from mmae.models import MODELS, build_model
from mmae.progress import bar
from mmae.training.config import TrainConfig, check_modalities, run_params
from mmae.training.ensemble import Ensemble, stack_args
from mmae.training.replicas import knobs
from mmae.training.resume import Run

NOISE_SEED = 1_000_003
"""The generator of a replica's random draws (dropout, reparameterisation) is seeded with its seed
plus this, so its stream is not the one its data order is drawn from."""


def to_tensors(x: dict[str, np.ndarray], device: torch.device | str = "cpu") -> dict[str, Tensor]:
    """NumPy features of one split -> float32 tensors on ``device``, keyed by modality."""
    return {m: torch.as_tensor(a, dtype=torch.float32, device=device) for m, a in x.items()}


def run_id(features: Features, cfg: TrainConfig, seeds: list[int]) -> str:
    """The run key of ``cfg`` trained with ``seeds`` on ``features``."""
    return run_key(features.fingerprint(), run_params(cfg) | {"seeds": list(seeds)})


def train(features: Features, cfg: TrainConfig | None = None, progress: bool = True, **resume
          ) -> tuple[nn.Module, pd.DataFrame]:
    """Train one model of ``cfg.model`` with ``cfg.optim.seed`` on ``features.x["train"]``
    (standardise the features first): :func:`train_seeds` with one seed. Returns the model (eval
    mode, on the training device) and its history."""
    cfg = cfg or TrainConfig()
    models, histories = train_seeds(features, cfg, [cfg.optim.seed], progress, **resume)
    return models[0], histories[0]


def train_seeds(features: Features, cfg: TrainConfig, seeds: list[int], progress: bool = True, *,
                resume_path=None, save_every: int = 10, key: str | None = None,
                values: dict[str, list[float]] | None = None) -> tuple[list[nn.Module], list[pd.DataFrame]]:
    """Train one model of ``cfg.model`` per seed, all together (``cfg.optim.seed`` is not used).

    Parameters
    ----------
    features : Features
    cfg : TrainConfig
    seeds : list of int
        Model ``s`` is initialised after ``torch.manual_seed(seeds[s])`` and sees the data in the
        order of its own generator seeded with ``seeds[s]``.
    progress : bool
        Show a progress bar.
    resume_path : Path, optional
        Keep a resume state there every ``save_every`` epochs and after the last, and continue
        from it when it holds this run (:mod:`mmae.training.resume`).
    save_every : int
    key : str, optional
        The run key the resume state is filed under; default :func:`run_id`.
    values : dict of str to list of float, optional
        Knobs of the model's loss that differ between the models, one value per seed, in place
        of ``cfg``'s (a tuning grid trained together; :func:`mmae.training.replicas.knobs`).

    Returns
    -------
    models : list of torch.nn.Module
        The trained models, eval mode, on the training device.
    histories : list of pandas.DataFrame
        One per model: per epoch the loss's logged parts (averaged over rows), those of the test
        split in eval mode when it has any (``test_`` prefix), and seconds.

    Raises
    ------
    FloatingPointError
        At the end of the first epoch with a non-finite training loss (naming it), or when the
        weights are not finite; the resume state of this run is then removed.
    """
    if isinstance(seeds, (str, bytes)) or len(seeds) < 1:
        raise ValueError(f"seeds must hold at least one seed, got {seeds!r}")
    if values and resume_path is not None and key is None:
        raise ValueError("train_seeds: values with a resume_path need a key that covers them")
    check_modalities(cfg, features.modalities)
    device = pick_device(cfg.runtime.device)
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(build_model(cfg.model, features.dims, cfg.latent_dim, cfg.hidden, cfg.fusion))
    x_test = to_tensors(features.x["test"], device) if "test" in features.x else None
    if key is None and resume_path is not None:
        key = run_id(features, cfg, list(seeds))
    return fit(models, list(seeds), cfg, to_tensors(features.x["train"], device), x_test, progress,
               resume_path=resume_path, save_every=save_every, key=key, values=values)


def batches(n: int, batch_size: int) -> list[slice]:
    """The mini-batches of an epoch over ``n`` rows in order: ``batch_size`` rows each, and a last
    batch of one row joins the batch before it (BatchNorm cannot normalise one row), in every
    trainer alike.

    Examples
    --------
    >>> batches(5, 2)
    [slice(0, 2, None), slice(2, 5, None)]
    """
    if n < 2:
        raise ValueError(f"the train split must hold at least 2 rows (BatchNorm normalises a batch), got {n}")
    starts = list(range(0, n, batch_size))
    if n - starts[-1] == 1 and len(starts) > 1:
        starts.pop()
    return [slice(i, j) for i, j in zip(starts, starts[1:] + [n])]


def fit(models: list[nn.Module], seeds: list[int], cfg: TrainConfig, x: dict[str, Tensor],
        x_test: dict[str, Tensor] | None = None, progress: bool = True, *, resume_path=None,
        save_every: int = 10, key: str | None = None, values=None) -> tuple[list[nn.Module], list[pd.DataFrame]]:
    """The training loop of :func:`train_seeds` on tensors ``x`` (n, d_m) already on the device:
    ``models`` freshly initialised, one per seed, trained on ``MODELS[cfg.model].loss``."""
    spec, S, n, epochs = MODELS[cfg.model], len(models), len(next(iter(x.values()))), cfg.optim.epochs
    device, compile_ = next(iter(x.values())).device, cfg.runtime.compile
    net = models[0].to(device) if S == 1 else Ensemble(models).to(device)
    fixed, varying = knobs(cfg, S, values, device)
    loss_fn = partial(spec.loss, **fixed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.optim.lr, fused=device.type in ("cpu", "cuda") or None)
    orders = [torch.Generator().manual_seed(s) for s in seeds]          # one data order per model
    draws = [torch.Generator().manual_seed(s + NOISE_SEED) for s in seeds]
    run = Run(cfg, seeds, net, opt, orders + draws, x, resume_path, key, save_every)
    step = compiled(_step(net, loss_fn), device) if compile_ else _step(net, loss_fn)
    # the test reconstruction is logged for a model with decoders; a model without any (the
    # contrastive one) logs none, and its full-split loss (InfoNCE over 4,096 x 4,096 logits) cost
    # 0.7 s an epoch for nothing (measured on the LUMA-shaped real set, 2 CPU cores)
    reconstructs = len(getattr(models[0], "decoders", ())) > 0
    start, rows = run.start([[] for _ in seeds])
    for epoch in bar(range(start + 1, epochs + 1), desc=f"{cfg.model} epochs ({S} seed{'s' * (S > 1)})",
                     show=progress, mininterval=2, initial=start, total=epochs):
        t0 = time.perf_counter()
        net.train()
        perms = torch.stack([torch.randperm(n, generator=g) for g in orders]).to(device)  # (S, n)
        sums = 0  # the parts of every batch (P, S) times its rows, stacked: one op per step, not one per part
        losses = []  # each batch's (S,) loss, checked once per epoch: no device sync per step
        for rows_ in batches(n, cfg.optim.batch_size):
            idx = perms[:, rows_]                                                 # (S, B)
            xb = {m: a[idx] for m, a in x.items()}                                # (S, B, d_m)
            noise = stack_args([spec.noise(models[0], idx.shape[1], g, **fixed, **varying) for g in draws])
            if compile_ and device.type == "cuda":
                torch.compiler.cudagraph_mark_step_begin()                        # a new step: graph outputs may be reused
            loss, parts = step(xb, None if noise is None else noise.to(device), varying)
            loss.sum().backward()  # the models are independent: the sum gives each its own gradient
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.detach().clone() if compile_ else loss.detach())  # a CUDA graph reuses its outputs
            sums = sums + torch.stack(list(parts.values())).detach() * idx.shape[1]
        run.check(epoch, torch.stack(losses))
        test = evaluate(net, loss_fn, x_test, varying) if x_test is not None and reconstructs else {}
        seconds = time.perf_counter() - t0
        logged = dict(zip(parts, (sums / n).tolist())) | {f"test_{k}": v.tolist() for k, v in test.items()}
        for s in range(S):
            rows[s].append({"epoch": epoch, **{k: v[s] for k, v in logged.items()}, "seconds": seconds})
        run.save(epoch, rows)
    trained = models if S == 1 else net.unstack(models)
    return [m.to(device).eval() for m in trained], [pd.DataFrame(r) for r in rows]


def _step(net: nn.Module, loss_fn):
    """One forward pass of the loss for every model: ``step(xb, noise, varying)`` -> the (S,) loss
    and the (S,) parts, from ``xb[m]`` (S, B, d_m) and the per-model ``noise`` and knobs."""
    if isinstance(net, Ensemble):
        def step(xb, noise, varying):
            return net.map(lambda model, x, e, v: loss_fn(model, x, e, **v), xb, noise, varying,
                           in_dims=(0, None if noise is None else 0, 0))
        return step

    def step(xb, noise, varying):  # one seed: the module itself
        loss, parts = loss_fn(net, {m: a[0] for m, a in xb.items()}, None if noise is None else noise[0],
                              **{k: v[0] for k, v in varying.items()})
        return loss[None], {k: v[None] for k, v in parts.items()}
    return step


@torch.no_grad()
def evaluate(net: nn.Module, loss_fn, x: dict[str, Tensor], varying: dict | None = None,
             batch_size: int = 4096) -> dict[str, Tensor]:
    """The reconstruction parts (``loss``, ``loss_{m}``) of the loss in eval mode on a whole split
    ``x`` (n, d_m), (S,) each; empty for a loss that logs none (the contrastive model's)."""
    net.eval()
    varying, n, sums = varying or {}, len(next(iter(x.values()))), {}
    for i in range(0, n, batch_size):
        xb = {m: a[i:i + batch_size] for m, a in x.items()}
        if isinstance(net, Ensemble):
            parts = net.map(lambda model, xx, v: loss_fn(model, xx, None, **v)[1], xb, varying, in_dims=(None, 0))
        else:
            parts = {k: v[None] for k, v in loss_fn(net, xb, None, **{k: v[0] for k, v in varying.items()})[1].items()}
        for k, v in parts.items():
            if k.startswith("loss"):
                sums[k] = sums.get(k, 0) + v * len(next(iter(xb.values())))
    return {k: v / n for k, v in sums.items()}


def compiled(fn, device: torch.device):
    """``torch.compile(fn)``: CUDA graphs (``mode="reduce-overhead"``) on a GPU, inductor's default
    elsewhere; static shapes, so the last partial batch gets a graph of its own and stays exact."""
    return torch.compile(fn, mode="reduce-overhead" if device.type == "cuda" else "default", dynamic=False)


@torch.no_grad()
def encode(model: nn.Module, x: dict[str, np.ndarray], each: bool = False, batch_size: int = 4096):
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
