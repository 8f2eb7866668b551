"""Training speed, side by side on the same data in one run: the plain reference loop, the
project's trainer (stacked engine, one seed) and S seeds trained together.

    python -m mmae.bench                 # paper's configuration, 21,000 triplets
    python -m mmae.bench --tiny          # seconds: proves it runs (CI)

Prints seconds per epoch (median over the measured epochs, after warm-up epochs), speed-ups
against the reference loop, and the fraction of this machine's own fp32 matmul peak
(measured here with large square matmuls) that the training FLOPs represent.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time

import numpy as np
import torch

from mmae.data import Features, standardize
from mmae.data.synthetic import make_synthetic
from mmae.training import TrainConfig, pick_device, train, train_seeds


def matmul_peak(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 GFLOP/s of an (n, n) @ (n, n) matmul on ``device`` (best of ``repeats``)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def epoch_gflop(dims: dict[str, int], cfg: TrainConfig, n_rows: int) -> float:
    """Matmul FLOPs of one training epoch: 2*in*out per row per Linear forward, twice that backward."""
    widths = lambda d_in, d_out: list(zip([d_in, *cfg.hidden], [*cfg.hidden, d_out]))
    macs = sum(i * o for d in dims.values() for i, o in widths(d, cfg.latent_dim) + widths(cfg.latent_dim, d))
    return 3 * 2 * macs * n_rows / 1e9


def run(epochs: int = 5, warmup: int = 1, seeds: int = 5, device: str = "auto", tiny: bool = False):
    """Run the three trainers on the same synthetic data; returns (results DataFrame, info dict).

    One row per trainer: seconds per epoch (median of ``epochs`` after ``warmup``), the number of
    models trained, model-epochs per second relative to the reference loop, and the fraction of
    the measured matmul peak.
    """
    import pandas as pd

    x, y = make_synthetic(0, *((20, 5, 40) if tiny else (500, 100, 3859)))
    features = standardize(Features(x, y, "synthetic", True))
    n = len(features.y["train"])
    cfg = TrainConfig(epochs=warmup + epochs, device=device)
    runs = {
        "reference loop": lambda: [train(features, dataclasses.replace(cfg, engine="reference"), False)[1]],
        "mmae trainer (1 seed)": lambda: [train(features, cfg, False)[1]],
        f"{seeds} seeds together": lambda: train_seeds(features, cfg, list(range(seeds)), False)[1],
    }
    dev = pick_device(device)
    peak, flop = matmul_peak(dev), epoch_gflop(features.dims, cfg, n)
    rows = []
    for name, fit in runs.items():
        histories = fit()
        rows.append({"trainer": name, "models": len(histories),
                     "s_per_epoch": float(np.median(histories[0].seconds.values[warmup:]))})
    table = pd.DataFrame(rows).set_index("trainer")
    ref = table.loc["reference loop", "s_per_epoch"]
    table["speedup"] = ref * table.models / table.s_per_epoch
    table["fraction_of_peak"] = flop * table.models / table.s_per_epoch / peak
    info = {"device": str(dev), "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(), "torch": torch.__version__, "rows": n,
            "batch_size": cfg.batch_size, "gflop_per_model_epoch": flop, "matmul_peak_gflops": peak,
            "seeds_vs_one": table.s_per_epoch.iloc[2] / table.s_per_epoch.iloc[1]}
    return table, info


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=5, help="measured epochs per trainer")
    p.add_argument("--warmup", type=int, default=1, help="epochs run first and not measured")
    p.add_argument("--seeds", type=int, default=5, help="S, the number of seeds trained together")
    p.add_argument("--device", default="auto")
    p.add_argument("--tiny", action="store_true", help="a tiny data set and one epoch: proves it runs")
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args(argv)
    if args.tiny:
        args.epochs, args.warmup = 1, 0
    table, info = run(args.epochs, args.warmup, args.seeds, args.device, args.tiny)
    print(f"device {info['device']} ({info['cpu']}, {info['threads']} threads), torch {info['torch']}; "
          f"{info['rows']} train rows, batch {info['batch_size']}; {info['gflop_per_model_epoch']:.1f} GFLOP "
          f"per model-epoch; measured matmul peak {info['matmul_peak_gflops']:.0f} GFLOP/s\n")
    print(table.to_string(formatters={"s_per_epoch": "{:.3f}".format, "speedup": "{:.2f}x".format,
                                      "fraction_of_peak": "{:.1%}".format}))
    print(f"\n{args.seeds} seeds together take {info['seeds_vs_one']:.2f}x the time of one seed "
          "(speedup counts model-epochs per second against the reference loop)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**info, "results": table.reset_index().to_dict(orient="records")}, f, indent=2)


if __name__ == "__main__":
    main()
