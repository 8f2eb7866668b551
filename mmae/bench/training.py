"""Training speed, side by side on the same data in one run: the plain PyTorch loop (with the
default Adam, with ``Adam(fused=True)``, and compiled with ``torch.compile`` where it works), the
project's stacked engine for one seed, and S seeds trained together.

Every trainer runs the same epochs on the train split only (no test pass), so the rows compare
like with like. Reported per trainer: the median seconds per epoch after the warm-up epochs, the
models trained, model-epochs per second against the plain loop with the default Adam, the share
of this machine's measured fp32 matmul peak that the training FLOPs represent, and the per-step
overhead: the time of one optimizer step minus the time its matmuls would take at that peak.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import torch

from mmae.data import Features, standardize
from mmae.data.synthetic import make_synthetic
from mmae.device import pick_device
from mmae.models import MMAE, reconstruction_loss
from mmae.training import TrainConfig, train, train_seeds


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 GFLOP/s of an (n, n) @ (n, n) matmul on ``device`` (best of ``repeats``)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        sync(device)
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def epoch_gflop(dims: dict[str, int], cfg: TrainConfig, n_rows: int) -> float:
    """Matmul FLOPs of one training epoch: 2*in*out per row per Linear forward, twice that backward."""
    widths = lambda d_in, d_out: list(zip([d_in, *cfg.hidden], [*cfg.hidden, d_out]))
    macs = sum(i * o for d in dims.values() for i, o in widths(d, cfg.latent_dim) + widths(cfg.latent_dim, d))
    return 3 * 2 * macs * n_rows / 1e9


def plain_loop(features: Features, cfg: TrainConfig, fused: bool = False, compiled: bool = False) -> list[float]:
    """The paper's MMAE trained by the plainest loop (nanoGPT's manner): seconds of every epoch.

    ``fused`` uses ``Adam(fused=True)``; ``compiled`` wraps the model in ``torch.compile``
    (``mode="reduce-overhead"``, i.e. CUDA graphs, on a GPU; inductor's default on a CPU); the
    compilation happens in the first epoch.
    """
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = MMAE(features.dims, cfg.latent_dim, cfg.hidden, cfg.fusion).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=fused or None)
    step_model = torch.compile(model, mode="reduce-overhead" if device.type == "cuda" else "default") if compiled else model
    x = {m: torch.as_tensor(a, device=device) for m, a in features.x["train"].items()}
    n, order, seconds = len(features.y["train"]), torch.Generator().manual_seed(cfg.seed), []
    for _ in range(cfg.epochs):
        sync(device)
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=order).to(device)
        for i in range(0, n, cfg.batch_size):
            xb = {m: a[perm[i:i + cfg.batch_size]] for m, a in x.items()}
            loss = reconstruction_loss(xb, step_model(xb)[1])[0]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sync(device)
        seconds.append(time.perf_counter() - t0)
    return seconds


def compile_works(device: torch.device) -> str | None:
    """None when ``torch.compile`` runs a tiny module here, else why not (one line)."""
    try:
        torch.compile(torch.nn.Linear(2, 2).to(device))(torch.ones(1, 2, device=device)).sum().item()
        return None
    except Exception as e:  # a missing compiler, an unsupported platform: reported, never fatal
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]


def run(epochs: int = 5, warmup: int = 1, seeds: int = 5, device: str = "auto", tiny: bool = False,
        compiled: bool = True) -> tuple[pd.DataFrame, dict]:
    """Every trainer on the same synthetic data of LUMA's size (``tiny``: a few rows).

    Returns
    -------
    table : pandas.DataFrame
        One row per trainer (index), columns ``models``, ``s_per_epoch``, ``speedup``,
        ``fraction_of_peak``, ``step_us`` and ``overhead_us``.
    info : dict
        The device, the data's size, GFLOP per model-epoch, the measured matmul peak, what
        ``torch.compile`` said when it could not run, and the seeds' cost against one seed.
    """
    x, y = make_synthetic(0, *((20, 5, 40) if tiny else (500, 100, 3859)))
    full = standardize(Features(x, y, "synthetic", True))
    features = Features({"train": full.x["train"]}, {"train": full.y["train"]}, full.name, True)  # no test pass
    n = len(features.y["train"])
    cfg = TrainConfig(epochs=warmup + epochs, device=device)
    dev = pick_device(device)
    why_not = compile_works(dev) if compiled else "not requested (--no-compile)"
    runs = {"plain loop, Adam": lambda: [plain_loop(features, cfg)],
            "plain loop, Adam(fused=True)": lambda: [plain_loop(features, cfg, fused=True)]}
    if why_not is None:
        runs["plain loop, fused Adam, torch.compile"] = lambda: [plain_loop(features, cfg, True, True)]
    runs["stacked engine, 1 seed"] = lambda: [list(train(features, cfg, False)[1].seconds)]
    if why_not is None:
        compiled_cfg = dataclasses.replace(cfg, compile=True)
        runs["stacked engine, 1 seed, torch.compile"] = lambda: [list(train(features, compiled_cfg, False)[1].seconds)]
    runs[f"stacked engine, {seeds} seeds"] = lambda: [list(h.seconds) for h in train_seeds(features, cfg, list(range(seeds)), False)[1]]
    peak, flop = matmul_peak(dev), epoch_gflop(features.dims, cfg, n)
    steps = -(-n // cfg.batch_size)
    rows = []
    for name, fit in runs.items():
        seconds = fit()
        rows.append({"trainer": name, "models": len(seconds), "s_per_epoch": float(np.median(seconds[0][warmup:])),
                     "first_epoch_s": float(seconds[0][0])})
    table = pd.DataFrame(rows).set_index("trainer")
    ref = table["s_per_epoch"].iloc[0]
    table["speedup"] = ref * table.models / table.s_per_epoch
    table["fraction_of_peak"] = flop * table.models / table.s_per_epoch / peak
    table["step_us"] = table.s_per_epoch / steps * 1e6
    table["overhead_us"] = table.step_us - flop * table.models / steps / peak * 1e6
    info = {"device": str(dev), "rows": n, "batch_size": cfg.batch_size, "steps_per_epoch": steps,
            "epochs_measured": epochs, "warmup_epochs": warmup, "gflop_per_model_epoch": flop,
            "matmul_peak_gflops": peak, "torch_compile": why_not or "used",
            "seeds_vs_one": float(table.s_per_epoch.iloc[-1] / table.loc["stacked engine, 1 seed", "s_per_epoch"])}
    return table, info


FORMATS = {"s_per_epoch": "{:.3f}".format, "first_epoch_s": "{:.2f}".format, "speedup": "{:.2f}x".format,
           "fraction_of_peak": "{:.1%}".format, "step_us": "{:.0f}".format, "overhead_us": "{:.0f}".format}


def report(table: pd.DataFrame, info: dict) -> str:
    """The table and its context as text."""
    return (f"{info['rows']} train rows, batch {info['batch_size']} ({info['steps_per_epoch']} steps per epoch); "
            f"{info['gflop_per_model_epoch']:.1f} GFLOP per model-epoch; measured matmul peak "
            f"{info['matmul_peak_gflops']:.0f} GFLOP/s on {info['device']}; torch.compile: {info['torch_compile']}\n\n"
            + table.to_string(formatters=FORMATS)
            + f"\n\nthe last row takes {info['seeds_vs_one']:.2f}x the time of the stacked engine's one seed; speedup counts model-epochs "
              "per second against the plain loop with the default Adam; overhead = step time minus its matmuls at peak")

