"""Training speed, side by side on the same data in one run: the trainer (:mod:`mmae.training`)
for one seed (the module itself, fused Adam) and for S seeds together (``torch.func.vmap`` over
the same module), each also under ``torch.compile`` where it works, beside the former stacked
engine (:mod:`mmae.bench.stacked`) at 1 and S seeds.

Every trainer runs the same epochs on the train split only (no test pass), so the rows compare
like with like. Reported per trainer: the median seconds per epoch after the warm-up epochs, the
models trained, model-epochs per second against the former engine's one seed, the share
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
from mmae.bench import stacked
from mmae.models import MMAE
from mmae.training import TrainConfig, train_seeds


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
        ``torch.compile`` said when it could not run, and the number of seeds.
    """
    x, y = make_synthetic(0, *((20, 5, 40) if tiny else (500, 100, 3859)))
    full = standardize(Features(x, y, "synthetic", True))
    features = Features({"train": full.x["train"]}, {"train": full.y["train"]}, full.name, True)  # no test pass
    n = len(features.y["train"])
    cfg = TrainConfig(epochs=warmup + epochs, device=device)
    dev = pick_device(device)
    why_not = compile_works(dev) if compiled else "not requested (--no-compile)"
    x = {m: torch.as_tensor(a, device=dev) for m, a in features.x["train"].items()}

    def former(S):
        torch.manual_seed(0)
        return lambda: [stacked.train_seconds(x, [MMAE(features.dims) for _ in range(S)], list(range(S)), cfg)] * S

    def trainer(S, compile_=False):
        c = dataclasses.replace(cfg, compile=compile_)
        return lambda: [list(h.seconds) for h in train_seeds(features, c, list(range(S)), False)[1]]

    runs = {"former stacked engine, 1 seed": former(1), "trainer, 1 seed": trainer(1)}
    if why_not is None:
        runs["trainer, 1 seed, torch.compile"] = trainer(1, True)
    runs[f"former stacked engine, {seeds} seeds"] = former(seeds)
    runs[f"trainer, {seeds} seeds (torch.func)"] = trainer(seeds)
    if why_not is None:
        runs[f"trainer, {seeds} seeds, torch.compile"] = trainer(seeds, True)
    peak, flop = matmul_peak(dev), epoch_gflop(features.dims, cfg, n)
    steps = -(-n // cfg.batch_size)
    rows = []
    for name, fit in runs.items():
        seconds = fit()
        rows.append({"trainer": name, "models": len(seconds), "s_per_epoch": float(np.median(seconds[0][warmup:])),
                     "first_epoch_s": float(seconds[0][0])})
    table = pd.DataFrame(rows).set_index("trainer")
    ref = table["s_per_epoch"].iloc[0]  # the former engine, one seed
    table["speedup"] = ref * table.models / table.s_per_epoch
    table["fraction_of_peak"] = flop * table.models / table.s_per_epoch / peak
    table["step_us"] = table.s_per_epoch / steps * 1e6
    table["overhead_us"] = table.step_us - flop * table.models / steps / peak * 1e6
    info = {"device": str(dev), "rows": n, "batch_size": cfg.batch_size, "steps_per_epoch": steps,
            "epochs_measured": epochs, "warmup_epochs": warmup, "gflop_per_model_epoch": flop,
            "matmul_peak_gflops": peak, "torch_compile": why_not or "used",
            "seeds": seeds}
    return table, info


FORMATS = {"s_per_epoch": "{:.3f}".format, "first_epoch_s": "{:.2f}".format, "speedup": "{:.2f}x".format,
           "fraction_of_peak": "{:.1%}".format, "step_us": "{:.0f}".format, "overhead_us": "{:.0f}".format}


def report(table: pd.DataFrame, info: dict) -> str:
    """The table and its context as text."""
    return (f"{info['rows']} train rows, batch {info['batch_size']} ({info['steps_per_epoch']} steps per epoch); "
            f"{info['gflop_per_model_epoch']:.1f} GFLOP per model-epoch; measured matmul peak "
            f"{info['matmul_peak_gflops']:.0f} GFLOP/s on {info['device']}; torch.compile: {info['torch_compile']}\n\n"
            + table.to_string(formatters=FORMATS)
            + "\n\nspeedup counts model-epochs per second against the former stacked engine's one seed; "
              "overhead = step time minus its matmuls at peak")

