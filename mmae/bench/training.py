"""Training speed, side by side on the same data in one run: the trainer (:mod:`mmae.training`)
for one seed (the module itself, fused Adam) and for S seeds together (``torch.func.vmap`` over
the same module), S single seeds side by side as tasks of :mod:`mmae.cluster` (one thread each),
and, when asked (``compiled``), each under ``torch.compile``; beside the former stacked engine
(:mod:`mmae.bench.stacked`) at 1 and S seeds.

Every trainer runs the same epochs on the train split only (no test pass), so the rows compare
like with like, and the trainers take turns, ``rounds`` times (a machine whose load changes
during the run slows them alike, not the one that ran at the time). Reported per trainer: the
median over rounds of the median seconds per epoch after the warm-up epochs (for the tasks side
by side: the wall time of all of them over all their epochs), the models trained, model-epochs
per second against the former engine's one seed, the share of this machine's measured fp32
matmul peak that the training FLOPs represent, and the per-step overhead: the time of one
optimizer step minus the time its matmuls would take at that peak.
"""
from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmae import cluster
from mmae.data import Features, standardize
from mmae.data.synthetic import make_synthetic
from mmae.device import pick_device
from mmae.bench import stacked
from mmae.models import MMAE
from mmae.training import TrainConfig, evolve, make_config, train_seeds
from mmae.training.loop import batches


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
    """None when ``torch.compile`` runs a tiny module here, else why not (one line). A first failure
    may be a compile cache broken by a killed run (a 0-byte ``.so``): the cache is then removed,
    with a warning naming it, and the compile tried once more."""
    for attempt in (1, 2):
        try:
            torch._dynamo.reset()
            torch.compile(torch.nn.Linear(2, 2).to(device))(torch.ones(1, 2, device=device)).sum().item()
            return None
        except Exception as e:  # a missing compiler, an unsupported platform: reported, never fatal
            why = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
            if attempt == 1 and clear_compile_cache(why):
                continue
            return why


def clear_compile_cache(why: str) -> bool:
    """Remove torch inductor's cache folder (``TORCHINDUCTOR_CACHE_DIR``); True if it held anything."""
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    folder = Path(cache_dir())  # (created by torch when absent)
    if not folder.is_dir() or not any(folder.iterdir()):
        return False
    warnings.warn(f"torch.compile failed ({why}); its cache {folder} may be broken by a killed run: removed, "
                  "compiling again", stacklevel=3)
    shutil.rmtree(folder, ignore_errors=True)
    return True


def run(epochs: int = 5, warmup: int = 1, seeds: int = 5, device: str = "auto", tiny: bool = False,
        compiled: bool = False, rounds: int = 3, side_by_side: bool | None = None) -> tuple[pd.DataFrame, dict]:
    """Every trainer on the same synthetic data of LUMA's size (``tiny``: a few rows); the seeds
    side by side on a LocalCluster when ``side_by_side`` (default: on a CPU of several cores, not
    ``tiny``, which takes seconds and starts no worker).

    Returns
    -------
    table : pandas.DataFrame
        One row per trainer (index), columns ``models``, ``s_per_epoch``, ``spread`` (max - min
        over rounds), ``speedup``, ``fraction_of_peak``, ``step_us`` and ``overhead_us``.
    info : dict
        The device, the data's size, GFLOP per model-epoch, the measured matmul peak, what
        ``torch.compile`` said when it did not run, the number of seeds, workers and rounds.
    """
    x, y = make_synthetic(0, *((20, 5, 40) if tiny else (500, 100, 3859)))
    full = standardize(Features(x, y, "synthetic", True))
    features = Features({"train": full.x["train"]}, {"train": full.y["train"]}, full.name, True)  # no test pass
    n = len(features.y["train"])
    cfg = make_config(epochs=warmup + epochs, device=device)
    dev = pick_device(device)
    why_not = (compile_works(dev) if compiled else "not asked (python -m mmae.bench --compile)")
    x = {m: torch.as_tensor(a, device=dev) for m, a in features.x["train"].items()}
    side = cluster.cores() if dev.type == "cpu" and (side_by_side or (side_by_side is None and not tiny)) else 1
    if side > 1:  # a LocalCluster whatever MMAE_SCHEDULER says, its workers started before anything is timed
        with cluster.scheduler("local"):
            cluster.run(_one_seed, [(evolve(cfg, epochs=1), s) for s in range(side)], shared=features, progress=False)

    def former(S):
        torch.manual_seed(0)
        return lambda: stacked.train_seconds(x, [MMAE(features.dims) for _ in range(S)], list(range(S)), cfg)

    def trainer(S, compile_=False):
        c = evolve(cfg, compile=compile_)
        return lambda: list(train_seeds(features, c, list(range(S)), False)[1][0].seconds)

    def beside(S):
        def fit():
            with cluster.scheduler("local"):
                t = time.perf_counter()
                cluster.run(_one_seed, [(cfg, s) for s in range(S)], shared=features, progress=False)
                return [(time.perf_counter() - t) / cfg.optim.epochs] * cfg.optim.epochs
        return fit

    runs = {"former stacked engine, 1 seed": (1, former(1)), "trainer, 1 seed": (1, trainer(1))}
    if why_not is None:
        runs["trainer, 1 seed, torch.compile"] = (1, trainer(1, True))
    runs[f"former stacked engine, {seeds} seeds"] = (seeds, former(seeds))
    runs[f"trainer, {seeds} seeds (torch.func)"] = (seeds, trainer(seeds))
    if why_not is None:
        runs[f"trainer, {seeds} seeds, torch.compile"] = (seeds, trainer(seeds, True))
    if side > 1:
        runs[f"trainer, {seeds} seeds side by side ({side} tasks at once)"] = (seeds, beside(seeds))
    peak, flop = matmul_peak(dev), epoch_gflop(features.dims, cfg, n)
    steps = len(batches(n, cfg.optim.batch_size))
    measured: dict[str, list] = {name: [] for name in runs}
    for _ in range(1 if tiny else rounds):
        for name, (_, fit) in runs.items():  # the trainers take turns
            seconds = fit()
            measured[name].append((float(np.median(seconds[warmup:])), float(seconds[0])))
    rows = [{"trainer": name, "models": runs[name][0], "s_per_epoch": float(np.median([m for m, _ in r])),
             "spread": float(max(m for m, _ in r) - min(m for m, _ in r)), "first_epoch_s": r[0][1]}
            for name, r in measured.items()]
    table = pd.DataFrame(rows).set_index("trainer")
    ref = table["s_per_epoch"].iloc[0]  # the former engine, one seed
    table["speedup"] = ref * table.models / table.s_per_epoch
    table["fraction_of_peak"] = flop * table.models / table.s_per_epoch / peak
    table["step_us"] = table.s_per_epoch / steps * 1e6
    table["overhead_us"] = table.step_us - flop * table.models / steps / peak * 1e6
    info = {"device": str(dev), "rows": n, "batch_size": cfg.optim.batch_size, "steps_per_epoch": steps,
            "epochs_measured": epochs, "warmup_epochs": warmup, "gflop_per_model_epoch": flop,
            "matmul_peak_gflops": peak, "torch_compile": why_not or "used", "seeds": seeds,
            "workers": side, "rounds": 1 if tiny else rounds, "torch_threads": torch.get_num_threads()}
    return table, info


def _one_seed(features: Features, job: tuple) -> list[float]:
    """A task: one seed trained alone (the plain loop), its seconds per epoch."""
    cfg, seed = job
    return list(train_seeds(features, cfg, [seed], False)[1][0].seconds)


FORMATS = {"s_per_epoch": "{:.3f}".format, "spread": "{:.3f}".format, "first_epoch_s": "{:.2f}".format, "speedup": "{:.2f}x".format,
           "fraction_of_peak": "{:.1%}".format, "step_us": "{:.0f}".format, "overhead_us": "{:.0f}".format}


def report(table: pd.DataFrame, info: dict) -> str:
    """The table and its context as text."""
    return (f"{info['rows']} train rows, batch {info['batch_size']} ({info['steps_per_epoch']} steps per epoch); "
            f"{info['gflop_per_model_epoch']:.1f} GFLOP per model-epoch; measured matmul peak "
            f"{info['matmul_peak_gflops']:.0f} GFLOP/s on {info['device']}; torch.compile: {info['torch_compile']}\n\n"
            + table.to_string(formatters=FORMATS)
            + "\n\nspeedup counts model-epochs per second against the former stacked engine's one seed; "
              "overhead = step time minus its matmuls at peak")

